import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readCa, resolveDesired, securityBlock } from '../../../src/backends/desired.js';
import { parseInventory } from '../../../src/inventory/load.js';
import { renderBlock } from '../../../src/settings/block.js';
import { COOKIE_WARNING } from '../../../src/backends/cookie.js';
import { ConfigError } from '../../../src/errors.js';
import { masker } from '../../../src/util/secret.js';
import { cpuClock, within } from '../timing.js';

const inv = (...lines: string[]) => parseInventory(['hosts:', '  dash1: { address: 10.0.0.1 }', ...lines].join('\n') + '\n', 'inv.yaml', { HOME: '/home/op' });

test('session.security maps to Django/Horizon settings in a fixed order', (t) => {
  t.deepEqual(
    securityBlock({ csrfCookieSecure: true, timeout: 1800, cookieSamesite: 'Strict', refresh: false, cookieSecure: true, cookieHttponly: true }),
    [
      ['SESSION_TIMEOUT', 1800],
      ['SESSION_REFRESH', false],
      ['SESSION_COOKIE_SECURE', true],
      ['SESSION_COOKIE_HTTPONLY', true],
      ['SESSION_COOKIE_SAMESITE', 'Strict'],
      ['CSRF_COOKIE_SECURE', true],
    ],
  );
  t.deepEqual(securityBlock(undefined), []);
});

test('security settings join the managed block and are owned by it', async (t) => {
  const d = await resolveDesired(inv('session:', '  memcached: { servers: ["10.0.0.5:11211"] }', '  security: { timeout: 900, cookie_samesite: false }'), { backend: 'memcached' });
  t.deepEqual(d.owned, ['SESSION_ENGINE', 'CACHES', 'SESSION_TIMEOUT', 'SESSION_COOKIE_SAMESITE']);
  const text = renderBlock(d.security, 'x');
  t.regex(text, /^SESSION_TIMEOUT = 900$/m);
  t.regex(text, /^SESSION_COOKIE_SAMESITE = False$/m);
});

test('cookie sessions are refused without --allow-insecure-cookie-sessions, and warned about with it', async (t) => {
  await t.throwsAsync(resolveDesired(inv(), { backend: 'cookie' }), { message: /refusing signed-cookie sessions without --allow-insecure-cookie-sessions/ });
  const d = await resolveDesired(inv(), { backend: 'cookie', allowInsecureCookieSessions: true });
  t.true(d.warnings.includes(COOKIE_WARNING));
  t.deepEqual(d.owned, ['SESSION_ENGINE'], 'a cookie switch leaves CACHES alone');
});

test('missing inputs name the flag or the inventory key to set', async (t) => {
  await t.throwsAsync(resolveDesired(inv(), {}), { message: /pass --backend .* or set session\.backend/ });
  await t.throwsAsync(resolveDesired(inv(), { backend: 'redis' }), { message: /pass --redis-url or set session\.redis\.url/ });
  await t.throwsAsync(resolveDesired(inv(), { backend: 'memcached' }), { message: /--memcached-servers .* or set session\.memcached\.servers/ });
  await t.throwsAsync(resolveDesired(inv(), { backend: 'mongo' }), { message: /--backend must be one of/ });
});

const hostileServers = ["10.0.0.1:11211'", '10.0.0.1:11211\n__import__("os").system("id")', 'a b:1', '[::1:11211', 'host:99999'];
for (const servers of hostileServers) {
  test(`a hostile memcached server (${JSON.stringify(servers)}) is rejected`, async (t) => {
    await t.throwsAsync(resolveDesired(inv(), { backend: 'memcached', memcachedServers: servers }), { message: /is not host:port/ });
  });
}

test('a hostile Redis URL path stays data: the rendered block evaluates to the same string', async (t) => {
  const url = "redis://10.0.0.1:6379/0?x=');__import__('os').system('id')#";
  const d = await resolveDesired(inv(), { backend: 'redis', redisUrl: url });
  const block = d.target.settingsFor('4.2', {}).block;
  const out = execFileSync('python3', ['-c', 'import sys, json; ns = {}; exec(sys.stdin.read(), ns); print(json.dumps(ns["CACHES"]["default"]["LOCATION"]))'], {
    input: renderBlock(block, 'test'),
  }).toString();
  t.is(JSON.parse(out), url);
});

