/** The local side of a connection: key and known_hosts are read bounded, before any connection, as config errors. */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '../../../src/commands/status.js';
import { ConfigError, ConfigErrors } from '../../../src/errors.js';
import { parseInventory } from '../../../src/inventory/load.js';
import { Fleet } from '../../../src/transport/fleet.js';
import { readLocalSshFiles } from '../../../src/transport/ssh.js';
import type { SshTarget } from '../../../src/transport/types.js';
import { within } from '../timing.js';

const dir = mkdtempSync(join(tmpdir(), 'sessionctl-ssh-'));
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
