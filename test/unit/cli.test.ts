/**
 * The one error boundary, through the real CLI in a child process, started as the operator starts
 * it: bad options and bad local files are exit 5 (README: "bad options or inventory"), never
 * "internal error" (exit 1), and an error quoting the inventory shows its control characters as
 * escapes. Nothing here connects anywhere: every case stops before the first connection.
 */
import test from 'ava';
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { schemaProblems } from '../schemas.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'sessionctl-cli-'));
const identity = join(dir, 'id_ed25519');
writeFileSync(identity, 'a private key\n');
const knownDir = join(dir, 'known_hosts.d');
mkdirSync(knownDir);
const aFile = join(dir, 'a-file');
writeFileSync(aFile, '');

function inventory(name: string, knownHosts: string): string {
  const file = join(dir, name);
  writeFileSync(file, ['defaults:', `  identity: ${identity}`, `  known_hosts: ${knownHosts}`, 'hosts:', '  dash1: { address: 192.0.2.1 }', ''].join('\n'));
  return file;
}

/** Runs the CLI; a child still running after 60 s (a hang) is killed and fails the test. */
function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'src', 'cli.ts'), ...args],
      { cwd: ROOT, timeout: 60_000, env: { PATH: process.env.PATH, HOME: dir, XDG_STATE_HOME: join(dir, 'state') } },
      (err, stdout, stderr) => done({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });
}

const KOLLA = join(ROOT, 'test', 'unit', 'fixtures', 'kolla');

const CASES: Array<[string, () => string[], RegExp]> = [
  [
    "kolla-ansible's INI inventory with a broken line",
    () => {
      const file = join(dir, 'multinode');
      writeFileSync(file, "[control]\ncontrol01 ansible_host='10.0.0.1\n[horizon:children]\ncontrol\n");
      return ['status', '-i', file];
    },
    /multinode:2:24: no closing quotation in this host line\n +2 \| control01 ansible_host='10\.0\.0\.1\n/,
  ],
  [
    '--kolla-globals/--kolla-passwords: memcached asked for but not derivable (no API address), before any connection',
    () => ['plan', '-i', join(KOLLA, 'multinode'), '--kolla-globals', join(KOLLA, 'globals.yml'), '--kolla-passwords', join(KOLLA, 'passwords.yml'), '--backend', 'memcached'],
    /no memcached servers: .*not derived from kolla-ansible's files: control01: its API address is the IP of its api_interface ens3/,
  ],
  ['known_hosts is a directory', () => ['status', '-i', inventory('kh-dir.yaml', knownDir)], /kh-dir\.yaml:5:3: host 'dash1': known_hosts .*known_hosts\.d is a directory, not a regular file/],
  ['--state-dir is a file (apply)', () => ['apply', '-i', inventory('ok.yaml', join(dir, 'kh')), '--yes', '--backend', 'memcached', '--memcached-servers', '10.0.0.60:11211', '--state-dir', aFile], /--state-dir .*a-file is not a directory/],
  ['--state-dir is a file (history --run)', () => ['history', '--run', '20260101T120000-aaaaaa', '--state-dir', aFile], /--state-dir .*a-file is not a directory/],
  ['a malformed --run', () => ['history', '--run', '../../etc/passwd', '--state-dir', dir], /"\.\.\/\.\.\/etc\/passwd" is not a run id/],
  ['--limit @file that is missing', () => ['status', '-i', inventory('ok.yaml', join(dir, 'kh')), '--limit', `@${join(dir, 'no-such-hosts.txt')}`], /--limit file .*no-such-hosts\.txt/],
  ['-i /dev/zero', () => ['status', '-i', '/dev/zero'], /inventory file \/dev\/zero is a character device, not a regular file/],
  [
    '-i on a FIFO',
    () => {
      const fifo = join(dir, 'inventory.fifo');
      execFileSync('mkfifo', [fifo]);
      return ['status', '-i', fifo];
    },
    /inventory file .*inventory\.fifo is a FIFO \(named pipe\), not a regular file/,
  ],
];

