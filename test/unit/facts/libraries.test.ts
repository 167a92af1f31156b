/**
 * Where a client library comes from: the pure decision from libraries.py's answer and Docker's
 * record of the container's layer, as a table; libraries.py itself runs for real on this machine's
 * python3 (it only reads).
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { libraryFacts, libraryOrigin, sessionModules, type ChangesFact, type LibraryAnswer, type Origin } from '../../../src/facts/libraries.js';
import { parseProbeOutput } from '../../../src/facts/horizon.js';
import { asset } from '../../../src/util/assets.js';

const VENV = '/var/lib/kolla/venv/lib/python3.12/site-packages';
const DEB = '/usr/lib/python3/dist-packages';
const LOCAL = '/usr/local/lib/python3.11/dist-packages';

const at = (dir: string, module: string, dist: string | null, version = '5.4.0'): LibraryAnswer => ({
  version,
  path: `${dir}/${module}`,
  real_path: `${dir}/${module}`,
  dist: dist ? { name: dist.split('-')[0]!.replace(/_/g, '-'), version, path: `${dir}/${dist}`, real_path: `${dir}/${dist}` } : null,
});
const changes = (lines: string, truncated = false): ChangesFact => ({
  entries: lines.trim().split('\n').filter(Boolean).map((l) => ({ path: l.slice(2), kind: ({ A: 'added', C: 'modified', D: 'deleted' } as const)[l[0] as 'A' | 'C' | 'D'] })),
  truncated,
});

const cases: [string, LibraryAnswer | undefined, ChangesFact, Origin, RegExp?][] = [
  ['baked into the image (Kolla 2026.1): the layer only wrote its bytecode', at(VENV, 'django_redis', 'django_redis-6.0.0.dist-info'),
    changes(`C ${VENV}/django_redis\nA ${VENV}/django_redis/__pycache__/__init__.cpython-312.pyc`), 'image'],
  ['pip install after the container was created', at(VENV, 'django_redis', 'django_redis-5.4.0.dist-info'),
    changes(`C ${VENV}\nA ${VENV}/django_redis\nA ${VENV}/django_redis/__init__.py\nA ${VENV}/django_redis-5.4.0.dist-info`), 'container layer'],
  ['pip into /usr/local on a Debian image: the whole folder is new', at(LOCAL, 'django_redis', 'django_redis-5.4.0.dist-info'),
    changes('C /usr/local/lib\nA /usr/local/lib/python3.11'), 'container layer'],
  ["apt's package: Debian's .egg-info", at(DEB, 'pymysql', 'PyMySQL-1.0.2.egg-info', '1.0.2'),
    changes(`C ${DEB}\nA ${DEB}/pymysql\nA ${DEB}/PyMySQL-1.0.2.egg-info`), 'container layer'],
  ['upgraded over the image: the module folder was there, the new dist-info is not', at(VENV, 'django_redis', 'django_redis-6.0.0.dist-info', '6.0.0'),
    changes(`C ${VENV}/django_redis\nD ${VENV}/django_redis-5.4.0.dist-info\nA ${VENV}/django_redis-6.0.0.dist-info`), 'container layer'],
  ['not importable', { error: "ModuleNotFoundError: No module named 'django_redis'" }, changes(''), 'missing', /No module named/],
  ['the layer could not be read', at(VENV, 'django_redis', null), { error: 'permission denied' }, 'unknown', /could not be read: permission denied/],
  ['a layer list cut off before this library', at(VENV, 'django_redis', null), changes(`A ${VENV}/aaa`, true), 'unknown', /longer than sessionctl reads/],
  ['a cut-off list that did reach it', at(VENV, 'django_redis', null), changes(`A ${VENV}/django_redis`, true), 'container layer'],
  ['no answer from the container', undefined, changes(''), 'unknown', /did not say/],
];

for (const [name, answer, layer, origin, why] of cases) {
  test(`libraryOrigin: ${name} -> ${origin}`, (t) => {
    const fact = libraryOrigin('m', answer, layer);
    t.is(fact.origin, origin);
    if (why) t.regex(fact.why ?? '', why);
    else t.is(fact.why, undefined);
  });
}

test("libraryOrigin keeps the version and pip's name of what imports", (t) => {
  const fact = libraryOrigin('django_redis', at(VENV, 'django_redis', 'django_redis-5.4.0.dist-info'), changes(`A ${VENV}/django_redis`));
  t.deepEqual([fact.version, fact.dist, fact.path], ['5.4.0', { name: 'django-redis', version: '5.4.0' }, `${VENV}/django_redis`]);
});

test("libraryFacts: every known library, from libraries.py's answer in the probe; without it, what the probe could not import is missing", (t) => {
  const probe = (more: object) =>
    parseProbeOutput(`SESSIONCTL-FACTS ${JSON.stringify({ python: '3.12', executable: 'p', horizon: '25.0', modules: { django_redis: '6.0.0', pymysql: null }, ...more })}\n`);
  const answered = libraryFacts(probe({ also: { 'libraries.py': { stdout: JSON.stringify({ django_redis: at(VENV, 'django_redis', null, '6.0.0'), pymysql: { error: 'ImportError' } }) } } }), changes(''));
  t.is(answered.django_redis?.origin, 'image');
  t.is(answered.pymysql?.origin, 'missing');
  t.true('psycopg2' in answered && 'pymemcache' in answered);
  const failed = libraryFacts(probe({ also: { 'libraries.py': { error: 'SyntaxError: x' } } }), changes(''));
  t.is(failed.pymysql?.origin, 'missing');
  t.is(failed.django_redis?.origin, 'unknown');
  t.regex(failed.django_redis?.why ?? '', /libraries\.py failed: SyntaxError: x/);
});

const shapes: [string, Parameters<typeof sessionModules>[0], Record<string, string | null>, string[]][] = [
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
