import test from 'ava';
import { buildStatus, sessionsSurvive, statusExitCode } from '../../../src/commands/status.js';
import type { HostFacts } from '../../../src/facts/gather.js';
import type { HostConfig } from '../../../src/inventory/types.js';
import { renderStatus } from '../../../src/report/status.js';
import { renderTable } from '../../../src/report/table.js';
import type { LibraryFact } from '../../../src/facts/libraries.js';
import { versioned } from '../../../src/report/json.js';
import { schemaProblems } from '../../schemas.js';

const host = (name: string): HostConfig => ({
  name, address: '10.0.0.1', port: 22, user: 'root', knownHosts: '/k', become: false, container: 'horizon', role: 'dashboard',
  layout: 'auto', configDir: '/etc/kolla/horizon', healthUrl: 'http://127.0.0.1/auth/login/', connectTimeout: 15, commandTimeout: 300,
});

const healthy = (name: string, secret: string, location = ['10.0.0.5:11211']): HostFacts => ({
  host: host(name),
  reachable: true,
  engineVia: 'api',
  container: { id: 'i', name: 'horizon', image: 'img', imageId: 's', state: 'running', health: 'healthy', created: '', startedAt: '', restartCount: 0, mounts: [] },
  layout: { layout: 'kolla-local-settings-d', configDir: '/etc/kolla/horizon', customFile: '/etc/kolla/horizon/_9999-custom-settings.py' },
  horizon: {
    python: '3.11.2', executable: '/usr/bin/python3', horizon: '23.0.0', managepy: null, kollaConfigFiles: [], settingsD: [],
    modules: { django_redis: null, pymysql: '1.0.2', psycopg2: null, pymemcache: '4.0.0' },
    settings: {
      django: '3.2.19', sessionEngine: 'django.contrib.sessions.backends.cache',
      cache: { backend: 'django.core.cache.backends.memcached.PyMemcacheCache', location, options: [] },
      database: null, security: {}, secretKeySha256: secret,
    },
  },
});

test('same SECRET_KEY and backend everywhere: no warning, exit 0', (t) => {
  const facts = [healthy('a', 'k1'), healthy('b', 'k1')];
  const report = buildStatus(facts);
  t.deepEqual(report.warnings, []);
  t.is(report.hosts[0]?.backend, 'memcached');
  t.is(report.hosts[0]?.imports?.mysql, 'pymysql 1.0.2');
  t.is(statusExitCode(facts), 0);
});

test('SECRET_KEY differing between hosts is warned about, naming the hosts', (t) => {
  const report = buildStatus([healthy('a', 'k1'), healthy('b', 'k2'), healthy('c', 'k1')]);
  t.true(report.warnings.some((w) => w.includes('SECRET_KEY differs') && w.includes('a,c: k1') && w.includes('b: k2')));
});

test('hosts on different memcached servers are warned about', (t) => {
  const report = buildStatus([healthy('a', 'k'), healthy('b', 'k', ['10.9.9.9:11211'])]);
  t.true(report.warnings.some((w) => w.includes('do not share one session backend')));
});

test('an unreachable host gives exit 4 even when another failed; a failed host alone gives 2', (t) => {
  const down: HostFacts = { host: host('x'), reachable: false, error: { kind: 'unreachable', message: 'connection refused' } };
  const broken: HostFacts = { host: host('y'), reachable: true, error: { kind: 'failed', message: "no container named 'horizon'" } };
  t.is(statusExitCode([healthy('a', 'k'), down, broken]), 4);
  t.is(statusExitCode([healthy('a', 'k'), broken]), 2);
  const text = renderStatus(buildStatus([healthy('a', 'k'), down]));
  t.regex(text, /x\s+UNREACHABLE/);
  t.regex(text, /Errors:\n {2}x: connection refused/);
});

test('renderTable aligns columns', (t) => {
  t.is(renderTable(['A', 'BB'], [['xxx', 'y'], ['z', 'w']]), 'A    BB\nxxx  y\nz    w');
});

const layerOnly = (name: string, origin: LibraryFact['origin']): HostFacts => {
  const f = healthy(name, 'k');
  f.horizon!.modules.django_redis = origin === 'missing' ? null : '5.4.0';
  f.horizon!.settings!.cache = { backend: 'django_redis.cache.RedisCache', location: 'redis://10.0.0.50:6379/0', options: [] };
  const lib = (module: string, o: LibraryFact['origin']): LibraryFact =>
    o === 'missing'
      ? { module, origin: o, version: null, path: null, dist: null, why: "ModuleNotFoundError: No module named 'django_redis'" }
      : { module, origin: o, version: '5.4.0', path: `/usr/local/lib/python3.11/dist-packages/${module}`, dist: { name: 'django-redis', version: '5.4.0' } };
  f.libraries = { django_redis: lib('django_redis', origin), pymemcache: lib('pymemcache', 'image') };
  return f;
};

