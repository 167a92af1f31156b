/**
 * SshConnection.exec against a hostile host: an in-process SSH server (ssh2's) that runs each
 * command as a real local process, so a command can print without end or flood its stderr.
 */
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { CommandError } from '../../../src/errors.js';
import { SshConnection } from '../../../src/transport/ssh.js';
import { STDERR_TAIL_BYTES } from '../../../src/transport/output.js';

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
  const dir = mkdtempSync(join(tmpdir(), 'sessionctl-ssh-'));
  const identity = join(dir, 'id');
  writeFileSync(identity, ssh2.utils.generateKeyPairSync('ecdsa', { bits: 256 }).private, { mode: 0o600 });
  const conn = await SshConnection.open(
    {
      name: 'dash1',
      address: '127.0.0.1',
      port: (server.address() as AddressInfo).port,
      user: 'ops',
      identity,
      knownHosts: join(dir, 'known_hosts'),
      become: false,
      connectTimeout: 20,
      commandTimeout: 20,
    },
    { acceptNewHostKeys: true },
  );
  t.teardown(() => {
    for (const child of children) {
      child.kill('SIGKILL');
      child.stdio.forEach((s) => s?.destroy());
    }
    conn.close();
    for (const client of clients) client.end();
    server.close();
    rmSync(dir, { recursive: true, force: true });
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
  const res = await conn.exec(['sh', '-c', 'head -c 8388608 /dev/zero >&2; echo the-last-line >&2; echo out']);
  t.is(res.code, 0);
  t.is(res.stdout.toString(), 'out\n');
  t.is(res.stderr.length, STDERR_TAIL_BYTES);
  t.true(res.stderr.toString().endsWith('\0the-last-line\n'));
});
