import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { ConfigError, ConfigErrors } from '../../../src/errors.js';
import { loadInventory, parseInventory } from '../../../src/inventory/load.js';
import { applySshConfig, patternMatches, readSshConfig, sshConfigNotes, withSshConfig, type SshEnv } from '../../../src/inventory/ssh-config.js';
import type { HostConfig, Inventory } from '../../../src/inventory/types.js';
import { timed, within } from '../timing.js';

/** A fresh home with ~/.ssh holding `files` (path under ~/.ssh -> lines). */
function home(files: Record<string, string[]>): SshEnv {
  const dir = mkdtempSync(path.join(tmpdir(), 'sessionctl-sshcfg-'));
  mkdirSync(path.join(dir, '.ssh'));
  for (const [name, lines] of Object.entries(files)) {
    const file = path.join(dir, '.ssh', name);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, `${lines.join('\n')}\n`);
  }
  return { home: dir, localUser: 'op', cwd: '/work' };
}

const inventory = (env: SshEnv, ...lines: string[]): Inventory => parseInventory(`${lines.join('\n')}\n`, '/srv/inv/inventory.yaml', { HOME: env.home });

async function resolved(env: SshEnv, inv: Inventory, file?: string): Promise<Inventory> {
  return withSshConfig(inv, { env, ...(file ? { file } : {}) });
}

const host = (inv: Inventory, name: string): HostConfig => {
  const h = inv.hosts.find((x) => x.name === name);
  if (!h) throw new Error(`no host ${name} in ${inv.hosts.map((x) => x.name).join(', ')}`);
  return h;
};
const ssh = ({ name, address, port, user, identity, knownHosts, proxyJump, acceptNewHostKeys, role }: HostConfig) => ({ name, address, port, user, identity, knownHosts, proxyJump, acceptNewHostKeys, role });

const REAL = [
  '# a real-shaped ~/.ssh/config',
  'Include conf.d/*',
  '',
  'Host dash1 dash2',
  '    HostName 10.0.0.11',
  '    User kolla',
  '',
  'Host dash2',
  '    HostName 10.0.0.12   # not used: dash1 dash2 above came first',
  '    Port 2222',
  '',
  'Host dash* !dash9',
  '    IdentityFile ~/.ssh/id_%r@%h',
  '    IdentityFile ~/.ssh/second',
  '    UserKnownHostsFile ~/.ssh/known_hosts.d/%h ~/.ssh/other',
  '',
  'Host bastion',
  '    HostName=203.0.113.5',
  '    User "jump"',
  '',
  'Host *',
  '    User fallback',
  '    Port 22',
  '    IdentityFile ~/.ssh/id_ed25519',
];

test('Host blocks, first value wins across blocks, patterns with negation, Host * last; tokens and ~ expanded', async (t) => {
  const env = home({ config: REAL, 'conf.d/10-lab': ['Host dash3', '  HostName dash3.lab.example', '  Port 2203'] });
  const inv = await resolved(env, inventory(env, 'hosts:', '  dash1: {}', '  dash2: {}', '  dash3: {}', '  dash9: {}'));
  const s = path.join(env.home, '.ssh');
  t.deepEqual(ssh(host(inv, 'dash1')), {
    name: 'dash1', address: '10.0.0.11', port: 22, user: 'kolla', role: 'dashboard',
    identity: `${s}/id_kolla@10.0.0.11`, knownHosts: `${s}/known_hosts.d/10.0.0.11`, proxyJump: undefined, acceptNewHostKeys: undefined,
  });
  t.like(host(inv, 'dash2'), { address: '10.0.0.11', port: 2222, user: 'kolla' });
  // From conf.d/* (Included before every Host block, so its values come first); User from Host * at the end.
  t.like(host(inv, 'dash3'), { address: 'dash3.lab.example', port: 2203, user: 'fallback', identity: `${s}/id_fallback@dash3.lab.example` });
  // !dash9 rules the dash* block out: Host * gives the identity; no HostName: the name itself, as ssh.
  t.like(host(inv, 'dash9'), { address: 'dash9', port: 22, user: 'fallback', identity: `${s}/id_ed25519`, knownHosts: `${s}/known_hosts` });
  t.deepEqual(host(inv, 'dash1').sshOrigin, {
    address: `${s}/config:5`, user: `${s}/config:6`, port: `${s}/config:23`, identity: `${s}/config:13`, knownHosts: `${s}/config:15`,
  });
  t.deepEqual(sshConfigNotes({ ...inv, hosts: [host(inv, 'dash9')] }), [`host 'dash9': from ssh_config: User fallback (${s}/config:22), Port 22 (${s}/config:23), IdentityFile ${s}/id_ed25519 (${s}/config:24)`]);
});

