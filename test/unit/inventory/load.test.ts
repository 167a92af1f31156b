import test from 'ava';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { ConfigError, ConfigErrors } from '../../../src/errors.js';
import {loadInventory, parseInventory, selectHosts} from '../../../src/inventory/load.js';
import { resolveSecret } from '../../../src/util/secret.js';
import { editDistance, isSecretKey, suggest } from '../../../src/inventory/schema.js';
import type { HostConfig, Inventory } from '../../../src/inventory/types.js';
import { cpuClock, timed, within } from '../timing.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const FIXTURES = path.join(HERE, '..', 'fixtures', 'inventory');
const ROOT = path.resolve(HERE, '..', '..', '..');

const HOME = '/home/op';
const FILE = '/srv/inv/inventory.yaml';
const yaml = (...lines: string[]) => `${lines.join('\n')}\n`;
const parse = (...lines: string[]) => parseInventory(yaml(...lines), FILE, { HOME });

/** The problems parseInventory reports for some YAML text. */
function problems(text: string): ConfigError[] {
  try {
    parseInventory(text, FILE, { HOME });
  } catch (err) {
    if (err instanceof ConfigErrors) return err.errors;
    throw err;
  }
  throw new Error('expected ConfigErrors, but the inventory parsed');
}
const at = (e: ConfigError) => `${e.pos?.line}:${e.pos?.col}`;
const withoutPos = ({ pos: _pos, ...rest }: HostConfig) => rest;

/** One Dashboard host, for cases about other sections. */
const H = ['hosts:', '  dash1: { address: 10.0.0.11 }'];

// ---------------------------------------------------------------------------------------------
// Valid inventories
// ---------------------------------------------------------------------------------------------

test('minimal inventory: every default filled in', (t) => {
  const inv = parse('hosts:', '  dash1:', '    address: 10.0.0.11');
  t.is(inv.file, FILE);
  t.deepEqual(inv.hosts.map(withoutPos), [
    {
      name: 'dash1',
      address: '10.0.0.11',
      port: 22,
      user: 'root',
      knownHosts: '/home/op/.ssh/known_hosts',
      become: false,
      container: 'horizon',
      role: 'dashboard',
      layout: 'auto',
      configDir: '/etc/kolla/horizon',
      connectTimeout: 15,
      commandTimeout: 300,
      inventoryKeys: new Set(['address']),
    },
  ]);
  t.deepEqual(inv.hosts[0]?.pos, { file: FILE, line: 2, col: 3, lineText: '  dash1:' });
  t.deepEqual(inv.session, {});
  t.deepEqual(inv.install, { method: 'pip' });
  t.deepEqual(inv.rollout, { serial: 1, maxFail: 0, method: 'auto' });
  t.is(inv.kolla, undefined);
  t.is(inv.digest, createHash('sha256').update(yaml('hosts:', '  dash1:', '    address: 10.0.0.11')).digest('hex'));
});

test('the contract example: defaults merged, host keys override, jump host', (t) => {
  const inv = parse(
    'defaults:',
    '  user: root',
    '  identity: ~/.ssh/id_ed25519',
    '  become: false',
    'hosts:',
    '  dash1: { address: 10.0.0.11 }',
    '  dash2: { address: 10.0.0.12, port: 2222, user: kolla, become: true, proxy_jump: bastion }',
    '  bastion: { address: 203.0.113.5, role: jump }',
    'session:',
    '  backend: redis',
    '  redis: { url: "redis://10.0.0.50:6379/0" }',
  );
  const [dash1, dash2, bastion] = inv.hosts;
  t.like(dash1, { name: 'dash1', user: 'root', port: 22, become: false, identity: '/home/op/.ssh/id_ed25519' });
  t.like(dash2, { name: 'dash2', user: 'kolla', port: 2222, become: true, proxyJump: 'bastion' });
  t.like(bastion, { name: 'bastion', role: 'jump', address: '203.0.113.5' });
  t.is(dash1?.proxyJump, undefined);
  t.deepEqual(inv.session, { backend: 'redis', redis: { url: 'redis://10.0.0.50:6379/0' } });
});

test('paths: ~ is HOME, relative paths are relative to the inventory file', (t) => {
  const inv = parse(
    'defaults:',
    '  identity: keys/id',
    '  known_hosts: ~/kh',
    'hosts:',
    '  dash1: { address: a.example, identity_passphrase_file: /abs/pass }',
    'install: { method: wheelhouse, wheelhouse: ../wheels }',
    'session:',
    '  redis: { url: "rediss://r.example:6380/0", tls_ca: ~, password_file: pw }',
  );
  t.like(inv.hosts[0], {
    identity: '/srv/inv/keys/id',
    knownHosts: '/home/op/kh',
    identityPassphrase: { kind: 'file', path: '/abs/pass' },
  });
  t.is(inv.install.wheelhouse, '/srv/wheels');
  t.deepEqual(inv.session.redis?.password, { kind: 'file', path: '/srv/inv/pw' });
  t.is(inv.session.redis?.tlsCa, undefined, '`tls_ca: ~` is YAML null (not set), not HOME');
});

test('proxy_jump may chain; a proxy_jump from defaults skips the jump host itself', (t) => {
  const inv = parse(
    'defaults: { proxy_jump: inner }',
    'hosts:',
    '  dash1: { address: 10.0.0.11 }',
    '  inner: { address: 10.0.0.2, role: jump, proxy_jump: outer }',
    '  outer: { address: 203.0.113.5, role: jump, proxy_jump: }',
  );
  t.deepEqual(
    inv.hosts.map((h) => [h.name, h.proxyJump]),
    [['dash1', 'inner'], ['inner', 'outer'], ['outer', undefined]],
  );
});

test('an empty value in a host un-sets a default', (t) => {
  const inv = parse(
    'defaults: { identity: ~/.ssh/id, identity_passphrase_env: KEY_PASS }',
    'hosts:',
    '  dash1: { address: 10.0.0.11 }',
    '  dash2: { address: 10.0.0.12, identity:, identity_passphrase_env: }',
  );
  t.like(inv.hosts[0], { identity: '/home/op/.ssh/id', identityPassphrase: { kind: 'env', name: 'KEY_PASS' } });
  t.false('identity' in (inv.hosts[1] ?? {}));
  t.false('identityPassphrase' in (inv.hosts[1] ?? {}));
});