test("the current backend's libraries: only what it imports, from the image or only the container's layer (warned), or missing (warned)", (t) => {
  const report = buildStatus([layerOnly('a', 'image'), layerOnly('b', 'container layer'), layerOnly('c', 'missing'), healthy('d', 'k')]);
  t.deepEqual(report.hosts.map((h) => h.libraries?.map((l) => `${l.module}: ${l.origin}`)), [['django_redis: image'], ['django_redis: container layer'], ['django_redis: missing'], undefined]);
  t.true(report.warnings.some((w) => /^b: django_redis 5\.4\.0 is only in the container's writable layer: recreating the container .* loses it/.test(w)));
  t.true(report.warnings.some((w) => /^c: the session backend needs django_redis, which does not import in the container \(ModuleNotFoundError/.test(w)));
  t.false(report.warnings.some((w) => w.startsWith('a: ')), 'a library baked into the image is no warning');
});

test('memcached sessions with libraries known: pymemcache is listed', (t) => {
  const f = healthy('a', 'k');
  f.libraries = { pymemcache: { module: 'pymemcache', origin: 'image', version: '4.0.0', path: '/x/pymemcache', dist: { name: 'pymemcache', version: '4.0.0' } } };
  t.deepEqual(buildStatus([f]).hosts[0]?.libraries?.map((l) => l.module), ['pymemcache']);
});

test('status table: a section per library says image, or container layer only (lost when the container is recreated)', (t) => {
  const text = renderStatus(buildStatus([layerOnly('a', 'image'), layerOnly('b', 'container layer'), layerOnly('c', 'missing')]));
  t.regex(text, /Session client libraries/);
  t.regex(text, /^ {2}a\s+django_redis\s+5\.4\.0\s+image$/m);
  t.regex(text, /^ {2}b\s+django_redis\s+5\.4\.0\s+container layer only \(lost when the container is recreated\)$/m);
  t.regex(text, /^ {2}c\s+django_redis\s+-\s+missing \(does not import\)$/m);
  t.notRegex(renderStatus(buildStatus([healthy('x', 'k')])), /Session client libraries/, 'no section without the fact');
});

test('status names the web server and the login page its health gate asks (uWSGI on the API address :8080 on Kolla >= 2025.2)', (t) => {
  const uwsgi = healthy('a', 'k');
  const { healthUrl: _unset, ...noUrl } = uwsgi.host;
  uwsgi.host = noUrl;
  uwsgi.horizon!.webServer = { kind: 'uwsgi', config: '/etc/horizon/horizon-uwsgi.ini', listen: [{ scheme: 'http', address: '10.0.0.11:8080' }] };
  const report = buildStatus([uwsgi]);
  t.deepEqual(report.hosts[0]?.webServer, { kind: 'uwsgi', loginUrl: 'http://10.0.0.11:8080/auth/login/' });
  t.regex(renderStatus(report), /^a\s+running\/healthy\s+uwsgi 10\.0\.0\.11:8080\s/m);
});

test('whether sessions survive a restart of the current backend: memcached no, a database yes, Redis or Valkey as the server says', (t) => {
  const redisOn = (name: string, currentRedis: NonNullable<HostFacts['horizon']>['currentRedis']): HostFacts => {
    const f = healthy(name, 'k', ['redis://10.0.0.7:6379/0'] as never);
    const hz = f.horizon!;
    return { ...f, horizon: { ...hz, currentRedis, settings: { ...hz.settings!, cache: { ...hz.settings!.cache, backend: 'django_redis.cache.RedisCache', location: 'redis://10.0.0.7:6379/0' } } } };
  };
  const valkey = { server: 'valkey' as const, version: '8.1.1', role: 'master', persistence: { aof: false, rdb: '3600 1 300 100 60 10000' } };
  const report = buildStatus([
    healthy('m', 'k'),
    redisOn('v1', valkey),
    redisOn('v2', valkey),
    redisOn('r', { server: 'redis', version: '7.0.15', persistence: { aof: false, rdb: '' } }),
    redisOn('x', { error: 'ConnectionError: Connection refused' }),
  ]);
  t.deepEqual(report.hosts.map((h) => h.persistence), [
    { survives: false, detail: 'no: memcached keeps them in memory only' },
    { survives: true, detail: 'Valkey 8.1.1: sessions survive its restart (RDB save 3600 1 300 100 60 10000; AOF off)' },
    { survives: true, detail: 'Valkey 8.1.1: sessions survive its restart (RDB save 3600 1 300 100 60 10000; AOF off)' },
    { survives: false, detail: 'Redis 7.0.15: sessions are lost when it restarts (no RDB save points, AOF off)' },
    { survives: null, detail: 'unknown: the server did not answer (ConnectionError: Connection refused)' },
  ]);
  t.deepEqual(sessionsSurvive('database (cached in memcached)', undefined), { survives: true, detail: 'yes: rows in the database' });
  t.deepEqual(sessionsSurvive('redis', undefined), { survives: null, detail: 'unknown: the server was not asked' });
  const text = renderStatus(report);
  t.regex(text, /^v1\s.*\sredis\s+yes\s/m);
  t.regex(text, /^x\s.*\sredis\s+unknown\s/m);
  t.regex(text, /Do sessions survive a restart of the session backend\?\n {2}m: no: memcached .*\n {2}v1, v2: Valkey 8\.1\.1: sessions survive/);
});

test('the --json status report validates against status.schema.json (healthy, unreachable and failed hosts)', (t) => {
  const down: HostFacts = { host: host('x'), reachable: false, error: { kind: 'unreachable', message: 'connection refused' } };
  const broken: HostFacts = { host: host('y'), reachable: true, error: { kind: 'failed', message: "no container named 'horizon'" } };
  t.deepEqual(schemaProblems('status', versioned(buildStatus([healthy('a', 'k1'), healthy('b', 'k2'), down, broken]))), []);
});