test('the inventory wins: a host\'s own keys and defaults over ssh_config; ssh_config over built-in defaults', async (t) => {
  const env = home({ config: REAL });
  const inv = await resolved(env, inventory(env,
    'defaults: { user: admin }',
    'hosts:',
    '  dash1: { address: 192.0.2.1, identity: /keys/mine, known_hosts: /kh }',
    '  dash2: { port: 22 }',
  ));
  t.like(host(inv, 'dash1'), { address: '192.0.2.1', user: 'admin', port: 22, identity: '/keys/mine', knownHosts: '/kh' });
  t.deepEqual(host(inv, 'dash1').sshOrigin, { port: `${path.join(env.home, '.ssh', 'config')}:23` }, 'only the port, from Host *');
  t.like(host(inv, 'dash2'), { address: '10.0.0.11', user: 'admin', port: 22 });
  // %r is the user the host logs in as, the inventory's here.
  t.is(host(inv, 'dash2').identity, path.join(env.home, '.ssh', 'id_admin@10.0.0.11'));
});

test('no ~/.ssh/config: the inventory as parsed (address = the host\'s name); -F or ssh_config: that is missing is an error', async (t) => {
  const env = home({});
  const inv = inventory(env, 'hosts:', '  dash1: {}');
  t.deepEqual(await resolved(env, inv), inv);
  t.is(inv.hosts[0]?.address, 'dash1');
  await t.throwsAsync(resolved(env, inv, path.join(env.home, 'nope')), { instanceOf: ConfigError, message: /ssh_config .*nope does not exist/ });
  const named = inventory(env, 'ssh_config: ~/nope', 'hosts:', '  dash1: {}');
  t.is(named.sshConfig, path.join(env.home, 'nope'));
  await t.throwsAsync(resolved(env, named), { instanceOf: ConfigError, message: /does not exist/ });
});

test('-F wins over the inventory\'s ssh_config, which wins over ~/.ssh/config; relative to the inventory\'s folder', async (t) => {
  const env = home({ config: ['Host dash1', '  Port 1001'], a: ['Host dash1', '  Port 1002'], b: ['Host dash1', '  Port 1003'] });
  const dir = mkdtempSync(path.join(tmpdir(), 'sessionctl-inv-'));
  writeFileSync(path.join(dir, 'inv.yaml'), `ssh_config: ssh.conf\nhosts:\n  dash1: {}\n`);
  writeFileSync(path.join(dir, 'ssh.conf'), 'Host dash1\n  Port 1004\n');
  const withHome = async (fn: () => Promise<Inventory>) => {
    const saved = process.env.HOME;
    process.env.HOME = env.home;
    try {
      return await fn();
    } finally {
      process.env.HOME = saved;
    }
  };
  t.is((await withHome(() => loadInventory(path.join(dir, 'inv.yaml')))).hosts[0]?.port, 1004);
  t.is((await withHome(() => loadInventory(path.join(dir, 'inv.yaml'), { sshConfig: path.join(env.home, '.ssh', 'b') }))).hosts[0]?.port, 1003);
  const plain = inventory(env, 'hosts:', '  dash1: {}');
  t.is((await resolved(env, plain)).hosts[0]?.port, 1001);
});

