/**
 * hostfile.py as it runs on a Dashboard host: real python3, real files in a temporary folder. A
 * writer acting at a given moment of an operation (another process changing the file while ours
 * flushes its temporary file, or right after ours hashed it) is played by a hook the driver sets on
 * os.fsync or hashlib.sha256 before it runs the operation.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SCRIPT = readFileSync('src/transport/python/hostfile.py', 'utf8');
const sha = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const b64 = (text: string) => Buffer.from(text).toString('base64');

type Answer = Record<string, unknown> & { error?: string; message?: string; sha256?: string | null };

/** One request to hostfile.py; `hook`: Python run before it (it may replace os.fsync or hashlib.sha256). */
function op(req: Record<string, unknown>, hook = ''): Answer {
  const code = hook ? `${SCRIPT.replace('if __name__ == "__main__":', 'if False:')}\n${hook}\nmain()\n` : SCRIPT;
  return JSON.parse(execFileSync('python3', ['-c', code], { input: JSON.stringify(req) }).toString()) as Answer;
}

/** A hook: the first time `fn` (os.fsync, hashlib.sha256) is called, it runs, then another writer puts `text` in `path`. */
function otherWriter(fn: 'os.fsync' | 'hashlib.sha256', path: string, text: string): string {
  const [mod, name] = fn.split('.');
  return `
import ${mod}
_real = ${fn}
_done = []
def _hooked(*args):
    out = _real(*args)
    if not _done:
        _done.append(1)
        with open(${JSON.stringify(path)}, "w") as other:
            other.write(${JSON.stringify(text)})
    return out
${mod}.${name} = _hooked
`;
}

function folder(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'hostfile-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const leftovers = (dir: string) => readdirSync(dir).filter((f) => f.startsWith('.sessionctl-'));

test('a settings file that is a symlink: the write, the backup and the restore go through to the file it names, and the link stays', (t) => {
  const dir = folder(t);
  mkdirSync(join(dir, 'real'));
  mkdirSync(join(dir, 'conf'));
  const target = join(dir, 'real', 'settings.py');
  const link = join(dir, 'conf', 'settings.py');
  writeFileSync(target, 'A = 1\n');
  chmodSync(target, 0o640);
  symlinkSync('../real/settings.py', link);
  const backup = join(dir, 'backups', 'run', 'settings');

  const saved = op({ op: 'backup', path: link, dest: backup, expect: sha('A = 1\n') });
  t.like(saved, { exists: true, sha256: sha('A = 1\n'), mode: 0o640, target });
  t.is(readFileSync(backup, 'utf8'), 'A = 1\n');

  t.is(op({ op: 'write', path: link, content: b64('B = 2\n'), expect: sha('A = 1\n') }).sha256, sha('B = 2\n'));
  t.true(lstatSync(link).isSymbolicLink(), 'the link is still a link');
  t.is(readlinkSync(link), '../real/settings.py');
  t.is(readFileSync(target, 'utf8'), 'B = 2\n');
  t.is(statSync(target).mode & 0o7777, 0o640);
  t.deepEqual(leftovers(join(dir, 'real')), []);

  t.is(op({ op: 'restore', path: link, backup, expect: sha('B = 2\n') }).sha256, sha('A = 1\n'));
  t.true(lstatSync(link).isSymbolicLink(), 'restored through the link, not as a plain file in its place');
  t.is(readFileSync(target, 'utf8'), 'A = 1\n');
});

test('a symlink to nothing is refused with its reason; no file is created through it', (t) => {
  const dir = folder(t);
  const link = join(dir, 'settings.py');
  symlinkSync(join(dir, 'elsewhere', 'x.py'), link);
  const answer = op({ op: 'write', path: link, content: b64('B = 2\n'), expect: null, parents: true });
  t.is(answer.error, 'dangling');
  t.regex(answer.message ?? '', /settings\.py is a symlink to .*elsewhere\/x\.py, which does not exist; sessionctl will not create a file through it/);
  t.true(lstatSync(link).isSymbolicLink());
  t.deepEqual(readdirSync(dir), ['settings.py']);
});

test('a change made while the new bytes are flushed is refused, not overwritten (the compare happens again right before the rename)', (t) => {
  const dir = folder(t);
  const path = join(dir, 'settings.py');
  writeFileSync(path, 'A = 1\n');
  const answer = op({ op: 'write', path, content: b64('B = 2\n'), expect: sha('A = 1\n') }, otherWriter('os.fsync', path, 'EDITED = 1\n'));
  t.is(answer.error, 'changed');
  t.is(answer.message, `${path} changed since it was read (sha256 ${sha('EDITED = 1\n')}, expected ${sha('A = 1\n')})`);
  t.is(readFileSync(path, 'utf8'), 'EDITED = 1\n', "the other writer's change stays");
  t.deepEqual(leftovers(dir), []);
});

test('a new file: one created by someone else while ours is flushed is refused, not replaced', (t) => {
  const dir = folder(t);
  const path = join(dir, 'settings.py');
  const answer = op({ op: 'write', path, content: b64('B = 2\n'), expect: null }, otherWriter('os.fsync', path, 'THEIRS = 1\n'));
  t.is(answer.error, 'changed');
  t.is(readFileSync(path, 'utf8'), 'THEIRS = 1\n');
  t.deepEqual(leftovers(dir), []);
});

test('the backup holds the bytes it hashed: a change right after the hash does not get copied under the old hash', (t) => {
  const dir = folder(t);
  const path = join(dir, 'settings.py');
  const backup = join(dir, 'backups', 'settings');
  writeFileSync(path, 'A = 1\n');
  const meta = op({ op: 'backup', path, dest: backup, expect: sha('A = 1\n') }, otherWriter('hashlib.sha256', path, 'EDITED = 1\n'));
  t.is(meta.sha256, sha('A = 1\n'));
  t.is(readFileSync(backup, 'utf8'), 'A = 1\n', 'the bytes hashed are the bytes copied');
  t.is(JSON.parse(readFileSync(`${backup}.meta.json`, 'utf8')).sha256, sha(readFileSync(backup)));
});

test('a restore is refused when the file changed since the undo was planned', (t) => {
  const dir = folder(t);
  const path = join(dir, 'settings.py');
  const backup = join(dir, 'backups', 'settings');
  writeFileSync(path, 'A = 1\n');
  op({ op: 'backup', path, dest: backup, expect: sha('A = 1\n') });
  writeFileSync(path, 'EDITED = 1\n');
  const answer = op({ op: 'restore', path, backup, expect: sha('B = 2\n') });
  t.is(answer.error, 'changed');
  t.is(readFileSync(path, 'utf8'), 'EDITED = 1\n');
});