test('anchors, aliases and merge keys: explicit keys win, then earlier merge sources', (t) => {
  const inv = parse(
    'x-kolla: &kolla { user: kolla, become: true, port: 2222 }',
    'x-slow: &slow { connect_timeout: 60, port: 2200 }',
    'hosts:',
    '  dash1:',
    '    <<: [*kolla, *slow]',
    '    address: &addr 10.0.0.11',
    '    port: 22',
    '  dash2: { <<: *kolla, address: 10.0.0.12 }',
    'kolla: { deploy_host: dash1 }',
  );
  t.like(inv.hosts[0], { user: 'kolla', become: true, port: 22, connectTimeout: 60 });
  t.like(inv.hosts[1], { user: 'kolla', port: 2222, connectTimeout: 15 });
  t.deepEqual(inv.kolla, { deployHost: 'dash1', configDir: '/etc/kolla/config' });
});

test('addresses: hostnames, IPv4, IPv6 (brackets dropped)', (t) => {
  const inv = parse(
    'hosts:',
    '  a: { address: dash.example.org }',
    '  b: { address: "2001:db8::1" }',
    '  c: { address: "[2001:db8::2]" }',
    '  "101": { address: 192.0.2.1 }',
  );
  t.deepEqual(
    inv.hosts.map((h) => [h.name, h.address]),
    [['a', 'dash.example.org'], ['b', '2001:db8::1'], ['c', '2001:db8::2'], ['101', '192.0.2.1']],
  );
});

test('secrets: literal, _env and _file become SecretRefs', (t) => {
  const inv = parse(
    ...H,
    'session:',
    '  database:',
    '    engine: postgresql',
    '    host: /run/postgresql',
    '    name: horizon',
    '    user: horizon',
    '    password: "p@ss: word"',
    '  redis:',
    '    url: unix:///run/redis/redis.sock?db=1',
    '    password_env: REDIS_PASSWORD',
  );
  t.deepEqual(inv.session.database, {
    engine: 'postgresql',
    host: '/run/postgresql',
    name: 'horizon',
    user: 'horizon',
    password: { kind: 'literal', value: 'p@ss: word' },
    sessionEngine: 'db',
  });
  t.deepEqual(inv.session.redis?.password, { kind: 'env', name: 'REDIS_PASSWORD' });
});

test('full session, install and rollout sections', (t) => {
  const inv = parse(
    ...H,
    'session:',
    '  backend: memcached',
    '  memcached: { servers: [10.0.0.60:11211, "[2001:db8::61]:11211", mc.example:11212] }',
    '  redis:',
    '    url: redis://10.0.0.50:6379/0',
    '    sentinel: { service: mymaster, hosts: ["10.0.0.51:26379"], password_env: SENTINEL_PW }',
    '  database: { engine: mysql, host: db.example, port: 3306, name: h, user: h, options: { charset: utf8mb4, ssl: true, timeout: 5 }, session_engine: cached_db }',
    '  security: { timeout: 3600, refresh: false, cookie_secure: true, cookie_httponly: true, cookie_samesite: false, csrf_cookie_secure: true }',
    'install: { method: pip, version: "5.4.0", index_url: "https://pypi.example/simple", proxy: "http://proxy:3128" }',
    'rollout: { serial: 3, max_fail: 1, method: restart }',
  );
  t.deepEqual(inv.session.memcached, { servers: ['10.0.0.60:11211', '[2001:db8::61]:11211', 'mc.example:11212'] });
  t.deepEqual(inv.session.redis?.sentinel, {
    service: 'mymaster',
    hosts: ['10.0.0.51:26379'],
    password: { kind: 'env', name: 'SENTINEL_PW' },
  });
  t.like(inv.session.database, { port: 3306, sessionEngine: 'cached_db', options: { charset: 'utf8mb4', ssl: true, timeout: 5 } });
  t.deepEqual(inv.session.security, {
    timeout: 3600,
    refresh: false,
    cookieSecure: true,
    cookieHttponly: true,
    cookieSamesite: false,
    csrfCookieSecure: true,
  });
  t.deepEqual(inv.install, { method: 'pip', version: '5.4.0', indexUrl: 'https://pypi.example/simple', proxy: 'http://proxy:3128' });
  t.deepEqual(inv.rollout, { serial: 3, maxFail: 1, method: 'restart' });
});

test('loadbalancer: Kolla\'s defaults; hosts from hosts (a host only balancing has role loadbalancer); servers map Dashboard hosts to HAProxy names', async (t) => {
  const inv = parse(...H, '  ctl9: { address: 10.0.0.9, role: loadbalancer }', 'loadbalancer: { hosts: [ctl9, dash1], servers: { dash1: ctl-1 } }');
  t.deepEqual(inv.loadbalancer, { hosts: ['ctl9', 'dash1'], container: 'haproxy', socket: '/var/lib/kolla/haproxy/haproxy.sock', backends: ['horizon_back', 'horizon_external_back'], servers: { dash1: 'ctl-1' } });
  t.false(selectHosts(inv).some((h) => h.name === 'ctl9'), 'not a Dashboard host');
  const bad = t.throws(() => parse(...H, 'loadbalancer: { hosts: [ctl8], servers: { ctl8: x, dash1: "a b" } }')) as Error;
  t.regex(bad.message, /loadbalancer\.hosts names unknown host 'ctl8'/);
  t.regex(bad.message, /loadbalancer\.servers names 'ctl8', which is not a Dashboard host of hosts/);
  t.regex(bad.message, /loadbalancer\.servers\.dash1 must be an HAProxy server name/);
});

