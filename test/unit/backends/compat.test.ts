/**
 * The table of what fits which container (backends/compat.ts): the range each client library must
 * be in for a Django, Python and redis-py, the reasons the plan prints, and the plan-time verdict
 * on what a wheelhouse, a distro package or the container already holds.
 */
import test from 'ava';
import {
  aptCandidate,
  describeFit,
  fitFor,
  fits,
  narrow,
  noFittingVersion,
  pickFitting,
  presentMisfits,
  requirementOf,
  upstreamOf,
  wheelVersions,
  type LibraryEnv,
  type LibraryName,
} from '../../../src/backends/compat.js';

const K2026: LibraryEnv = { django: '4.2.28', python: '3.13.5', redisPy: '6.1.0' };
const ZED: LibraryEnv = { django: '3.2.19', python: '3.11.2', redisPy: '4.3.4' };

const ranges: [LibraryName, LibraryEnv, string][] = [
  // Django 4.2's MySQL backend wants mysqlclient >= 1.4.3: PyMySQL reports 1.4.6 from 1.1 (1.0.x: 1.4.0).
  ['PyMySQL', K2026, 'PyMySQL>=1.1'],
  ['PyMySQL', ZED, 'PyMySQL>=1.0'],
  ['PyMySQL', { ...K2026, django: '5.2.1' }, 'PyMySQL>=1.1'],
  ['mysqlclient', K2026, 'mysqlclient>=1.4.3'],
  ['mysqlclient', ZED, 'mysqlclient>=1.4.0'],
  ['mysqlclient', { ...K2026, django: '6.0' }, 'mysqlclient>=2.2.1'],
  // psycopg2-binary: Django's floor and the first release with wheels for the container's Python.
  ['psycopg2-binary', K2026, 'psycopg2-binary>=2.9.10'],
  ['psycopg2-binary', ZED, 'psycopg2-binary>=2.9.5'],
  ['psycopg2-binary', { ...K2026, python: '3.10.12' }, 'psycopg2-binary>=2.8.4'],
  ['psycopg', K2026, 'psycopg>=3.1.8'],
  ['pymemcache', K2026, 'pymemcache>=3.4,<5'],
  // django-redis by Django, then narrowed by the container's redis-py and Python.
  ['django-redis', ZED, 'django-redis>=5.0,<6'],
  ['django-redis', { ...ZED, django: '4.1.0' }, 'django-redis>=5.0,<6'],
  ['django-redis', { ...ZED, django: '2.2.28' }, 'django-redis>=5.0,<5.3'],
  ['django-redis', K2026, 'django-redis>=5.4,<7'],
  ['django-redis', { ...K2026, django: '5.2' }, 'django-redis>=5.4,<8'],
  ['django-redis', { ...K2026, django: '5.2', python: '3.9.18' }, 'django-redis>=5.4,<7'],
  ['django-redis', { ...K2026, redisPy: '3.5.3' }, 'django-redis>=5.4,<6'],
  ['redis (cluster)', K2026, 'redis (cluster)>=4.1'],
];
for (const [library, env, expected] of ranges) {
  test(`${library} for Django ${env.django}, Python ${env.python}, redis-py ${env.redisPy}: ${expected}`, (t) => {
    t.is(requirementOf(fitFor(library, env)), expected);
  });
}

test('the plan shows the range with where it comes from', (t) => {
  t.is(describeFit(fitFor('PyMySQL', K2026)), 'PyMySQL>=1.1 (Django 4.2 needs mysqlclient>=1.4.3; PyMySQL reports that from 1.1)');
  t.is(describeFit(fitFor('django-redis', { ...K2026, redisPy: '3.5.3' })), 'django-redis>=5.4,<6 (Django 4.2: supported from django-redis 5.4, and 7 needs Django>=5.2; redis-py 3.5.3: django-redis 6 needs redis-py>=4.0.2)');
  t.is(describeFit(fitFor('PyMySQL', K2026), '1.1.1'), 'PyMySQL==1.1.1 (Django 4.2 needs mysqlclient>=1.4.3; PyMySQL reports that from 1.1)');
});

test('no version fits: refused with every reason', (t) => {
  t.throws(() => fitFor('django-redis', { ...K2026, redisPy: '4.0.1' }), { message: /^no django-redis works here: redis-py 4\.0\.1: django-redis 5 refuses 4\.0\.0 and 4\.0\.1, and 6 needs 4\.0\.2$/ });
  t.throws(() => fitFor('django-redis', { ...ZED, django: '2.1.15' }), { message: /django-redis 5 needs Django>=2\.2, this is 2\.1/ });
  t.throws(() => fitFor('psycopg', ZED), { message: /Django 3\.2 does not support psycopg 3/ });
  t.throws(() => fitFor('PyMySQL', { ...K2026, django: '6.0.1' }), { message: /Django 6\.0 needs mysqlclient>=2\.2\.1, and no PyMySQL release/ });
  // Django 5.2 on Python 3.9 would need django-redis < 7 and >= 5.4: still 5.4 to 6.x.
  t.notThrows(() => fitFor('django-redis', { ...K2026, django: '5.2', python: '3.9.18' }));
});