test('without kolla.deploy_host the plan warns that a reconfigure undoes the switch; with it, not', async (t) => {
  const without = await resolveDesired(inv('session:', '  memcached: { servers: ["10.0.0.5:11211"] }'), { backend: 'memcached' });
  t.true(without.warnings.some((w) => w.includes('kolla-ansible reconfigure')));
  const withDeploy = await resolveDesired(
    parseInventory(['hosts:', '  dash1: { address: 10.0.0.1 }', '  deploy: { address: 10.0.0.9, role: jump }', 'kolla: { deploy_host: deploy }', 'session:', '  memcached: { servers: ["10.0.0.5:11211"] }'].join('\n') + '\n', 'inv.yaml', { HOME: '/h' }),
    { backend: 'memcached' },
  );
  t.false(withDeploy.warnings.some((w) => w.includes('kolla-ansible reconfigure')));
});

test('carrying the sessions: on by default, session.carry turns it off, a flag overrides the inventory', async (t) => {
  const mc = ['session:', '  memcached: { servers: ["10.0.0.5:11211"] }'];
  t.true((await resolveDesired(inv(...mc), { backend: 'memcached' })).carry);
  t.false((await resolveDesired(inv(...mc), { backend: 'memcached', carrySessions: false })).carry);
  t.false((await resolveDesired(inv(...mc, '  carry: false'), { backend: 'memcached' })).carry);
  t.true((await resolveDesired(inv(...mc, '  carry: false'), { backend: 'memcached', carrySessions: true })).carry);
});

test('tls_ca: only the PEM certificates of a regular file go into the settings; anything else is refused with the path', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sessionctl-ca-'));
  const cert = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----';
  writeFileSync(path.join(dir, 'bundle.pem'), `# comment\n${cert}\n-----BEGIN PRIVATE KEY-----\nsecret\n-----END PRIVATE KEY-----\n${cert}\n`);
  t.is(await readCa(path.join(dir, 'bundle.pem')), `${cert}\n${cert}\n`, 'a private key beside the CA is never copied into the settings');
  writeFileSync(path.join(dir, 'key.pem'), '-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n');
  await t.throwsAsync(readCa(path.join(dir, 'key.pem')), { message: /tls_ca: .*key\.pem holds no PEM certificate/ });
  await t.throwsAsync(readCa(dir), { message: /is a directory, not a regular file/ });
  execFileSync('mkfifo', [path.join(dir, 'fifo')]);
  await t.throwsAsync(readCa(path.join(dir, 'fifo')), { message: /is a FIFO \(named pipe\), not a regular file/ }, 'a FIFO is refused, not read (it would hang)');
  await t.throwsAsync(readCa(path.join(dir, 'absent.pem')), { message: /the CA file .*absent\.pem does not exist/ });
  writeFileSync(path.join(dir, 'huge.pem'), Buffer.alloc(2 << 20));
  await t.throwsAsync(readCa(path.join(dir, 'huge.pem')), { message: /huge\.pem is 2097152 bytes, more than the limit of 1 MiB/ });
});

test.serial('tls_ca: a file of BEGIN lines without an END is refused in linear time (a lazy regex took 27 s)', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sessionctl-ca-'));
  writeFileSync(path.join(dir, 'begins.pem'), '-----BEGIN CERTIFICATE-----\n'.repeat(37_000));
  const cpu = cpuClock();
  await t.throwsAsync(readCa(path.join(dir, 'begins.pem')), { message: /holds no PEM certificate/ });
  t.true(cpu() < 2000, `${cpu()} ms of CPU`);
});