test('inventory.example.yaml parses cleanly and documents every key', async (t) => {
  const file = path.join(ROOT, 'inventory.example.yaml');
  const inv = await loadInventory(file);
  t.true(inv.hosts.some((h) => h.role === 'jump'));
  t.truthy(inv.session.redis && inv.session.memcached && inv.session.database && inv.session.security);
  const text = await readFile(file, 'utf8');
  const keys = [
    'defaults', 'hosts', 'session', 'install', 'rollout', 'kolla',
    'address', 'port', 'user', 'identity', 'identity_passphrase', 'known_hosts', 'become', 'container',
    'proxy_jump', 'role', 'layout', 'config_dir', 'settings_file', 'connect_timeout', 'command_timeout',
    'backend', 'redis', 'url', 'password', 'password_env', 'password_file', 'tls_ca', 'tls_check_hostname', 'require_persistence', 'sentinel', 'service', 'cluster', 'nodes',
    'memcached', 'servers', 'database', 'engine', 'host', 'name', 'options', 'session_engine',
    'security', 'timeout', 'refresh', 'cookie_secure', 'cookie_httponly', 'cookie_samesite', 'csrf_cookie_secure',
    'method', 'version', 'index_url', 'proxy', 'wheelhouse', 'serial', 'max_fail', 'deploy_host',
    'loadbalancer', 'socket', 'backends', 'ssh_config',
  ];
  const missing = keys.filter((k) => !new RegExp(`^\\s*(#.*)?\\b${k}:`, 'm').test(text));
  t.deepEqual(missing, []);
});

test('loadInventory: absolute file, digest of the bytes, paths relative to the file', async (t) => {
  const file = path.join(FIXTURES, 'relative-paths.yaml');
  const inv = await loadInventory(path.relative(process.cwd(), file));
  t.is(inv.file, file);
  t.is(inv.digest, createHash('sha256').update(await readFile(file)).digest('hex'));
  t.is(inv.hosts[0]?.identity, path.join(FIXTURES, 'keys/id_ed25519'));
  t.deepEqual(inv.hosts[0]?.identityPassphrase, { kind: 'file', path: path.join(FIXTURES, 'secrets/passphrase') });
  t.is(inv.install.wheelhouse, path.resolve(FIXTURES, '../wheels'));
});

test('loadInventory: a missing file is one clear ConfigError', async (t) => {
  const err = await t.throwsAsync(loadInventory(path.join(FIXTURES, 'nope.yaml')), { instanceOf: ConfigError });
  t.regex(err?.message ?? '', /inventory file .*nope\.yaml does not exist/);
  await t.throwsAsync(loadInventory(FIXTURES), { instanceOf: ConfigError, message: /is a directory/ });
});

test.serial('loadInventory: a FIFO, /dev/zero or a file over the limit is refused at once with exit 5, naming the path', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sessionctl-inv-'));
  const fifo = path.join(dir, 'inventory.yaml');
  execFileSync('mkfifo', [fifo]);
  const big = path.join(dir, 'big.yaml');
  writeFileSync(big, `${yaml(...H)}${'#'.repeat(300_000)}\n`);
  for (const [file, message] of <const>[
    [fifo, `inventory file ${fifo} is a FIFO (named pipe), not a regular file`],
    ['/dev/zero', 'inventory file /dev/zero is a character device, not a regular file'],
    [big, `inventory file ${big} is 300040 bytes, more than the limit of 128 KiB`],
  ]) {
    // Before: the FIFO blocked the open for ever and /dev/zero was read until memory ran out.
    const err = await t.throwsAsync(within(2000, loadInventory(file)), { instanceOf: ConfigError });
    t.is(err?.message, message);
    t.is(err?.exitCode, 5);
  }
});

// ---------------------------------------------------------------------------------------------
// Invalid inventories: message and exact position
// ---------------------------------------------------------------------------------------------

interface Bad {
  name: string;
  lines: string[];
  message: string;
  at: string;
  /** How many problems in all (default 1: no noise around the real one). */
  count?: number;
}