test('ProxyJump: an inventory host, an implicit jump host from ssh_config, user@host:port, chains, none', async (t) => {
  const env = home({
    config: [
      'Host dash1',
      '  ProxyJump bastion',
      'Host dash2',
      '  ProxyJump gw',
      'Host dash3',
      '  ProxyJump admin@198.51.100.7:2200,gw',
      'Host dash4',
      '  ProxyJump none',
      'Host gw',
      '  HostName 203.0.113.9',
      '  User gwuser',
      '  IdentityFile /keys/gw',
      'Host *',
      '  ProxyJump bastion',
    ],
  });
  const inv = await resolved(env, inventory(env, 'hosts:', '  dash1: {}', '  dash2: {}', '  dash3: {}', '  dash4: {}', '  bastion: { address: 203.0.113.5, role: jump, proxy_jump: }'));
  t.is(host(inv, 'dash1').proxyJump, 'bastion');
  t.is(host(inv, 'bastion').proxyJump, undefined, 'the inventory un-set it: Host * does not apply');
  t.is(host(inv, 'dash2').proxyJump, 'gw');
  // gw is no inventory host: a jump host resolved from ssh_config, itself through bastion (Host *).
  t.deepEqual(ssh(host(inv, 'gw')), {
    name: 'gw', address: '203.0.113.9', port: 22, user: 'gwuser', identity: '/keys/gw', knownHosts: path.join(env.home, '.ssh', 'known_hosts'),
    proxyJump: 'bastion', acceptNewHostKeys: undefined, role: 'jump',
  });
  // A chain: the first hop given as user@host:port (and through bastion, Host *), then gw through it.
  t.is(host(inv, 'dash3').proxyJump, 'admin@198.51.100.7:2200,gw');
  t.like(host(inv, 'admin@198.51.100.7:2200'), { address: '198.51.100.7', user: 'admin', port: 2200, proxyJump: 'bastion', role: 'jump' });
  t.like(host(inv, 'admin@198.51.100.7:2200,gw'), { address: '203.0.113.9', user: 'gwuser', proxyJump: 'admin@198.51.100.7:2200', role: 'jump' });
  t.is(host(inv, 'dash4').proxyJump, undefined, 'none comes first: no jump');
  t.deepEqual([host(inv, 'gw').pos?.file, host(inv, 'gw').pos?.line], [path.join(env.home, '.ssh', 'config'), 4], 'at the ProxyJump that brought it in');
  t.true(sshConfigNotes(inv).some((l) => l.startsWith("host 'gw' (jump host from ProxyJump): from ssh_config: HostName 203.0.113.9")));
});

test('Host * naming an inventory jump host: a cycle, refused (not a hang)', async (t) => {
  const env = home({ config: ['Host *', '  ProxyJump bastion'] });
  const err = await t.throwsAsync(resolved(env, inventory(env, 'hosts:', '  dash1: {}', '  bastion: { address: 203.0.113.5, role: jump }')), { instanceOf: ConfigError });
  t.regex(err!.message, /ProxyJump cycle: bastion -> bastion \(ProxyJump from .*config:2; exclude the jump host, like 'Host \* !bastion'\)/);
});

test('a ProxyJump loop is refused with file:line', async (t) => {
  const env = home({ config: ['Host dash1', '  ProxyJump a', 'Host a', '  ProxyJump b', 'Host b', '  ProxyJump a'] });
  const err = await t.throwsAsync(resolved(env, inventory(env, 'hosts:', '  dash1: {}')), { instanceOf: ConfigError });
  t.regex(err!.message, /ProxyJump loop .*dash1 -> a -> b -> a/);
  t.is(err!.pos?.line, 6);
});

test('StrictHostKeyChecking no is refused naming file:line; accept-new accepts new keys for that host only; yes/ask are the default', async (t) => {
  const env = home({ config: ['Host dash1', '  StrictHostKeyChecking accept-new', 'Host dash2', '  StrictHostKeyChecking yes', 'Host lab-*', '  StrictHostKeyChecking no'] });
  const ok = await resolved(env, inventory(env, 'hosts:', '  dash1: {}', '  dash2: {}'));
  t.true(host(ok, 'dash1').acceptNewHostKeys);
  t.is(host(ok, 'dash2').acceptNewHostKeys, undefined);
  const both = inventory(env, 'hosts:', '  dash1: {}', '  lab-1: {}');
  const err = await t.throwsAsync(resolved(env, both), { instanceOf: ConfigError });
  t.regex(err!.message, /StrictHostKeyChecking no applies to host 'lab-1': refused, sessionctl never turns host key checking off .*-F none reads no ssh config/);
  // As ssh -F none: no file read, nothing refused.
  t.deepEqual(await resolved(env, both, 'none'), both);
  t.deepEqual([err!.pos?.file, err!.pos?.line], [path.join(env.home, '.ssh', 'config'), 6]);
  t.regex(err!.format(), /\/\.ssh\/config:6:3: /);
});

