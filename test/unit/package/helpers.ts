/** What the install and single-executable tests share: a clean copy of the repo, a run of the installed command, the checks on it. */
import type { ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ssh2 from 'ssh2';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const VERSION = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

/** A temporary folder, removed when the test ends (pass or fail). */
export function tempDir(t: ExecutionContext, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * The repo as a fresh clone has it, in `dir`: no dist/, no build/, no state; node_modules linked
 * (the dev tools the build needs, as `npm ci` gives a clone). Working-tree edits are included.
 */
export function cleanCopy(dir: string): string {
  const skip = new Set(['node_modules', 'dist', 'build', '.git', join('test', 'lab', '.state')]);
  cpSync(REPO, dir, { recursive: true, filter: (src) => !skip.has(relative(REPO, src)) && !basename(src).endsWith('.log') });
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

/** This process's environment without what npm, ava and tsx put there: the commands run as from a plain shell. */
export function plainEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'NODE_OPTIONS' && k !== 'NODE_PATH'));
  return { ...env, SSH_AUTH_SOCK: '', ...extra };
}

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a command to its end; a non-zero exit is a result, not an error. */
export function run(file: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: opts.cwd, env: opts.env ?? plainEnv(), timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string }) | null;
      // A file that is not there (ENOENT) reads as the shell's 127.
      const code = e === null ? 0 : typeof e.code === 'number' ? e.code : e.code === 'ENOENT' ? 127 : 1;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) + (e && typeof e.code !== 'number' ? `\n${e.message}` : '') });
    });
  });
}

/** An inventory in `dir` whose one host, `dash-unreachable`, refuses connections (127.0.0.1 port 1). */
export function unreachableInventory(dir: string): string {
  writeFileSync(join(dir, 'id_ed25519'), ssh2.utils.generateKeyPairSync('ed25519').private, { mode: 0o600 });
  writeFileSync(join(dir, 'known_hosts'), '', { mode: 0o600 });
  const yaml = ['defaults:', '  identity: id_ed25519', '  known_hosts: known_hosts', '  connect_timeout: 10', 'hosts:', '  dash-unreachable:', '    address: 127.0.0.1', '    port: 1', ''];
  const file = join(dir, 'inventory.yaml');
  writeFileSync(file, yaml.join('\n'), { mode: 0o600 });
  return file;
}

/**
 * What an operator does first with an installed sessionctl, run from `cwd` (outside the repo, its HOME too):
 * its version, a command's help, and a status whose host is unreachable (the SSH code loads and
 * fails cleanly: exit 4, the host named).
 */
export async function checkInstalled(t: ExecutionContext, command: string, cwd: string): Promise<void> {
  const env = plainEnv({ HOME: cwd, XDG_STATE_HOME: join(cwd, 'state') });
  const version = await run(command, ['--version'], { cwd, env });
  t.is(version.code, 0, version.stderr);
  t.is(version.stdout.trim(), VERSION);

  const help = await run(command, ['status', '--help'], { cwd, env });
  t.is(help.code, 0, help.stderr);
  t.regex(help.stdout, /^Usage: sessionctl status \[options\]/m);
  t.regex(help.stdout, /the effective SESSION_ENGINE and cache/);

  const inventory = unreachableInventory(cwd);
  const status = await run(command, ['status', '-i', inventory, '--json'], { cwd, env });
  t.is(status.code, 4, status.stderr);
  const report = JSON.parse(status.stdout) as { hosts: Array<{ host: string; reachable: boolean; error?: string }> };
  t.deepEqual(
    report.hosts.map((h) => [h.host, h.reachable, h.error]),
    [['dash-unreachable', false, 'connection refused at [127.0.0.1]:1']],
  );
}

/**
 * An SSH server in this process (ssh2's own) that accepts one fresh key and offers only
 * chacha20-poly1305, and refuses the Docker socket: a client that gets as far as asking for it
 * made a full handshake (key exchange, host key check, cipher, public key auth). Writes an
 * inventory for it in `dir`; closed when the test ends.
 */
export async function sshServerInventory(t: ExecutionContext, dir: string): Promise<string> {
  const hostKey = ssh2.utils.generateKeyPairSync('ed25519');
  const clientKey = ssh2.utils.generateKeyPairSync('ed25519');
  const allowed = ssh2.utils.parseKey(clientKey.public);
  if (allowed instanceof Error) throw allowed;
  const server = new ssh2.Server({ hostKeys: [hostKey.private], algorithms: { cipher: ['chacha20-poly1305@openssh.com'] } }, (conn) => {
    conn.on('error', () => undefined);
    conn.on('authentication', (ctx) => {
      if (ctx.method === 'publickey' && ctx.key.algo === allowed.type && ctx.key.data.equals(allowed.getPublicSSH())) ctx.accept();
      else ctx.reject(['publickey']);
    });
  });
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  writeFileSync(join(dir, 'fake_id'), clientKey.private, { mode: 0o600 });
  writeFileSync(join(dir, 'fake_known_hosts'), `[127.0.0.1]:${port} ${hostKey.public.split(' ').slice(0, 2).join(' ')}\n`, { mode: 0o600 });
  const yaml = ['defaults:', '  identity: fake_id', '  known_hosts: fake_known_hosts', '  connect_timeout: 10', 'hosts:', '  dash-ssh-only:', '    address: 127.0.0.1', `    port: ${port}`, ''];
  const file = join(dir, 'fake.yaml');
  writeFileSync(file, yaml.join('\n'), { mode: 0o600 });
  return file;
}