const BAD: Bad[] = [
  { name: 'empty file', lines: [], message: "the inventory is empty: it needs at least a 'hosts' mapping", at: '1:1' },
  { name: 'only comments', lines: ['# nothing yet'], message: 'the inventory is empty', at: '1:1' },
  { name: 'top level is a list', lines: ['- dash1'], message: "the inventory must be a mapping with 'hosts'", at: '1:1' },
  { name: 'YAML syntax error', lines: ['hosts:', '  dash1: { address: 10.0.0.11', 'session: {}'], message: 'invalid YAML: ', at: '3:1' },
  { name: 'tab indentation', lines: ['hosts:', '\tdash1: {}'], message: 'invalid YAML: Tabs are not allowed', at: '2:1' },
  {
    name: 'duplicate key',
    lines: ['hosts:', '  dash1:', '    address: 10.0.0.11', '    address: 10.0.0.12'],
    message: "duplicate key 'address' in host 'dash1' (first defined on line 3)",
    at: '4:5',
  },
  {
    name: 'duplicate host',
    lines: ['hosts:', '  dash1: { address: a.example }', '  dash1: { address: b.example }'],
    message: "duplicate key 'dash1' in hosts",
    at: '3:3',
  },
  {
    name: 'unknown key without suggestion',
    lines: ['hosts:', '  dash1: { address: 10.0.0.11, colour: blue }'],
    message: "unknown key 'colour' in host 'dash1'",
    at: '2:32',
  },
  {
    name: 'unknown top-level key',
    lines: ['sesion: {}', ...H],
    message: "unknown key 'sesion' at the top level (did you mean 'session'?)",
    at: '1:1',
  },
  { name: 'missing hosts', lines: ['session: { backend: redis }'], message: "missing required key 'hosts' at the top level", at: '1:1' },
  { name: 'hosts empty', lines: ['hosts: {}'], message: 'hosts is empty: add at least one Dashboard host', at: '1:8' },
  { name: 'hosts empty value', lines: ['hosts:'], message: 'hosts must be a mapping of host names to host settings, got an empty value', at: '1:1' },
  { name: 'hosts is a list', lines: ['hosts:', '  - dash1'], message: 'hosts must be a mapping of host names to host settings, got a list', at: '2:3' },
  { name: 'host is a scalar', lines: ['hosts:', '  dash1: 10.0.0.11'], message: 'hosts.dash1 must be a mapping of host settings', at: '2:10' },
  { name: 'no Dashboard host', lines: ['hosts:', '  bastion: { address: 10.0.0.1, role: jump }'], message: 'hosts has no Dashboard host', at: '2:3' },
  { name: 'invalid host name', lines: ['hosts:', '  "dash 1": { address: 10.0.0.11 }'], message: "invalid host name 'dash 1'", at: '2:3' },
  {
    name: 'port out of range',
    lines: ['hosts:', '  dash1: { address: 10.0.0.11, port: 70000 }'],
    message: 'hosts.dash1.port must be an integer between 1 and 65535, got 70000',
    at: '2:38',
  },
  { name: 'port as text', lines: ['hosts:', '  dash1: { address: 10.0.0.11, port: "22" }'], message: 'got "22"', at: '2:38' },
  { name: 'bad IPv4', lines: ['hosts:', '  dash1: { address: 10.0.0.256 }'], message: 'hosts.dash1.address must be a hostname or IP address, got "10.0.0.256"', at: '2:21' },
  {
    name: 'YAML 1.1 boolean',
    lines: ['hosts:', '  dash1:', '    address: 10.0.0.11', '    become: yes'],
    message: 'hosts.dash1.become must be true or false, got "yes"',
    at: '4:13',
  },
  {
    name: 'bad enum with suggestion',
    lines: [...H, '  bastion: { address: 10.0.0.1, role: jmp }'],
    message: `hosts.bastion.role must be one of dashboard, jump, loadbalancer, got "jmp" (did you mean 'jump'?)`,
    at: '3:39',
  },
  {
    name: 'plain layout without settings_file',
    lines: ['hosts:', '  dash1:', '    address: 10.0.0.11', '    layout: plain'],
    message: "host 'dash1' has layout 'plain' but no settings_file",
    at: '3:5',
  },
  {
    name: 'relative remote path',
    lines: ['hosts:', '  dash1:', '    address: 10.0.0.11', '    config_dir: etc/kolla'],
    message: 'hosts.dash1.config_dir must be an absolute path, got "etc/kolla"',
    at: '4:17',
  },
  {
    name: 'container name with shell characters',
    lines: ['hosts:', '  dash1:', '    address: 10.0.0.11', '    container: "horizon; reboot"'],
    message: 'hosts.dash1.container must be a container name',
    at: '4:16',
  },
  {
    name: '~user path',
    lines: ['hosts:', '  dash1:', '    address: 10.0.0.11', '    identity: ~admin/.ssh/id'],
    message: "hosts.dash1.identity uses '~admin': only '~/' (your home) is supported",
    at: '4:15',
  },
  {
    name: 'bad value in defaults is reported once, at defaults',
    lines: ['defaults: { port: 0 }', 'hosts:', '  a: { address: 10.0.0.1 }', '  b: { address: 10.0.0.2 }'],
    message: 'defaults.port must be an integer between 1 and 65535, got 0',
    at: '1:19',
  },
  {
    name: 'proxy_jump to an unknown host',
    lines: ['hosts:', '  dash1: { address: 10.0.0.11, proxy_jump: bastoin }', '  bastion: { address: 10.0.0.1, role: jump }'],
    message: "proxy_jump of host 'dash1' names unknown host 'bastoin' (did you mean 'bastion'?)",
    at: '2:44',
  },
  {
    name: 'proxy_jump to itself',
    lines: ['hosts:', '  dash1: { address: 10.0.0.11, proxy_jump: dash1 }'],
    message: "proxy_jump of host 'dash1' names the host itself",
    at: '2:44',
  },
  {
    name: 'proxy_jump cycle, reported once',
    lines: [
      'hosts:',
      '  dash1: { address: 10.0.0.11, proxy_jump: j1 }',
      '  j1: { address: 10.0.0.1, role: jump, proxy_jump: j2 }',
      '  j2: { address: 10.0.0.2, role: jump, proxy_jump: j1 }',
    ],
    message: 'proxy_jump cycle: j1 -> j2 -> j1',
    at: '3:52',
  },
  { name: 'rollout.serial as a word', lines: [...H, 'rollout:', '  serial: two'], message: 'rollout.serial must be an integer >= 1, got "two"', at: '4:11' },
  { name: 'rollout.max_fail negative', lines: [...H, 'rollout:', '  max_fail: -1'], message: 'rollout.max_fail must be an integer >= 0, got -1', at: '4:13' },
  {
    name: 'session.backend typo',
    lines: [...H, 'session:', '  backend: reddis'],
    message: `session.backend must be one of memcached, redis, database, cookie, got "reddis" (did you mean 'redis'?)`,
    at: '4:12',
  },
  {
    name: 'password inside the redis URL',
    lines: [...H, 'session:', '  redis:', '    url: "redis://:hunter2@10.0.0.50:6379/0"'],
    message: 'session.redis.url must not contain a password: put it in password_env or password_file',
    at: '5:10',
  },
  {
    name: 'redis URL with the wrong scheme',
    lines: [...H, 'session:', '  redis:', '    url: http://10.0.0.50:6379'],
    message: 'session.redis.url must be a URL starting with redis://, rediss://, unix://, got "http://10.0.0.50:6379"',
    at: '5:10',
  },
  {
    name: 'two spellings of one secret',
    lines: [...H, 'session:', '  redis:', '    url: redis://10.0.0.50', '    password_env: REDIS_PW', '    password_file: /run/pw'],
    message: "session.redis.password_file: give only one of password, password_env, password_file (found 'password_env' too)",
    at: '7:5',
  },
  {
    name: 'environment variable name',
    lines: [...H, 'session:', '  redis:', '    url: redis://10.0.0.50', '    password_env: "redis-pw"'],
    message: 'session.redis.password_env must be an environment variable name',
    at: '6:19',
  },
  { name: 'memcached without servers', lines: [...H, 'session:', '  memcached: { servers: [] }'], message: 'session.memcached.servers must not be empty', at: '4:25' },
  {
    name: 'memcached IPv6 without brackets',
    lines: [...H, 'session:', '  memcached: { servers: [10.0.0.60:11211, "::1:11211"] }'],
    message: 'session.memcached.servers[1] must be host:port (IPv6 as [addr]:port), got "::1:11211"',
    at: '4:43',
  },
  {
    name: 'database without engine',
    lines: [...H, 'session:', '  database:', '    host: db.example', '    name: horizon', '    user: horizon'],
    message: "missing required key 'engine' in session.database",
    at: '5:5',
  },
  {
    name: 'cookie_samesite in lower case',
    lines: [...H, 'session:', '  security: { cookie_samesite: lax }'],
    message: `session.security.cookie_samesite must be one of Lax, Strict, None, false, got "lax" (did you mean 'Lax'?)`,
    at: '4:32',
  },
  { name: 'session timeout zero', lines: [...H, 'session:', '  security: { timeout: 0 }'], message: 'session.security.timeout must be an integer >= 1, got 0', at: '4:24' },
  {
    name: 'wheelhouse method without wheelhouse',
    lines: [...H, 'install:', '  method: wheelhouse'],
    message: "install.wheelhouse (a directory of wheels) is required when install.method is 'wheelhouse'",
    at: '4:11',
  },
  {
    name: 'index_url not http(s)',
    lines: [...H, 'install:', '  index_url: ftp://mirror.example/simple'],
    message: 'install.index_url must be a URL starting with http://, https://',
    at: '4:14',
  },
  {
    name: 'version read as a number',
    lines: [...H, 'install:', '  version: 5.40'],
    message: 'install.version must be a version string like "5.4.0", got 5.4 (quote it to make it text: "5.40")',
    at: '4:12',
  },
  {
    name: 'kolla.deploy_host unknown',
    lines: [...H, 'kolla:', '  deploy_host: deploy'],
    message: "kolla.deploy_host names unknown host 'deploy'; hosts are: dash1",
    at: '4:16',
  },
  {
    name: 'loadbalancer.hosts not a list',
    lines: [...H, 'loadbalancer: { hosts: 5 }'],
    message: 'loadbalancer.hosts must be a list of a host name from hosts, got 5',
    at: '3:24',
  },
  {
    name: 'alias to an unknown anchor',
    lines: ['hosts:', '  dash1: *nothing'],
    message: "unknown alias '*nothing': define the anchor '&nothing' before using it",
    at: '2:10',
  },
  {
    name: 'merge of a scalar',
    lines: ['x-base: &b 5', 'hosts:', '  dash1:', '    <<: *b', '    address: 10.0.0.11'],
    message: "'<<' (merge) needs a mapping, an alias to one, or a list of them, got 5",
    at: '4:9',
  },
];

