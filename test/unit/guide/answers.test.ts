import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { answerProblem, inventoryText, requiredEnv, unattendedCommand, type Answers } from '../../../src/guide/answers.js';
import { loadInventory, parseInventory } from '../../../src/inventory/load.js';
import { resolveDesired } from '../../../src/backends/desired.js';

const SECRET = 's3cr3t-never-written';

const built: Answers = {
  access: { user: 'kolla', identity: '/home/op/.ssh/id_ed25519', knownHosts: '/home/op/.ssh/known_hosts', become: true },
  hosts: [
    { name: 'bastion', address: '203.0.113.5', port: 22, role: 'jump' },
    { name: 'dash1', address: '10.0.0.11', port: 22, role: 'dashboard', proxyJump: 'bastion' },
    { name: 'dash2', address: '2001:db8::12', port: 2222, role: 'dashboard', proxyJump: 'bastion' },
  ],
  backend: 'redis',
  redis: { url: 'redis://10.0.0.50:6379/0', password: { env: 'HORIZON_REDIS_PASSWORD' } },
  security: { timeout: 1800, refresh: true, cookieSecure: true, cookieHttponly: true, cookieSamesite: 'Lax', csrfCookieSecure: false },
  install: { method: 'wheelhouse', wheelhouse: '/srv/wheels' },
};

/** Write the text where the real loader reads it from, as an operator's file. */
async function load(text: string) {
  const file = join(mkdtempSync(join(tmpdir(), 'guide-')), 'saved.yaml');
  writeFileSync(file, text);
  return loadInventory(file);
}

test('built answers -> an inventory the real loader accepts, with every answer in it', async (t) => {
  const inv = await load(inventoryText(built, 'saved.yaml'));
  t.deepEqual(
    inv.hosts.map((h) => [h.name, h.address, h.port, h.user, h.identity, h.knownHosts, h.become, h.role, h.proxyJump]),
    [
      ['bastion', '203.0.113.5', 22, 'kolla', '/home/op/.ssh/id_ed25519', '/home/op/.ssh/known_hosts', true, 'jump', undefined],
      ['dash1', '10.0.0.11', 22, 'kolla', '/home/op/.ssh/id_ed25519', '/home/op/.ssh/known_hosts', true, 'dashboard', 'bastion'],
      ['dash2', '2001:db8::12', 2222, 'kolla', '/home/op/.ssh/id_ed25519', '/home/op/.ssh/known_hosts', true, 'dashboard', 'bastion'],
    ],
  );
  t.deepEqual(inv.session, {
    backend: 'redis',
    redis: { url: 'redis://10.0.0.50:6379/0', password: { kind: 'env', name: 'HORIZON_REDIS_PASSWORD' } },
    security: built.security,
  });
  t.is(inv.install.method, 'wheelhouse');
  t.is(inv.install.wheelhouse, '/srv/wheels');
});