test('wheelhouse: a wheel that is a FIFO, a missing or empty wheelhouse is refused before any host is touched (exit 5)', async (t) => {
  const memcached = { backend: 'memcached', memcachedServers: '10.0.0.60:11211', installMethod: 'wheelhouse' } as const;
  const dir = mkdtempSync(path.join(tmpdir(), 'sessionctl-wheels-'));
  writeFileSync(path.join(dir, 'pymemcache-4.0.0-py3-none-any.whl'), 'PK');
  t.is((await resolveDesired(inv(), { ...memcached, wheelhouse: dir })).install.wheelhouse, dir);
  const fifo = path.join(dir, 'evil-1.0-py3-none-any.whl');
  execFileSync('mkfifo', [fifo]);
  // Before: accepted here; the install step then hung reading it, half-way through the run.
  await t.throwsAsync(within(2000, resolveDesired(inv(), { ...memcached, wheelhouse: dir })), {
    instanceOf: ConfigError,
    message: `the wheelhouse file ${fifo} is a FIFO (named pipe), not a regular file`,
  });
  const empty = mkdtempSync(path.join(tmpdir(), 'sessionctl-wheels-'));
  await t.throwsAsync(resolveDesired(inv(), { ...memcached, wheelhouse: empty }), { instanceOf: ConfigError, message: `no .whl files in the wheelhouse ${empty}` });
  await t.throwsAsync(resolveDesired(inv(), { ...memcached, wheelhouse: path.join(empty, 'absent') }), { instanceOf: ConfigError, message: /^the wheelhouse .*absent does not exist$/ });
});

test('rediss:// with tls_ca: the settings carry the CA text, not the local path', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sessionctl-ca-'));
  const cert = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----';
  writeFileSync(path.join(dir, 'ca.pem'), cert);
  const desired = await resolveDesired(inv('session:', '  backend: redis', `  redis: { url: "rediss://r.example:6380/0", tls_ca: ${path.join(dir, 'ca.pem')} }`), {});
  const text = renderBlock(desired.target.settingsFor('4.2', {}).block, 'test');
  t.notRegex(text, /ca\.pem/);
  const out = execFileSync('python3', ['-c', 'import sys, json; ns = {}; exec(sys.stdin.read(), ns); print(json.dumps(ns["CACHES"]["default"]["OPTIONS"]["CONNECTION_POOL_KWARGS"]))'], { input: text }).toString();
  t.deepEqual(JSON.parse(out), { ssl_cert_reqs: 'required', ssl_check_hostname: true, ssl_ca_data: `${cert}\n` }, 'what Python reads from the file');
});

test('install URLs: the secret of the user info is masked, a token alone in the user part too; a user name beside a password is not', async (t) => {
  const cases: [url: string, key: 'index_url' | 'proxy', shown: string][] = [
    ['https://tok3n-only-user@mirror.example/simple', 'index_url', 'https://***@mirror.example/simple'],
    ['https://mirroruser:mirr0r-pass@mirror.example/simple', 'index_url', 'https://mirroruser:***@mirror.example/simple'],
    ['http://pr0xy-t0ken@proxy.example:3128', 'proxy', 'http://***@proxy.example:3128'],
    ['https://t%C3%B6ken-encoded@mirror.example/simple', 'index_url', 'https://***@mirror.example/simple'],
  ];
  for (const [url, key, shown] of cases) {
    await resolveDesired(inv('session:', '  memcached: { servers: ["10.0.0.5:11211"] }', `install: { ${key}: "${url}" }`), { backend: 'memcached' });
    t.is(masker.mask(`pip failed for ${url}`), `pip failed for ${shown}`, url);
  }
});

test("a '%' that is not an escape in an install URL's user info is a config error (exit 5) naming the key and the position, not a crash", async (t) => {
  const cases: [key: 'indexUrl' | 'proxy', url: string, message: string][] = [
    ['indexUrl', 'https://user:p%zz@mirror.example/simple', "install.index_url has a '%' that is not a %XX escape at character 15"],
    ['proxy', 'http://t%o@proxy.example:3128', "install.proxy has a '%' that is not a %XX escape at character 9"],
    ['indexUrl', 'https://u:%ff%fe@mirror.example/simple', 'install.index_url has %XX escapes that are not UTF-8 at character 11'],
  ];
  for (const [key, url, message] of cases) {
    // The loader refuses these already; resolveDesired holds for an inventory made another way too.
    const i = inv('session:', '  memcached: { servers: ["10.0.0.5:11211"] }');
    i.install[key] = url;
    const err = await t.throwsAsync(resolveDesired(i, { backend: 'memcached' }), { instanceOf: ConfigError });
    t.is(err?.exitCode, 5);
    t.true(err?.message.startsWith(message), err?.message);
  }
});