for (const c of BAD) {
  test(`rejects: ${c.name}`, (t) => {
    const errors = problems(yaml(...c.lines));
    const hit = errors.find((e) => e.message.includes(c.message));
    t.truthy(hit, `no problem mentions ${JSON.stringify(c.message)}; got:\n${errors.map((e) => e.format()).join('\n')}`);
    if (hit) t.is(at(hit), c.at, hit.format());
    t.is(errors.length, c.count ?? 1, errors.map((e) => e.format()).join('\n'));
  });
}

test('positions after a broken flow collection follow the text (yaml\'s line counter loses newlines there)', (t) => {
  const errors = problems(yaml('hosts: {dash1: {address: ~[}}', 'bad line', 'session: 5'));
  const colon = errors.find((e) => e.message.includes('map-value-ind'));
  // Before: 2:17, under 'bad line', which has no column 17.
  t.is(at(colon!), '3:8');
  t.is(colon?.pos?.lineText, 'session: 5');
});

test('did you mean: the spec example, word for word', (t) => {
  const errors = problems(yaml('hosts:', '  dash1:', '    adress: 10.0.0.11'));
  t.deepEqual(
    errors.map((e) => [e.message, at(e)]),
    [
      ["unknown key 'adress' in host 'dash1' (did you mean 'address'?)", '3:5'],
    ],
  );
});

test('did you mean: distance <= 2, prefixes, case and separators; nothing when far', (t) => {
  const keys = ['address', 'port', 'proxy_jump', 'connect_timeout', 'command_timeout', 'identity_passphrase'];
  t.is(suggest('prot', keys), 'port');
  t.is(suggest('proxyJump', keys), 'proxy_jump');
  t.is(suggest('proxy-jump', keys), 'proxy_jump');
  t.is(suggest('connect', keys), 'connect_timeout');
  t.is(suggest('identity_pass', keys), 'identity_passphrase');
  t.is(suggest('colour', keys), undefined);
  t.is(suggest('ab', keys), undefined);
});

test.serial('did you mean: 20,000-character names are compared in well under a second', (t) => {
  const long = 'a'.repeat(20_000);
  const text = yaml(`hosts: { ${long}: { address: 10.0.0.1 }, dash2: { address: 10.0.0.2, proxy_jump: ${long.slice(1)}b } }`);
  // Before: a full edit-distance table of 20,000 x 20,000 cells, 25 s.
  const { ms, error } = timed(() => parseInventory(text, FILE, { HOME }));
  t.true(ms < 2000, `${Math.round(ms)} ms`);
  t.regex((error as ConfigErrors).errors[0]!.message, /^proxy_jump of host 'dash2' names unknown host 'a{61}\.\.\.'; hosts are: a{61}\.\.\., dash2$/);
  t.is(editDistance(long, `${long.slice(1)}b`, 2), 1);
  t.is(editDistance(long, `b${long.slice(2)}c`, 2), 2);
  t.is(editDistance(long, `b${long.slice(3)}cc`, 2), 3, 'over the bound: max + 1');
  t.is(editDistance('kitten', 'sitting', 2), 3);
  t.is(editDistance('pasword', 'password', 2), 1);
});

test.serial('thousands of hosts: a jump chain and unknown jump hosts are checked in well under a second; 100 problems shown', (t) => {
  const chain = yaml('hosts:', ...Array.from({ length: 5000 }, (_, i) => `  h${i}: { address: 10.0.0.1${i < 4999 ? `, proxy_jump: h${i + 1}` : ''} }`));
  // Before: every host walked the chain to its end, checking each step against the chain so far (cubic): 9 s.
  // About 200 KB of YAML: the parser alone takes most of a second on a busy machine, hence 4 s.
  const walk = timed(() => parseInventory(chain, FILE, { HOME }));
  t.is(walk.error, undefined);
  t.true(walk.ms < 4000, `${Math.round(walk.ms)} ms`);

  const unknown = yaml('hosts:', ...Array.from({ length: 5000 }, (_, i) => `  h${i}: { address: 10.0.0.1, proxy_jump: x${i} }`));
  // Before: each unknown name compared with every host, and all 5,000 problems formatted: 16 s.
  const { ms, error } = timed(() => parseInventory(unknown, FILE, { HOME }));
  t.true(ms < 4000, `${Math.round(ms)} ms`);
  const errors = (error as ConfigErrors).errors;
  t.is(errors.length, 101);
  t.is(errors[0]?.message, "proxy_jump of host 'h0' names unknown host 'x0' (did you mean 'h0'?)");
  t.is(errors[100]?.format(), '... and 4900 more problems, not shown: fix these first');
});

