/**
 * Where a client library comes from: the pure decision from libraries.py's answer (the change time
 * of the module's files) and the container's creation time, as a table; libraries.py itself runs
 * for real on this machine's python3 (it only reads).
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { libraryFacts, libraryOrigin, sessionModules, type LibraryAnswer, type Origin } from '../../../src/facts/libraries.js';
import { parseProbeOutput } from '../../../src/facts/horizon.js';
import { asset } from '../../../src/util/assets.js';

const VENV = '/var/lib/kolla/venv/lib/python3.12/site-packages';
const CREATED = '2026-12-01T10:00:00.123456789Z';
const created = Date.parse(CREATED) / 1000;

const at = (module: string, dist: string | null, ctime: number | null, version = '5.4.0'): LibraryAnswer => ({
  version,
  path: `${VENV}/${module}`,
  dist: dist ? { name: dist.split('-')[0]!.replace(/_/g, '-'), version, path: `${VENV}/${dist}` } : null,
  ctime,
});

const cases: [string, LibraryAnswer | undefined, string, Origin, RegExp?][] = [
  ['baked into the image: its files were unpacked before the container was created', at('django_redis', 'django_redis-6.0.0.dist-info', created - 3600), CREATED, 'image'],
  ['pip install after the container was created', at('django_redis', 'django_redis-5.4.0.dist-info', created + 120), CREATED, 'container layer'],
  ['within the same second, after', at('django_redis', null, created + 0.5), CREATED, 'container layer'],
  ['not importable', { error: "ModuleNotFoundError: No module named 'django_redis'" }, CREATED, 'missing', /No module named/],
  ["the files' change time could not be read", at('django_redis', null, null), CREATED, 'unknown', /change time could not be read/],
  ['an unreadable creation time', at('django_redis', null, created), 'yesterday', 'unknown', /creation time is unknown/],
  ['no answer from the container', undefined, CREATED, 'unknown', /did not say/],
];

for (const [name, answer, when, origin, why] of cases) {
  test(`libraryOrigin: ${name} -> ${origin}`, (t) => {
    const fact = libraryOrigin('m', answer, when);
    t.is(fact.origin, origin);
    if (why) t.regex(fact.why ?? '', why);
    else t.is(fact.why, undefined);
  });
}

test("libraryOrigin keeps the version and pip's name of what imports", (t) => {
  const fact = libraryOrigin('django_redis', at('django_redis', 'django_redis-5.4.0.dist-info', created + 1), CREATED);
  t.deepEqual([fact.version, fact.dist, fact.path], ['5.4.0', { name: 'django-redis', version: '5.4.0' }, `${VENV}/django_redis`]);
});

test("libraryFacts: every known library, from libraries.py's answer in the probe; without it, what the probe could not import is missing", (t) => {
  const probe = (more: object) =>
    parseProbeOutput(`SESSIONCTL-FACTS ${JSON.stringify({ python: '3.12', executable: 'p', horizon: '25.0', modules: { django_redis: '6.0.0', pymysql: null }, ...more })}\n`);
  const answered = libraryFacts(probe({ also: { 'libraries.py': { stdout: JSON.stringify({ django_redis: at('django_redis', null, created - 60, '6.0.0'), pymysql: { error: 'ImportError' } }) } } }), CREATED);
  t.is(answered.django_redis?.origin, 'image');
  t.is(answered.pymysql?.origin, 'missing');
  t.true('psycopg2' in answered && 'pymemcache' in answered);
  const failed = libraryFacts(probe({ also: { 'libraries.py': { error: 'SyntaxError: x' } } }), CREATED);
  t.is(failed.pymysql?.origin, 'missing');
  t.is(failed.django_redis?.origin, 'unknown');
  t.regex(failed.django_redis?.why ?? '', /libraries\.py failed: SyntaxError: x/);
});

const shapes: [string, Parameters<typeof sessionModules>[0], Record<string, string | null>, string[]][] = [
  ["Redis Cluster through sessionctl's own module", { sessionEngine: 'django.contrib.sessions.backends.cache', cacheBackend: 'django_redis.cache.RedisCache', databaseEngine: null, connectionFactory: 'sessionctl_redis_cluster.ClusterConnectionFactory' }, {}, ['django_redis', 'sessionctl_redis_cluster']],
  ['django-redis', { sessionEngine: 'django.contrib.sessions.backends.cache', cacheBackend: 'django_redis.cache.RedisCache', databaseEngine: null }, {}, ['django_redis']],
  ["Django's own Redis cache", { sessionEngine: 'django.contrib.sessions.backends.cache', cacheBackend: 'django.core.cache.backends.redis.RedisCache', databaseEngine: null }, {}, ['redis']],
  ['memcached', { sessionEngine: 'django.contrib.sessions.backends.cache', cacheBackend: 'django.core.cache.backends.memcached.PyMemcacheCache', databaseEngine: null }, {}, ['pymemcache']],
  ['old memcached', { sessionEngine: 'django.contrib.sessions.backends.cache', cacheBackend: 'django.core.cache.backends.memcached.MemcachedCache', databaseEngine: null }, {}, ['memcache']],
  ['MySQL with PyMySQL standing in', { sessionEngine: 'django.contrib.sessions.backends.db', cacheBackend: 'django_redis.cache.RedisCache', databaseEngine: 'django.db.backends.mysql' }, { MySQLdb: null }, ['pymysql']],
  ['MySQL with mysqlclient', { sessionEngine: 'django.contrib.sessions.backends.db', cacheBackend: null, databaseEngine: 'django.db.backends.mysql' }, { MySQLdb: '2.2.4' }, ['MySQLdb']],
  ['cached_db on PostgreSQL (psycopg 3 only)', { sessionEngine: 'django.contrib.sessions.backends.cached_db', cacheBackend: 'django.core.cache.backends.memcached.PyMemcacheCache', databaseEngine: 'django.db.backends.postgresql' }, { psycopg: '3.2.1' }, ['pymemcache', 'psycopg']],
  ['signed cookies', { sessionEngine: 'django.contrib.sessions.backends.signed_cookies', cacheBackend: 'django_redis.cache.RedisCache', databaseEngine: null }, {}, []],
];

for (const [name, shape, modules, expected] of shapes) {
  test(`sessionModules: ${name}`, (t) => t.deepEqual(sessionModules(shape, modules), expected));
}

test('libraries.py (run for real): where a package and a stdlib module are, the owning dist-info, and what does not import', (t) => {
  const out = JSON.parse(
    execFileSync('python3', ['-c', asset('src/facts/python/libraries.py')], { input: JSON.stringify({ modules: ['json', 'pip', 'sessionctl_no_such_module'] }) }).toString(),
  ) as Record<string, LibraryAnswer>;
  const json = out.json!;
  t.false('error' in json);
  if (!('error' in json)) {
    t.regex(json.path ?? '', /\/json$/);
    t.is(json.dist, null, 'the standard library has no dist-info');
  }
  const pip = out.pip!;
  if (!('error' in pip)) {
    t.is(pip.dist?.name, 'pip');
    t.regex(pip.dist?.path ?? '', /pip-[\d.]+\.dist-info$/);
    t.is(pip.dist?.version, pip.version);
  } else t.fail(pip.error);
  t.regex((out.sessionctl_no_such_module as { error: string }).error, /No module named/);
});

test("libraries.py (run for real): ctime is the latest of the package's __init__.py and its dist's METADATA, not of the folders", (t) => {
  const site = mkdtempSync(join(tmpdir(), 'sessionctl-site-'));
  mkdirSync(join(site, 'sessionctl_fake_lib'));
  writeFileSync(join(site, 'sessionctl_fake_lib', '__init__.py'), '__version__ = "1.2.3"\n');
  mkdirSync(join(site, 'sessionctl_fake_lib-1.2.3.dist-info'));
  writeFileSync(join(site, 'sessionctl_fake_lib-1.2.3.dist-info', 'METADATA'), 'Metadata-Version: 2.1\nName: sessionctl-fake-lib\nVersion: 1.2.3\n');
  const run = () =>
    (JSON.parse(
      execFileSync('python3', ['-c', asset('src/facts/python/libraries.py')], { input: JSON.stringify({ modules: ['sessionctl_fake_lib'] }), env: { ...process.env, PYTHONPATH: site } }).toString(),
    ) as Record<string, LibraryAnswer>).sessionctl_fake_lib!;
  const first = run();
  if ('error' in first) return t.fail(first.error);
  t.is(first.dist?.name, 'sessionctl-fake-lib');
  const files = [join(site, 'sessionctl_fake_lib', '__init__.py'), join(site, 'sessionctl_fake_lib-1.2.3.dist-info', 'METADATA')];
  // Python's st_ctime and Node's ctimeMs / 1000 are the same instant in two float roundings.
  const newest = Math.max(...files.map((f) => statSync(f).ctimeMs / 1000));
  t.true(Math.abs((first.ctime ?? 0) - newest) < 1e-3, `${first.ctime} vs ${newest}`);
  // A new file in the package folder (bytecode written on import) changes the folder, not the files read.
  writeFileSync(join(site, 'sessionctl_fake_lib', 'later.py'), '');
  const again = run();
  t.false('error' in again);
  if (!('error' in again)) t.is(again.ctime, first.ctime);
});
