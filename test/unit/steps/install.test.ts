/**
 * install-client-library's pip install with a mirror and a proxy that carry credentials: the
 * command runs for real on this machine's python3, with a stand-in `pip` module that records
 * what it was given, so the test sees what the container's pip would see.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STEPS } from '../../../src/steps/index.js';
import type { HostStep } from '../../../src/steps/types.js';
import type { ContainerExecOptions, Engine } from '../../../src/transport/types.js';
import { asset } from '../../../src/util/assets.js';
import { desired, host, inventory, runInfo } from './fakes.js';

const TOKEN = 'tok3n-in-the-user-part';
const PROXY_PASSWORD = 'pr0xy-pa55word';
const INDEX_URL = `https://${TOKEN}@mirror.example/simple`;
const PROXY = `http://proxyuser:${PROXY_PASSWORD}@proxy.example:3128`;

/** A container whose commands run here; `pip` is a stand-in that writes its argv and PIP_* environment to `seen`. */
function localEngine(argvs: string[][]): { engine: Engine; seen: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sessionctl-pip-'));
  const seen = join(dir, 'seen.json');
  mkdirSync(join(dir, 'pip'));
  writeFileSync(join(dir, 'pip', '__init__.py'), '');
  writeFileSync(
    join(dir, 'pip', '__main__.py'),
    `import json, os, sys\njson.dump({"argv": sys.argv[1:], "env": {k: v for k, v in os.environ.items() if k.startswith("PIP_")}}, open(${JSON.stringify(seen)}, "w"))\n`,
  );
  const engine: Engine = {
    via: 'sudo-cli',
    async inspect() {
      return null;
    },
    async restart() {
      throw new Error('no restart here');
    },
    async exec(_container: string, argv: string[], opts: ContainerExecOptions = {}) {
      argvs.push(argv);
      const code = argv.at(-1) ?? '';
      // libraries.py after the install: django_redis now imports.
      if (code.endsWith(asset('src/facts/python/libraries.py'))) return { code: 0, stdout: Buffer.from(JSON.stringify({ django_redis: { version: '6.0.0', dist: null } })), stderr: Buffer.alloc(0), display: 'libraries.py' };
      const env: NodeJS.ProcessEnv = { ...process.env, PYTHONPATH: dir };
      for (const k of Object.keys(env)) if (k.startsWith('PIP_')) delete env[k];
      const stdout = execFileSync(argv[0]!, argv.slice(1), { input: opts.stdin ?? '', env });
      return { code: 0, stdout, stderr: Buffer.alloc(0), display: argv.join(' ') };
    },
  };
  return { engine, seen };
}

test('pip install with a mirror and a proxy: their credentials reach pip through its environment, never an argv', async (t) => {
  const inv = inventory(2, `install: { index_url: "${INDEX_URL}", proxy: "${PROXY}" }`);
  const run = { ...runInfo(await desired('redis', inv)), mode: 'apply' as const };
  const ctx = host(run, { horizon: { modules: { redis: '4.3.4' }, executable: 'python3' } });
  const argvs: string[][] = [];
  const { engine, seen } = localEngine(argvs);
  ctx.engine = engine;
  await (STEPS['install-client-library'] as HostStep).apply!(ctx, {} as never, () => undefined);
  const pip = JSON.parse(readFileSync(seen, 'utf8')) as { argv: string[]; env: Record<string, string> };
  t.deepEqual(pip.env, { PIP_INDEX_URL: INDEX_URL, PIP_PROXY: PROXY });
  t.deepEqual(pip.argv.slice(0, 3), ['install', '--no-input', '--disable-pip-version-check']);
  t.regex(pip.argv.at(-1)!, /^django-redis/);
  for (const secret of [TOKEN, PROXY_PASSWORD]) {
    t.false(argvs.flat().some((a) => a.includes(secret)), `${secret} in an argv sent to the container`);
    t.false(pip.argv.some((a) => a.includes(secret)), `${secret} in pip's argv`);
  }
});