test.serial('a one-line inventory of 8,000 hosts with passphrases is placed in linear time (each host\'s position sorted every mask of the line)', (t) => {
  const text = `hosts: {${Array.from({ length: 8000 }, (_, i) => `h${i}: {address: 10.0.0.1, identity_passphrase: pw${i}}`).join(', ')}}\n`;
  // Before: 14 s. The YAML parser alone takes about a second of this on a busy machine, hence 4 s.
  const { ms, value, error } = timed(() => parseInventory(text, FILE, { HOME }));
  t.is(error, undefined);
  t.is(value?.hosts.length, 8000);
  t.regex(value!.hosts[7999]!.pos!.lineText!, /^\.\.\..*h7999: \{address: 10\.0\.0\.1, identity_passphrase: \*\*\*\}\}$/);
  t.true(ms < 4000, `${Math.round(ms)} ms`);
});

test('all problems are reported together, in file order, with a caret under each', (t) => {
  const text = yaml(
    'hosts:',
    '  dash1: { address: 10.0.0.11, port: 0 }',
    '  dash2: { adress: x }',
    'rollout: { serial: 0, max_fail: x }',
  );
  let thrown: unknown;
  try {
    parseInventory(text, 'inv.yaml', { HOME });
  } catch (err) {
    thrown = err;
  }
  t.true(thrown instanceof ConfigErrors);
  const errors = (thrown as ConfigErrors).errors;
  t.deepEqual(errors.map(at), ['2:38', '3:12', '4:20', '4:33']);
  t.true(errors.every((e) => e instanceof ConfigError && e.exitCode === 5));
  t.is(
    errors[0]?.format(),
    [
      'inv.yaml:2:38: hosts.dash1.port must be an integer between 1 and 65535, got 0',
      '     2 |   dash1: { address: 10.0.0.11, port: 0 }',
      '       |                                      ^',
    ].join('\n'),
  );
  t.true((thrown as ConfigErrors).message.includes("unknown key 'adress' in host 'dash2'"));
});

// ---------------------------------------------------------------------------------------------
// Secrets never reach a message
// ---------------------------------------------------------------------------------------------

const LEAKS: Array<{ name: string; lines: string[]; secret: string }> = [
  { name: 'literal of the wrong type', lines: [...H, 'session:', '  redis:', '    url: redis://r', '    password: 918273'], secret: '918273' },
  { name: 'literal in a list', lines: [...H, 'session:', '  redis:', '    url: redis://r', '    password: [hunter2]'], secret: 'hunter2' },
  { name: 'password in a URL', lines: [...H, 'session:', '  redis: { url: "redis://admin:hunter2@r:6379" }'], secret: 'hunter2' },
  { name: 'password in a proxy URL', lines: [...H, 'install: { proxy: "ftp://u:hunter2@proxy" }'], secret: 'hunter2' },
  { name: 'password in a URL query', lines: [...H, 'session:', '  redis: { url: "http://r:6379/0?password=hunter2" }'], secret: 'hunter2' },
  { name: 'misspelt secret key', lines: [...H, 'session:', '  redis:', '    url: redis://r', '    pasword: hunter2'], secret: 'hunter2' },
  { name: 'secret key in the wrong place', lines: ['hosts:', '  dash1: { address: 10.0.0.11, password: "hunter2, really" }'], secret: 'hunter2' },
  {
    name: 'passphrase of the wrong type through an alias',
    lines: ['x-pw: &pw 918273', 'hosts:', '  dash1: { address: 10.0.0.11, identity_passphrase: *pw }'],
    secret: '918273',
  },
  { name: 'a secret value holding what looks like another secret key', lines: ['hosts:', '  dash1: { address: 10.0.0.11, password: "hunter2, pass: x" }'], secret: 'hunter2' },
  // A value over several lines: the line of the error may not look like a secret at all.
  {
    name: 'a double-quoted secret over two lines, the error on the second',
    lines: ['hosts:', '  dash1:', '    address: 10.0.0.11', '    identity_passphrase: "hunter2', '      second-secret \\q"'],
    secret: 'second-secret',
  },
  {
    name: 'the same in a flow mapping',
    lines: ['hosts:', '  dash1: { address: 10.0.0.11, identity_passphrase: "hunter2', '      second-secret \\q" }'],
    secret: 'second-secret',
  },
  {
    name: 'a block scalar secret with a line the parser ends it before',
    lines: ['hosts:', '  dash1:', '    address: 10.0.0.11', '    identity_passphrase: |', '      block-secret', '     \tsecond-secret'],
    secret: 'second-secret',
  },
  {
    name: 'an unclosed quote whose next line starts with a tab',
    lines: ['hosts:', '  dash1:', '    address: 10.0.0.11', '    identity_passphrase: "hunter2', '\tsecond-secret"', '    port: 22'],
    secret: 'second-secret',
  },
  // yaml's own messages quote some source: a block scalar header, a tag.
  { name: 'a secret in a block scalar header', lines: [...H, 'session:', '  redis:', '    password: |hunter2'], secret: 'hunter2' },
  { name: 'a secret read as a tag', lines: ['hosts:', '  dash1: { address: 10.0.0.11, identity_passphrase: !hunter2 x }'], secret: 'hunter2' },
  { name: 'syntax error on a secret line', lines: ['hosts:', '  dash1:', '    identity_passphrase: "hunter2', '    address: x'], secret: 'hunter2' },
  {
    name: 'sentinel password next to another error',
    lines: [...H, 'session:', '  redis: { url: "redis://r", sentinel: { service: m, hosts: [], password: true, pass: hunter2 } }'],
    secret: 'hunter2',
  },
];

for (const c of LEAKS) {
  test(`never prints a secret: ${c.name}`, (t) => {
    const errors = problems(yaml(...c.lines));
    t.true(errors.length > 0);
    const shown = new ConfigErrors(errors).message;
    t.false(shown.includes(c.secret), shown);
  });
}

test('a masked line keeps the caret under the right value', (t) => {
  const [err] = problems(yaml(...H, 'session:', '  redis: { password: hunter2, url: "redis://r", tls_ca: 7 }'));
  t.is(err?.pos?.lineText, '  redis: { password: ***, url: "redis://r", tls_ca: 7 }');
  const [, line, caret] = err?.format().split('\n') ?? [];
  t.is(caret?.indexOf('^'), line?.indexOf('7'));
});