test('errors with file:line: bad Port, unreadable Include, Include loop, unsupported token, ProxyCommand, Match exec', async (t) => {
  const cases: [string[], Record<string, string[]>, RegExp, number][] = [
    [['Host *', '  Port 22x'], {}, /Port must be a number from 1 to 65535, got '22x'/, 2],
    [['Include loop.conf'], { 'loop.conf': ['Host x', 'Include config'] }, /Include loop: .*config -> .*loop\.conf -> .*config/, 2],
    [['Host dash1', '  IdentityFile ~/.ssh/%C'], {}, /IdentityFile: the token '%C' is not supported/, 2],
    [['Host dash1', '  ProxyCommand nc %h %p'], {}, /ProxyCommand applies to host 'dash1'/, 2],
    [['Match exec "true"', '  User x'], {}, /Match exec is not supported/, 1],
    [['Host dash1', '  User "unterminated'], {}, /invalid ssh_config line/, 2],
  ];
  for (const [config, more, message, line] of cases) {
    const env = home({ config, ...more });
    const err = await t.throwsAsync(resolved(env, inventory(env, 'hosts:', '  dash1: {}')), { instanceOf: ConfigError });
    t.regex(err!.message, message);
    t.is(err!.pos?.line, line, config.join(' | '));
  }
  // What the inventory sets is not read from the file, so not refused either.
  const kept = home({ config: ['Host dash1', '  IdentityFile ~/.ssh/%C', '  HostName bad%x', '  Port 2022'] });
  t.like(host(await resolved(kept, inventory(kept, 'hosts:', '  dash1: { address: 10.0.0.1, identity: /k }')), 'dash1'), { address: '10.0.0.1', identity: '/k', port: 2022 });
  // A Match exec that sets nothing sessionctl reads is harmless: ignored, never run.
  const env = home({ config: ['Match exec "touch /tmp/sessionctl-must-not-run"', '  ForwardAgent no', 'Host dash1', '  Port 2022'] });
  t.is(host(await resolved(env, inventory(env, 'hosts:', '  dash1: {}')), 'dash1').port, 2022);
});

test('Include: a directory is refused at the Include line; a FIFO and /dev/zero fast', async (t) => {
  const env = home({ config: ['Host *', '  Include inc'] });
  mkdirSync(path.join(env.home, '.ssh', 'inc'));
  const err = await t.throwsAsync(readSshConfig(path.join(env.home, '.ssh', 'config'), env, true), { instanceOf: ConfigError });
  t.regex(err!.message, /Include: .*inc is a directory/);
  t.is(err!.pos?.line, 2);
  const zero = home({ config: ['Include /dev/zero'] });
  await t.throwsAsync(readSshConfig(path.join(zero.home, '.ssh', 'config'), zero, true), { instanceOf: ConfigError, message: /character device, not a regular file/ });
  await t.throwsAsync(readSshConfig('/dev/zero', zero, true), { instanceOf: ConfigError, message: /character device/ });
  const fifo = home({ config: ['Include fifo'] });
  execFileSync('mkfifo', [path.join(fifo.home, '.ssh', 'fifo')]);
  await within(5000, t.throwsAsync(readSshConfig(path.join(fifo.home, '.ssh', 'config'), fifo, true), { instanceOf: ConfigError, message: /FIFO \(named pipe\), not a regular file/ }));
  const big = home({ config: [`# ${'x'.repeat(200 * 1024)}`] });
  await t.throwsAsync(readSshConfig(path.join(big.home, '.ssh', 'config'), big, true), { instanceOf: ConfigError, message: /more than the limit of 128 KiB/ });
  // A symbolic link to a config Included twice (not a loop) is fine.
  const twice = home({ config: ['Include a', 'Include b'], a: ['Host dash1', '  Port 2001'] });
  symlinkSync(path.join(twice.home, '.ssh', 'a'), path.join(twice.home, '.ssh', 'b'));
  t.is((await readSshConfig(path.join(twice.home, '.ssh', 'config'), twice, true))?.entries.length, 2);
});

