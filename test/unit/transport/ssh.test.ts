/**
 * The SSH transport. The local side of a connection: key and known_hosts are read bounded, before
 * any connection, as config errors. SshConnection.exec against a hostile host: an in-process SSH
 * server (ssh2's) that runs each command as a real local process, so a command can print without
 * end or flood its stderr.
 */
import test from 'ava';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { status } from '../../../src/commands/status.js';
import { CommandError, ConfigError, ConfigErrors } from '../../../src/errors.js';
import { parseInventory } from '../../../src/inventory/load.js';
import { Fleet } from '../../../src/transport/fleet.js';
import { STDERR_TAIL_BYTES } from '../../../src/transport/output.js';
import { readLocalSshFiles, SshConnection } from '../../../src/transport/ssh.js';
import type { SshTarget } from '../../../src/transport/types.js';
import { within } from '../timing.js';

const dir = mkdtempSync(join(tmpdir(), 'sessionctl-ssh-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
const identity = join(dir, 'id_ed25519');
writeFileSync(identity, 'a private key\n');
const knownDir = join(dir, 'known_hosts.d');
mkdirSync(knownDir);
const fifo = join(dir, 'known_hosts.fifo');
execFileSync('mkfifo', [fifo]);

/** TEST-NET-1 addresses: a connection attempt would hang until its timeout, never reach anything. */
const host = (knownHosts: string, more: Partial<SshTarget> = {}): SshTarget => ({
  name: 'dash1', address: '192.0.2.1', port: 22, user: 'root', identity, knownHosts, become: false,
  connectTimeout: 15, commandTimeout: 300, pos: { file: '/inv.yaml', line: 3, col: 3, lineText: '  dash1:' }, ...more,
});

test('known_hosts that is a directory or a FIFO: a ConfigError at the host\'s place, naming the file; a missing one is empty', async (t) => {
  for (const [file, kind] of [[knownDir, 'a directory'], [fifo, 'a FIFO (named pipe)']]) {
    const err = await t.throwsAsync(within(2000, readLocalSshFiles(host(file!))), { instanceOf: ConfigError });
    t.is(err?.message, `host 'dash1': known_hosts ${file} is ${kind}, not a regular file`);
    t.deepEqual((err as ConfigError).pos, host(file!).pos);
  }
  t.deepEqual(await readLocalSshFiles(host(join(dir, 'absent'))), { privateKey: Buffer.from('a private key\n'), knownHosts: [] });
  await t.throwsAsync(within(2000, readLocalSshFiles(host(join(dir, 'absent'), { identity: '/dev/zero' }))), {
    instanceOf: ConfigError,
    message: "host 'dash1': identity /dev/zero is a character device, not a regular file",
  });
});

test('the fleet reads every host\'s files up front (jump hosts too) and reports them all', async (t) => {
  const bastion = host(knownDir, { name: 'bastion', address: '192.0.2.2' });
  const dash = host(join(dir, 'absent'), { proxyJump: 'bastion' });
  const fleet = new Fleet([dash, bastion], { acceptNewHostKeys: false });
  const err = await t.throwsAsync(within(2000, fleet.readLocalFiles([dash])), { instanceOf: ConfigError });
  t.is(err?.message, `host 'bastion': known_hosts ${knownDir} is a directory, not a regular file`);
  const both = await t.throwsAsync(within(2000, new Fleet([host(knownDir), bastion], { acceptNewHostKeys: false }).readLocalFiles(['dash1', 'bastion'])), { instanceOf: ConfigErrors });
  t.deepEqual((both as ConfigErrors).errors.map((e) => e.message.split(':')[0]), ["host 'dash1'", "host 'bastion'"]);
});

test.serial('status with a directory as known_hosts: exit 5 for every host, before any connection (was an internal error)', async (t) => {
  const inventory = parseInventory(
    [
      'defaults:',
      `  identity: ${identity}`,
      `  known_hosts: ${knownDir}`,
      'hosts:',
      '  dash1: { address: 192.0.2.1 }',
      '  dash2: { address: 192.0.2.2 }',
      '',
    ].join('\n'),
    join(dir, 'inventory.yaml'),
  );
  // Before: readFile's EISDIR escaped as a plain Error, which the CLI reports as an internal error (exit 1).
  const err = await t.throwsAsync(within(5000, status(inventory, inventory.hosts, { acceptNewHostKeys: false })), { instanceOf: ConfigErrors });
  t.is(err?.exitCode, 5);
  t.deepEqual(
    (err as ConfigErrors).errors.map((e) => e.format().split('\n')[0]),
    [`${join(dir, 'inventory.yaml')}:5:3: host 'dash1': known_hosts ${knownDir} is a directory, not a regular file`, `${join(dir, 'inventory.yaml')}:6:3: host 'dash2': known_hosts ${knownDir} is a directory, not a regular file`],
  );
});

/** What the server saw of each command: bytes its process printed into the channel, and whether it ended. */
interface Served {
  command: string;
  sent: number;
  ended: Promise<string>;
}

async function hostileHost(t: { teardown(fn: () => void): void }) {
  const served: Served[] = [];
  const children: ChildProcess[] = [];
  const clients: ssh2.Connection[] = [];
  const server = new ssh2.Server({ hostKeys: [ssh2.utils.generateKeyPairSync('ecdsa', { bits: 256 }).private] }, (client) => {
    clients.push(client);
    client.on('authentication', (ctx) => ctx.accept());
    client.on('error', () => undefined);
    client.on('ready', () => {
      client.on('session', (accept) => {
        accept().on('exec', (acceptExec, _reject, info) => {
          const channel = acceptExec();
          const child = spawn('sh', ['-c', info.command], { stdio: ['pipe', 'pipe', 'pipe'] });
          children.push(child);
          // Reading the channel (stdin) is what lets ssh2 see the client's close.
          channel.pipe(child.stdin);
          child.stdin.on('error', () => undefined);
          const entry: Served = {
            command: info.command,
            sent: 0,
            ended: new Promise((resolve) => child.on('exit', (code, signal) => resolve(signal ?? `exit ${code}`))),
          };
          served.push(entry);
          child.stdout.on('data', (c: Buffer) => (entry.sent += c.length));
          child.stdout.pipe(channel, { end: false });
          child.stderr.pipe(channel.stderr, { end: false });
          // Every byte written first (stderr has its own buffer), then the exit status and EOF.
          child.on('close', (code) =>
            channel.stderr.end(() => {
              channel.exit(code ?? 1);
              channel.end();
            }),
          );
          // The client closed the channel: the command is killed, as sshd does.
          channel.on('close', () => {
            child.kill();
            // Its pipes may hold output nobody will read: let go of them too.
            child.stdout.destroy();
            child.stderr.destroy();
          });
          channel.on('error', () => undefined);
        });
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const keys = mkdtempSync(join(dir, 'host-'));
  const key = join(keys, 'id');
  writeFileSync(key, ssh2.utils.generateKeyPairSync('ecdsa', { bits: 256 }).private, { mode: 0o600 });
  const target = host(join(keys, 'known_hosts'), { address: '127.0.0.1', port: (server.address() as AddressInfo).port, user: 'ops', identity: key, connectTimeout: 20, commandTimeout: 20 });
  const conn = await SshConnection.open(target, { acceptNewHostKeys: true });
  t.teardown(() => {
    for (const child of children) {
      child.kill('SIGKILL');
      child.stdio.forEach((s) => s?.destroy());
    }
    conn.close();
    for (const client of clients) client.end();
    server.close();
    rmSync(keys, { recursive: true, force: true });
  });
  return { conn, served };
}

test('a command that prints without end is stopped at the cap: a CommandError naming it and the cap, the process on the host ended', async (t) => {
  const { conn, served } = await hostileHost(t);
  const cap = 1024 * 1024;
  const err = await t.throwsAsync(conn.exec(['yes', 'sessionctl'], { maxStdoutBytes: cap }), { instanceOf: CommandError });
  t.is(err?.message, `dash1: stopped: its output passed the cap of ${cap} bytes (exit signal): yes sessionctl`);
  // Not read to its end: the host's process was killed when the channel closed, after about the cap.
  t.is(await served[0]!.ended, 'SIGTERM');
  t.true(served[0]!.sent < cap + 8 * 1024 * 1024, `the host printed ${served[0]!.sent} bytes`);
});

test('the default cap holds without any option: 16 MiB', async (t) => {
  const { conn } = await hostileHost(t);
  await t.throwsAsync(conn.exec(['yes', 'sessionctl']), { instanceOf: CommandError, message: /passed the cap of 16777216 bytes/ });
});

test('stderr keeps only its last bytes, however much the host writes there', async (t) => {
  const { conn } = await hostileHost(t);
  const res = await conn.exec(['sh', '-c', 'head -c 1048576 /dev/zero >&2; echo the-last-line >&2; echo out']);
  t.is(res.code, 0);
  t.is(res.stdout.toString(), 'out\n');
  t.is(res.stderr.length, STDERR_TAIL_BYTES);
  t.true(res.stderr.toString().endsWith('\0the-last-line\n'));
});

test('a host\'s own acceptNewHostKeys (ssh_config StrictHostKeyChecking accept-new) records its new key without --accept-new-host-keys; other hosts still refuse', async (t) => {
  const clients: ssh2.Connection[] = [];
  const server = new ssh2.Server({ hostKeys: [ssh2.utils.generateKeyPairSync('ed25519').private] }, (client) => {
    clients.push(client);
    client.on('authentication', (ctx) => ctx.accept());
    client.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const keys = mkdtempSync(join(dir, 'accept-new-'));
  const key = join(keys, 'id');
  writeFileSync(key, ssh2.utils.generateKeyPairSync('ed25519').private, { mode: 0o600 });
  const known = join(keys, 'known_hosts');
  const port = (server.address() as AddressInfo).port;
  const target = (more: Partial<SshTarget>) => host(known, { address: '127.0.0.1', port, identity: key, connectTimeout: 20, ...more });
  t.teardown(() => {
    for (const client of clients) client.end();
    server.close();
    rmSync(keys, { recursive: true, force: true });
  });
  await t.throwsAsync(SshConnection.open(target({}), { acceptNewHostKeys: false }), { message: /unknown host key ssh-ed25519/ });
  const conn = await SshConnection.open(target({ acceptNewHostKeys: true }), { acceptNewHostKeys: false });
  conn.close();
  t.regex(readFileSync(known, 'utf8'), new RegExp(`^\\[127\\.0\\.0\\.1\\]:${port} ssh-ed25519 `));
});