test('a long line is cut to a window around the caret, secrets still masked; file:line:col stays the real column', (t) => {
  const line = `  dash1: { address: 10.0.0.11, user: ${'u'.repeat(1000)}, bogus: 1, identity_passphrase: ${'p'.repeat(200)} }`;
  const [err] = problems(yaml('hosts:', line));
  t.is(err?.message, "unknown key 'bogus' in host 'dash1'");
  t.is(at(err!), `2:${line.indexOf('bogus') + 1}`);
  const [first, shown, caret] = err!.format().split('\n');
  t.true(first!.startsWith(`${FILE}:2:${line.indexOf('bogus') + 1}: `), first);
  t.regex(shown!, /^ +2 \| \.\.\.u+, bogus: 1, identity_passphrase: \*\*\*\.\.\.$/, 'a secret cut by the window is masked too');
  t.true(shown!.length < 200, shown);
  t.is(caret!.indexOf('^'), shown!.indexOf('bogus'));
});

// Each took 19-40 s: regexes that retried from every position of a long run (keys, URL userinfo,
// query parameters, comment detection) and a value scan restarted for every key on the line.
const LONG_LINES: Array<[string, string]> = [
  ['an 80 KB flow-style host line', `hosts: { dash1: { address: 10.0.0.11, user: ${'a'.repeat(80_000)}, bogus: 1 } }`],
  ['an 80 KB would-be URL', `hosts: { dash1: { address: 10.0.0.11 } }\ninstall: { proxy: "${'a1'.repeat(40_000)}" }`],
  ['an 80 KB query string of pass', `hosts: { dash1: { address: 10.0.0.11 } }\ninstall: { proxy: "?${'pass'.repeat(20_000)}" }`],
  ['a secret key then 80 KB of blanks', `hosts:\n  dash1:\n    address: 10.0.0.11\n    pasword: x${' '.repeat(80_000)}y`],
  ['secret-looking keys repeated inside one value', `hosts: { dash1: { address: 10.0.0.11, x: '${'password: a '.repeat(6_000)}' } }`],
  ['a 20,000-character key', `hosts: { dash1: { address: 10.0.0.11, ${'k'.repeat(20_000)}: 1 } }`],
  ['an 80 KB stray token, which yaml quotes in its message', `hosts: { dash1: { address: 10.0.0.11 } }\n] ${'s'.repeat(80_000)}\n`],
];

for (const [name, text] of LONG_LINES) {
  test.serial(`reported in well under a second: ${name}`, (t) => {
    const { ms, error } = timed(() => parseInventory(text, FILE, { HOME }));
    t.true(error instanceof ConfigErrors, String(error));
    t.true(ms < 2000, `${Math.round(ms)} ms`);
    for (const e of (error as ConfigErrors).errors) t.true(e.format().length < 1000, e.format().slice(0, 300));
  });
}

// ---------------------------------------------------------------------------------------------
// Aliases, merge keys and nesting: bounded work, refused with a position
// ---------------------------------------------------------------------------------------------

/** `levels` anchors, each merging the one before `fanout` times; a host merges the last. */
function mergeBomb(levels: number, fanout: number): string {
  const lines = ['x-a0: &a0 { user: kolla }'];
  for (let i = 1; i <= levels; i++) lines.push(`x-a${i}: &a${i} { <<: [${Array(fanout).fill(`*a${i - 1}`).join(', ')}] }`);
  return yaml(...lines, 'hosts:', '  dash1:', `    <<: *a${levels}`, '    address: 10.0.0.11');
}

test.serial('a 600-byte merge-key bomb is refused in well under a second, at the merge key that sets it off', (t) => {
  const text = mergeBomb(7, 10);
  t.true(text.length < 700);
  // Before: every merge expanded its sources afresh, 10x the time per level (19 s for this file).
  const { ms, error } = timed(() => parseInventory(text, FILE, { HOME }));
  t.true(ms < 2000, `${Math.round(ms)} ms`);
  t.true(error instanceof ConfigErrors, String(error));
  const [err] = (error as ConfigErrors).errors;
  t.regex(err!.message, /^aliases and merge keys \(<<\) here expand to more than 50000 keys beyond those written: refused/);
  t.is(at(err!), '11:5');
});

test('merge keys nested past 32 levels are refused with a position, not a stack overflow', (t) => {
  const lines = ['x-a0: &a0 { user: kolla }'];
  for (let i = 1; i <= 3000; i++) lines.push(`x-a${i}: &a${i} { <<: *a${i - 1} }`);
  const errors = problems(yaml(...lines, 'hosts:', '  dash1: { <<: *a3000, address: 10.0.0.11 }'));
  t.deepEqual(
    errors.map((e) => [e.message, at(e)]),
    [["merge keys (<<) nest more than 32 deep in host 'dash1'", '3003:12']],
  );
});

test.serial('fifty thousand aliases are resolved in a few seconds of CPU at most (each walked the whole document before: over 20 s)', (t) => {
  const text = yaml('x-s: &s "10.0.0.60:11211"', ...H, 'session:', `  memcached: { servers: [${Array(50_000).fill('*s').join(', ')}] }`);
  // Before: each alias walked the whole document to find its anchor.
  const { ms, value, error } = timed(() => parseInventory(text, FILE, { HOME }));
  t.is(error, undefined);
  t.is(value?.session.memcached?.servers.length, 50_000);
  t.true(ms < 4000, `${Math.round(ms)} ms of CPU`);
});

test('nesting too deep for the YAML parser is a ConfigError at 1:1, not a RangeError', (t) => {
  for (const text of [`hosts: { dash1: { address: 10.0.0.11, x: [${'password: "a '.repeat(6_000)}] } }`, `hosts: ${'['.repeat(100_000)}`]) {
    const errors = problems(text);
    t.true(errors.length > 0);
    t.true(errors.every((e) => e.exitCode === 5));
  }
  t.deepEqual(problems(`hosts: { dash1: { address: 10.0.0.11, x: [${'password: "a '.repeat(6_000)}] } }`).map((e) => [e.message, at(e)]), [['invalid YAML: nested too deeply to read', '1:1']]);
});