test('Match host / originalhost / user blocks evaluate in order; several errors are reported together', async (t) => {
  const env = home({ config: ['Host dash1', '  HostName 10.0.0.11', 'Match host 10.0.0.* user root', '  Port 2211', 'Match originalhost dash2', '  StrictHostKeyChecking off', 'Host dash3', '  IdentityFile %C'] });
  const err = await t.throwsAsync(resolved(env, inventory(env, 'hosts:', '  dash1: {}', '  dash2: {}', '  dash3: {}')), { instanceOf: ConfigErrors });
  t.deepEqual(err!.errors.map((e) => e.pos?.line), [6, 8]);
  const ok = await resolved(env, inventory(env, 'hosts:', '  dash1: {}'));
  t.is(host(ok, 'dash1').port, 2211);
});

test('applySshConfig is pure over a read configuration (no files touched past reading)', async (t) => {
  const env = home({ config: ['Host dash1', '  Port 2022'] });
  const cfg = await readSshConfig(path.join(env.home, '.ssh', 'config'), env, true);
  const inv = applySshConfig(inventory(env, 'hosts:', '  dash1: {}'), cfg!, env);
  t.is(inv.hosts[0]?.port, 2022);
  t.is(inv.sshConfig, path.join(env.home, '.ssh', 'config'));
});

test('patterns as OpenSSH: ? is one character, * any run, case-insensitive; many stars stay linear-ish', (t) => {
  const cases: [string, string, boolean][] = [
    ['dash?', 'dash1', true],
    ['dash?', 'dash', false],
    ['dash?', 'dash12', false],
    ['*.LAB.example', 'dash1.lab.EXAMPLE', true],
    ['d*h*1', 'dash1', true],
    ['d*h*1', 'dash2', false],
    ['*', '', true],
    ['a.c', 'abc', false],
  ];
  for (const [p, s, want] of cases) t.is(patternMatches(p, s), want, `${p} ~ ${s}`);
  const { ms, value } = timed(() => patternMatches(`${'*a'.repeat(200)}*b`, 'a'.repeat(5000)));
  t.false(value);
  t.true(ms < 2500, `${ms} ms of CPU`);
  t.log(`200 stars against 5,000 characters: ${Math.round(ms)} ms of CPU`);
});

test('cost: a thousand hosts against a 128 KiB config of Host blocks stay within seconds of CPU', async (t) => {
  const lines: string[] = [];
  for (let i = 0; lines.join('\n').length < 120 * 1024; i++) lines.push(`Host web${i} web${i}-*`, `  HostName 10.1.${i % 250}.${i % 200}`, '  User kolla');
  lines.push('Host *', '  Port 2222');
  const env = home({ config: lines });
  const hosts = Array.from({ length: 1000 }, (_, i) => `  dash${i}: {}`);
  const inv = inventory(env, 'hosts:', ...hosts);
  const cfg = await readSshConfig(path.join(env.home, '.ssh', 'config'), env, true);
  const { ms, value } = timed(() => applySshConfig(inv, cfg!, env));
  t.is(value?.hosts[999]?.port, 2222);
  t.true(ms < 4000, `${ms} ms of CPU`);
  t.log(`1,000 hosts x ${cfg!.entries.length} entries: ${Math.round(ms)} ms of CPU`);
});

test('an Include inside a Host block applies only to that block\'s hosts, its own Host lines narrowing further (as ssh)', async (t) => {
  const env = home({
    config: ['Host dash1', '  Include hosts.d/*.conf', 'Host *', '  User everyone'],
    'hosts.d/a.conf': ['User kolla', 'Host dash*', '  Port 2201'],
    'hosts.d/b.conf': ['Host *', '  HostName 10.9.9.9'],
    'hosts.d/.hidden.conf': ['Port 9999'],
  });
  const inv = await resolved(env, inventory(env, 'hosts:', '  dash1: {}', '  dash2: {}'));
  t.like(host(inv, 'dash1'), { user: 'kolla', port: 2201, address: '10.9.9.9' });
  t.like(host(inv, 'dash2'), { user: 'everyone', port: 22, address: 'dash2' });
});