test('the saved inventory says how to repeat the run and which variables to set', (t) => {
  const text = inventoryText(built, '/ops/saved inv.yaml');
  t.regex(text, /^# {3}sessionctl apply -i '\/ops\/saved inv\.yaml' --yes$/m);
  t.regex(text, /^# Set HORIZON_REDIS_PASSWORD in the environment first\.$/m);
  t.regex(text, /^ {2}backend: redis # memcached \| redis \| database \| cookie$/m);
});

test('a password typed in the guided mode never reaches the inventory: only its variable or file', async (t) => {
  process.env.GUIDE_TEST_PW = SECRET;
  const a: Answers = { ...built, redis: { url: 'redis://10.0.0.50:6379/0', password: { env: 'GUIDE_TEST_PW' }, sentinel: { service: 'mymaster', hosts: ['10.0.0.51:26379', '[2001:db8::53]:26379'], password: { file: '/run/secrets/sentinel' } } } };
  const text = inventoryText(a);
  t.false(text.includes(SECRET));
  t.notRegex(text, /^\s*password:/m, 'no literal password key');
  t.regex(text, /password_env: GUIDE_TEST_PW/);
  t.regex(text, /password_file: \/run\/secrets\/sentinel/);
  // The run resolves the reference from the environment, as an unattended run would.
  const inv = parseInventory(text, '<guided>');
  t.is(inv.session.redis?.sentinel?.hosts.length, 2);
  const plain = { ...inv, session: { ...inv.session, redis: { ...inv.session.redis!, sentinel: undefined } } };
  // pip: the answers' wheelhouse (/srv/wheels) does not exist here, and a run checks it first.
  await t.notThrowsAsync(resolveDesired(plain, { installMethod: 'pip' }));
  delete process.env.GUIDE_TEST_PW;
  await t.throwsAsync(resolveDesired(plain, { installMethod: 'pip' }), { message: /GUIDE_TEST_PW is not set/ });
});

test('each backend writes only its own section', (t) => {
  const base = { access: built.access!, hosts: built.hosts! };
  const mem = parseInventory(inventoryText({ ...base, backend: 'memcached', memcached: { servers: ['10.0.0.60:11211', '[2001:db8::61]:11211'] } }), '<guided>');
  t.deepEqual(mem.session, { backend: 'memcached', memcached: { servers: ['10.0.0.60:11211', '[2001:db8::61]:11211'] } });
  const db = parseInventory(
    inventoryText({ ...base, backend: 'database', database: { engine: 'postgresql', host: '10.0.0.70', port: 5433, name: 'horizon', user: 'horizon', password: { env: 'DB_PW' }, sessionEngine: 'cached_db' } }),
    '<guided>',
  );
  t.deepEqual(db.session.database, { engine: 'postgresql', host: '10.0.0.70', port: 5433, name: 'horizon', user: 'horizon', password: { kind: 'env', name: 'DB_PW' }, sessionEngine: 'cached_db' });
  const cookie = { ...base, backend: 'cookie' as const, allowInsecureCookieSessions: true };
  t.deepEqual(parseInventory(inventoryText(cookie), '<guided>').session, { backend: 'cookie' });
  t.is(unattendedCommand('inv.yaml', cookie), "sessionctl apply -i inv.yaml --yes --allow-insecure-cookie-sessions");
  t.deepEqual(requiredEnv({ backend: 'database', database: { engine: 'mysql', host: 'db', name: 'h', user: 'h', password: { env: 'DB_PW' }, sessionEngine: 'db' } }), ['DB_PW']);
});

test('a picked inventory keeps its hosts, comments and other sections; only session keys change', async (t) => {
  const mine = [
    '# my fleet',
    'defaults: { user: root, identity: ~/.ssh/id_ed25519 }',
    'hosts:',
    '  dash1: { address: 10.0.0.11 }   # rack 4',
    'session:',
    '  backend: memcached',
    '  memcached: { servers: ["10.0.0.60:11211"] }',
    'install: { method: distro }',
    '',
  ].join('\n');
  const text = inventoryText({ base: { file: '/ops/inventory.yaml', text: mine }, backend: 'redis', redis: { url: 'rediss://redis.example.org:6380/1', password: { file: 'redis.pass' } } });
  t.regex(text, /^# my fleet$/m);
  t.regex(text, /# rack 4$/m);
  const inv = await load(text);
  t.is(inv.session.backend, 'redis');
  t.is(inv.session.redis?.url, 'rediss://redis.example.org:6380/1');
  t.deepEqual(inv.session.memcached, { servers: ['10.0.0.60:11211'] }, 'the other backend stays, unused');
  t.is(inv.install.method, 'distro');
  t.is(unattendedCommand('/ops/inventory-redis.yaml', { backend: 'redis' }), 'sessionctl apply -i /ops/inventory-redis.yaml --yes');
});

test('without a backend yet (hosts still being entered) the inventory has no session', (t) => {
  const inv = parseInventory(inventoryText({ access: built.access!, hosts: built.hosts! }), '<guided>');
  t.deepEqual(inv.session, {});
  t.is(inv.hosts.length, 3);
});

// Each answer is checked by the inventory's own schema, with the key it will have in the file.
const answers: [string, unknown, RegExp | undefined][] = [
  ['session.redis.url', 'redis://10.0.0.50:6379/0', undefined],
  ['session.redis.url', 'unix:///run/redis/redis.sock', undefined],
  ['session.redis.url', 'http://10.0.0.50:6379/0', /session\.redis\.url must be a URL starting with redis:\/\/, rediss:\/\/, unix:\/\//],
  ['session.redis.url', 'redis//10.0.0.50', /must be a URL/],
  ['session.redis.url', 'redis://:hunter2@10.0.0.50/0', /must not contain a password/],
  ['session.memcached.servers', ['10.0.0.60:11211'], undefined],
  ['session.memcached.servers', ['10.0.0.60:11211', '10.0.0.61'], /servers\[1\] must be host:port/],
  ['session.memcached.servers', ['10.0.0.60:99999'], /must be host:port/],
  ['session.memcached.servers', [], /must not be empty/],
  ['hosts.dash1.port', 2222, undefined],
  ['hosts.dash1.port', 0, /hosts\.dash1\.port must be an integer between 1 and 65535/],
  ['hosts.dash1.port', 'ssh', /must be an integer/],
  ['hosts.dash1.address', '10.0.0.300', /must be a hostname or IP address/],
  ['hosts.dash 1.address', '10.0.0.1', /invalid host name 'dash 1'/],
  ['session.redis.password_env', 'REDIS PW', /environment variable name/],
  ['session.redis.password_env', 'HORIZON_REDIS_PASSWORD', undefined],
  ['session.database.password_file', '~/secrets/db.pass', undefined],
  ['session.security.timeout', -5, /timeout must be an integer/],
];
for (const [path, value, problem] of answers) {
  test(`answer ${path} = ${JSON.stringify(value)} ${problem ? 'is rejected' : 'is accepted'}`, (t) => {
    const got = answerProblem(path, value);
    if (problem) t.regex(got ?? '', problem);
    else t.is(got, undefined);
  });
}