test('secret-looking keys', (t) => {
  for (const k of ['password', 'identity_passphrase', 'pasword', 'db_passwd', 'api_token', 'Password', 'pass', 'pw']) t.true(isSecretKey(k), k);
  for (const k of ['password_env', 'password_file', 'address', 'user', 'proxy_jump']) t.false(isSecretKey(k), k);
});

// ---------------------------------------------------------------------------------------------
// selectHosts
// ---------------------------------------------------------------------------------------------

const fleet: Inventory = parse(
  'hosts:',
  '  dash1: { address: 10.0.0.11 }',
  '  dash2: { address: 10.0.0.12 }',
  '  dash10: { address: 10.0.0.20 }',
  '  web-a: { address: 10.0.0.30 }',
  '  bastion: { address: 10.0.0.1, role: jump }',
);
const names = (hosts: HostConfig[]) => hosts.map((h) => h.name);

test('selectHosts: no limit is every Dashboard host, never a jump host', (t) => {
  t.deepEqual(names(selectHosts(fleet)), ['dash1', 'dash2', 'dash10', 'web-a']);
});

test('selectHosts: names and globs, comma-separated, in inventory order, once each', (t) => {
  t.deepEqual(names(selectHosts(fleet, 'web-a, dash1')), ['dash1', 'web-a']);
  t.deepEqual(names(selectHosts(fleet, 'dash?')), ['dash1', 'dash2']);
  t.deepEqual(names(selectHosts(fleet, 'dash*,dash1')), ['dash1', 'dash2', 'dash10']);
  t.deepEqual(names(selectHosts(fleet, '*-?')), ['web-a']);
});

test('selectHosts: patterns matching nothing are named; jump hosts are not selectable', (t) => {
  const err = t.throws(() => selectHosts(fleet, 'dash1,db*,bastion'), { instanceOf: ConfigError });
  t.is(
    err?.message,
    "--limit 'db*', 'bastion' (only jump hosts: bastion) match no Dashboard host; Dashboard hosts are: dash1, dash2, dash10, web-a",
  );
  t.throws(() => selectHosts(fleet, ' , '), { instanceOf: ConfigError, message: /--limit is empty/ });
  t.throws(() => selectHosts(fleet, 'dash[3-9]'), { instanceOf: ConfigError, message: /'dash\[3-9\]' matches no Dashboard host/ });
});

// ---------------------------------------------------------------------------------------------
// resolveSecret
// ---------------------------------------------------------------------------------------------

test('resolveSecret: literal and environment variable', async (t) => {
  t.is(await resolveSecret({ kind: 'literal', value: 'lit' }, 'x'), 'lit');
  process.env.SESSIONCTL_TEST_SECRET = 'from-env';
  process.env.SESSIONCTL_TEST_EMPTY = '';
  delete process.env.SESSIONCTL_TEST_UNSET;
  t.is(await resolveSecret({ kind: 'env', name: 'SESSIONCTL_TEST_SECRET' }, 'x'), 'from-env');
  await t.throwsAsync(resolveSecret({ kind: 'env', name: 'SESSIONCTL_TEST_UNSET' }, 'session.redis.password'), {
    instanceOf: ConfigError,
    message: 'session.redis.password: environment variable SESSIONCTL_TEST_UNSET is not set',
  });
  await t.throwsAsync(resolveSecret({ kind: 'env', name: 'SESSIONCTL_TEST_EMPTY' }, 'x'), { instanceOf: ConfigError, message: /is empty/ });
});

test.serial('resolveSecret: a secret file that is a FIFO or a device is refused at once; a run of newlines is no slower than the file', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sessionctl-secret-'));
  const fifo = path.join(dir, 'pw');
  execFileSync('mkfifo', [fifo]);
  await t.throwsAsync(within(2000, resolveSecret({ kind: 'file', path: fifo }, 'session.redis.password')), {
    instanceOf: ConfigError,
    message: `session.redis.password: secret file ${fifo} is a FIFO (named pipe), not a regular file`,
  });
  await t.throwsAsync(within(2000, resolveSecret({ kind: 'file', path: '/dev/zero' }, 'x')), { instanceOf: ConfigError, message: /character device/ });
  // Trailing newlines were stripped by a regex that backtracked over every newline run: 15 s for this file.
  const lines = path.join(dir, 'lines');
  writeFileSync(lines, `${'\n'.repeat(60_000)}x\r\n\n`);
  const cpu = cpuClock();
  await t.throwsAsync(resolveSecret({ kind: 'file', path: lines }, 'x'), { instanceOf: ConfigError, message: /holds 60001 characters, more than the limit/ });
  t.true(cpu() < 2000, `${cpu()} ms of CPU`);
});

test('resolveSecret: file, trailing newlines dropped; missing or empty file is an error', async (t) => {
  t.is(await resolveSecret({ kind: 'file', path: path.join(FIXTURES, 'secret.txt') }, 'x'), 's3cret-from-file');
  const missing = path.join(FIXTURES, 'no-such-secret');
  await t.throwsAsync(resolveSecret({ kind: 'file', path: missing }, 'hosts.dash1.identity_passphrase'), {
    instanceOf: ConfigError,
    message: `hosts.dash1.identity_passphrase: secret file ${missing} does not exist`,
  });
  await t.throwsAsync(resolveSecret({ kind: 'file', path: path.join(FIXTURES, 'secret-empty.txt') }, 'x'), {
    instanceOf: ConfigError,
    message: /is empty/,
  });
});

test("install URLs: a '%' in the user info that is not an escape is reported at the value with its position in the URL; the line shows no credentials", (t) => {
  const [index, proxy, ...rest] = problems(
    yaml(...H, 'install:', '  index_url: "https://user:p%zzsecret@mirror.example/simple"', '  proxy: "http://%E2%28tok@proxy.example:3128"'),
  );
  t.is(rest.length, 0);
  t.is(at(index!), '4:14');
  t.regex(index!.message, /^install\.index_url has a '%' that is not a %XX escape at character 15 \(write a % in a user name or password as %25\)$/);
  t.false(index!.format().includes('zzsecret'), index!.format());
  t.is(at(proxy!), '5:10');
  t.regex(proxy!.message, /^install\.proxy has %XX escapes that are not UTF-8 at character 8/);
  t.false(proxy!.format().includes('tok'), proxy!.format());
});