for (const [name, args, message] of CASES) {
  test(`exit 5, naming the path or value: ${name}`, async (t) => {
    const { code, stderr } = await cli(args());
    t.is(code, 5, stderr);
    t.regex(stderr, message);
    t.notRegex(stderr, /internal error/);
  });
}

test('an error quoting the inventory shows its control characters as escapes, on stderr and in --json', async (t) => {
  // A key holding an ESC sequence and a CR: the inventory fails (exit 5) before any connection.
  const file = join(dir, 'controls.yaml');
  writeFileSync(file, 'hosts:\n  dash1: { address: 10.0.0.1 }\n"x\\e[2J\\rALL HOSTS OK": 1\n');
  const plain = await cli(['status', '-i', file]);
  t.is(plain.code, 5, plain.stderr);
  t.false(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/.test(plain.stderr), JSON.stringify(plain.stderr));
  t.true(plain.stderr.includes("unknown key 'x\\x1b[2J\\x0dALL HOSTS OK'"), plain.stderr);
  const json = await cli(['status', '--json', '-i', file]);
  t.is(json.code, 5);
  t.is(`sessionctl: ${(JSON.parse(json.stdout) as { error: { message: string } }).error.message}\n`, json.stderr, 'the same text as stderr');
  t.deepEqual(schemaProblems('error', JSON.parse(json.stdout)), [], 'a valid error report, schemaVersion included');
  t.is(json.stderr, plain.stderr);
});

// Help: `sessionctl help [command]` and every command's --help list the global options, exit 0.
// Serial: one child at a time (each compiles the CLI), so a loaded machine does not time them out.
const COMMANDS = ['status', 'plan', 'apply', 'history', 'rollback', 'guide', 'completion'];

test.serial('sessionctl help lists every command and exits 0', async (t) => {
  const { code, stdout } = await cli(['help']);
  t.is(code, 0);
  for (const name of [...COMMANDS, 'help']) t.regex(stdout, new RegExp(`^  ${name}\\b`, 'm'), name);
});

for (const name of COMMANDS) {
  test.serial(`'help ${name}' shows the command's help with the global options, exit 0`, async (t) => {
    const { code, stdout, stderr } = await cli(['help', name]);
    t.is(code, 0, stderr);
    t.regex(stdout, new RegExp(`^Usage: sessionctl ${name}\\b`));
    const global = stdout.split('\nGlobal Options:\n')[1] ?? '';
    for (const flag of ['--inventory <file>', '--limit <patterns>', '--json', '--verbose', '--yes', '--accept-new-host-keys', '--state-dir <dir>']) {
      t.true(global.includes(flag), `${flag} under Global Options`);
    }
  });
}

test.serial("'apply --help' is the same text as 'help apply'", async (t) => {
  const [viaFlag, viaHelp] = [await cli(['apply', '--help']), await cli(['help', 'apply'])];
  t.is(viaFlag.code, 0);
  t.is(viaFlag.stdout, viaHelp.stdout);
});

test.serial("'help' with an unknown command is bad input (exit 5), naming it", async (t) => {
  const { code, stderr } = await cli(['help', 'stauts']);
  t.is(code, 5);
  t.regex(stderr, /unknown command 'stauts'/);
});

test.serial('history --json on an empty state dir: a valid history report carrying schemaVersion 1', async (t) => {
  const state = join(dir, 'empty-state');
  mkdirSync(state, { mode: 0o700 });
  const { code, stdout, stderr } = await cli(['history', '--json', '--state-dir', state]);
  t.is(code, 0, stderr);
  const report = JSON.parse(stdout) as { schemaVersion: number; runs: unknown[] };
  t.is(report.schemaVersion, 1);
  t.deepEqual(report.runs, []);
  t.deepEqual(schemaProblems('history', report), []);
});