test('narrow: one lower and one upper bound, exclusions inside them, null when empty', (t) => {
  t.is(narrow(['>=5.0,<6', '>=5.4', '<7']), '>=5.4,<6');
  t.is(narrow(['>=3', '!=4.0.0,!=4.0.1', '<4']), '>=3,<4');
  t.is(narrow(['>=3,!=4.0.0,!=4.0.1']), '>=3,!=4.0.0,!=4.0.1');
  t.is(narrow(['>=5.4', '<5.3']), null);
  t.is(narrow(['==1.1.1', '>=1.1']), '==1.1.1');
  t.is(narrow([]), '');
});

test('fits: the release part decides (Debian and local suffixes, psycopg2 build flags)', (t) => {
  const fit = fitFor('psycopg2', K2026);
  t.true(fits(fit, '2.9.10 (dt dec pq3 ext lq3)'));
  t.false(fits(fit, '2.8.3'));
  t.false(fits(fitFor('PyMySQL', K2026), 'present'), 'no version to judge: not a fit');
});

test("a wheelhouse holding only bookworm's PyMySQL 1.0.2 has nothing for Django 4.2; trixie's 1.1.1 fits", (t) => {
  const files = ['pymysql-1.0.2-py3-none-any.whl', 'PyMySQL-1.1.1-py3-none-any.whl', 'django_redis-5.4.0-py3-none-any.whl', 'notes.txt'];
  t.deepEqual(wheelVersions(files, 'PyMySQL'), ['1.0.2', '1.1.1']);
  const fit = fitFor('PyMySQL', K2026);
  t.is(pickFitting(fit, wheelVersions(files, 'PyMySQL')), '1.1.1');
  t.is(pickFitting(fit, ['1.0.2']), null);
  t.is(pickFitting(fitFor('PyMySQL', ZED), ['1.0.2', '1.1.1'], '1.0.2'), '1.0.2', 'the pinned version when it is there');
  t.is(
    noFittingVersion('the wheelhouse /srv/wheels', ['1.0.2'], fit),
    'the wheelhouse /srv/wheels holds PyMySQL 1.0.2, and this container needs PyMySQL>=1.1 (Django 4.2 needs mysqlclient>=1.4.3; PyMySQL reports that from 1.1): add a fitting version, or pin one with install.version',
  );
  t.regex(noFittingVersion('the wheelhouse /srv/wheels', [], fit), /holds no PyMySQL, and this container needs PyMySQL>=1\.1/);
});

test("apt-cache policy: the candidate, as the upstream release it carries", (t) => {
  t.is(aptCandidate('python3-pymysql:\n  Installed: (none)\n  Candidate: 1.0.2-2+deb12u1\n  Version table:\n     1.0.2-2+deb12u1 500\n'), '1.0.2-2+deb12u1');
  t.is(aptCandidate('python3-pymysql:\n  Installed: (none)\n  Candidate: (none)\n'), null);
  t.is(aptCandidate(''), null, 'no package lists: apt-cache prints nothing');
  t.is(upstreamOf('1.0.2-2+deb12u1'), '1.0.2');
  t.is(upstreamOf('1:1.1.1-2+b1'), '1.1.1');
  t.is(upstreamOf('5.4.0-1~bpo12+1'), '5.4.0');
  t.is(upstreamOf('2.9.10-0ubuntu1'), '2.9.10');
  t.is(upstreamOf('1.4.6+ds-1'), '1.4.6');
});

test('what already imports is judged too: an old PyMySQL or mysqlclient, a redis-py too old for the Redis Cluster client', (t) => {
  t.deepEqual(presentMisfits(['pymysql'], { pymysql: '1.0.2' }, K2026, false), [
    'PyMySQL 1.0.2 is in the container, and this container needs PyMySQL>=1.1 (Django 4.2 needs mysqlclient>=1.4.3; PyMySQL reports that from 1.1)',
  ]);
  t.deepEqual(presentMisfits(['pymysql'], { pymysql: '1.0.2' }, ZED, false), [], 'Django 3.2 takes it');
  t.deepEqual(presentMisfits(['MySQLdb'], { MySQLdb: '1.4.2' }, K2026, false), ['mysqlclient 1.4.2 is in the container, and this container needs mysqlclient>=1.4.3 (Django 4.2 needs mysqlclient>=1.4.3)']);
  t.deepEqual(presentMisfits(['django_redis'], { django_redis: '5.4.0', redis: '6.1.0' }, K2026, true), []);
  t.deepEqual(presentMisfits(['django_redis'], { django_redis: '5.4.0', redis: '3.5.3' }, { ...K2026, redisPy: '3.5.3' }, true), [
    'redis-py 3.5.3 is in the container, and this container needs redis (cluster)>=4.1 (Redis Cluster needs redis.cluster, in redis-py from 4.1)',
  ]);
  t.deepEqual(presentMisfits(['django_redis'], { django_redis: '5.4.0' }, { ...K2026, redisPy: null }, true), ['redis-py does not import in the container, and Redis Cluster needs redis-py>=4.1']);
  t.deepEqual(presentMisfits(['django_redis'], { django_redis: 'present' }, K2026, false), [], 'no version: left to Django');
  t.deepEqual(presentMisfits(['pymysql'], { pymysql: null }, K2026, false), [], 'missing: the install is judged instead');
});
