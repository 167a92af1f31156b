/**
 * wheelhouse.py as the container runs it, with real python3 and real folders: TMPDIR is a temporary
 * folder here, and "pip" is a small Python program that reports the folder it was pointed at.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Stands for pip: what the folder after --find-links is and holds, and the requirement it got. */
const PIP = `
import json, os, sys
d = sys.argv[sys.argv.index("--find-links") + 1]
st = os.lstat(d)
print(json.dumps({"dir": d, "link": os.path.islink(d), "mode": st.st_mode & 0o7777, "uid": st.st_uid,
                  "files": {n: open(os.path.join(d, n)).read() for n in sorted(os.listdir(d))}, "requirement": sys.argv[-1]}))
sys.exit(int(os.environ.get("PIP_EXIT", "0")))
`;

function run(tmp: string, wheels: Record<string, string>, exit = 0): { code: number; output: string } {
  const input = JSON.stringify({
    wheels: Object.fromEntries(Object.entries(wheels).map(([n, text]) => [n, Buffer.from(text).toString('base64')])),
    pip: ['python3', '-c', PIP],
    requirement: 'django-redis>=5.0,<6',
  });
  const out = execFileSync('python3', ['src/steps/python/wheelhouse.py'], { input, env: { ...process.env, TMPDIR: tmp, PIP_EXIT: String(exit) } });
  return JSON.parse(out.toString()) as { code: number; output: string };
}

test('the wheels go to a fresh 0700 folder of its own, never a prepared /tmp/sessionctl-wheelhouse, and the folder is gone afterwards', (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'wheelhouse-'));
  t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
  // What a container user could leave behind: the old fixed name as a link to a folder of their wheels.
  mkdirSync(join(tmp, 'theirs'));
  writeFileSync(join(tmp, 'theirs', 'django_redis-9.9-py3-none-any.whl'), 'planted');
  symlinkSync(join(tmp, 'theirs'), join(tmp, 'sessionctl-wheelhouse'));

  const res = run(tmp, { 'django_redis-5.4.0-py3-none-any.whl': 'ours', '../escape.whl': 'x' });
  t.is(res.code, 0);
  const seen = JSON.parse(res.output) as { dir: string; link: boolean; mode: number; uid: number; files: Record<string, string>; requirement: string };
  t.true(seen.dir.startsWith(join(tmp, 'sessionctl-wheelhouse-')), seen.dir);
  t.false(seen.link);
  t.is(seen.mode, 0o700);
  t.is(seen.uid, process.getuid!());
  t.deepEqual(seen.files, { 'django_redis-5.4.0-py3-none-any.whl': 'ours', 'escape.whl': 'x' }, 'only the wheels sent, each inside the folder');
  t.is(seen.requirement, 'django-redis>=5.0,<6');
  t.false(existsSync(seen.dir), 'removed after the install');
  t.true(lstatSync(join(tmp, 'sessionctl-wheelhouse')).isSymbolicLink(), 'the prepared link is left as it was');
  t.is(readFileSync(join(tmp, 'theirs', 'django_redis-9.9-py3-none-any.whl'), 'utf8'), 'planted');
  t.false(existsSync(join(tmp, 'escape.whl')));
});

test('a failed pip: its exit code and output come back, and the folder is removed all the same', (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'wheelhouse-'));
  t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
  const res = run(tmp, { 'a-1.0-py3-none-any.whl': 'a' }, 3);
  t.is(res.code, 3);
  t.is((JSON.parse(res.output) as { requirement: string }).requirement, 'django-redis>=5.0,<6', "pip's own output");
  t.deepEqual(readdirSync(tmp), []);
});
