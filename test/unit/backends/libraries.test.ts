/**
 * The durability of client libraries as data: which will be only in the container layer after a run,
 * the kolla-build override that bakes them into the image, and the version arithmetic behind its pins.
 */
import test from 'ava';
import {
  compareVersions,
  kollaPipOverride,
  libraryDurability,
  pin,
  satisfies,
  wheelhouseVersion,
  type LibraryAfterRun,
} from '../../../src/backends/libraries.js';
import { djangoRedisKnownFit } from '../../../src/backends/redis.js';
import { fitFor } from '../../../src/backends/compat.js';

test('compareVersions: numeric parts, missing parts are zero', (t) => {
  t.is(compareVersions('5.10.0', '5.9.9'), 1);
  t.is(compareVersions('5.4', '5.4.0'), 0);
  t.is(compareVersions('6.0.0', '6.0.1'), -1);
});

const specs: [string, string, boolean][] = [
  ['5.4.0', '>=5.0,<6', true],
  ['6.0.0', '>=5.0,<6', false],
  ['6.0.0', '>=5.4,<7', true],
  ['5.2.0', '>=5.4,<7', false],
  ['5.4', '==5.4.0', true],
  ['1.0.2', '>=1.0', true],
  ['6.0.0b1', '>=5.4,<7', false],
  ['5.4.0', '', true],
];
for (const [version, spec, ok] of specs) test(`satisfies(${version}, '${spec}') is ${ok}`, (t) => t.is(satisfies(version, spec), ok));

test('djangoRedisKnownFit is inside the range the install asks pip for, for every Django sessionctl meets', (t) => {
  for (const django of ['2.2.28', '3.2.19', '4.1.13', '4.2.16', '5.2.1']) {
    const range = fitFor('django-redis', { django, python: '3.11.2', redisPy: '4.3.4' }).spec;
    t.true(satisfies(djangoRedisKnownFit(django), range), `${django}: ${djangoRedisKnownFit(django)} in ${range}`);
  }
  t.is(djangoRedisKnownFit('2.2.28'), '5.2.0');
  t.is(djangoRedisKnownFit('3.2.19'), '5.4.0');
  t.is(djangoRedisKnownFit('4.2.16'), '6.0.0');
});

test('wheelhouseVersion: the newest wheel of that package that fits, as pip picks it', (t) => {
  const files = ['django_redis-5.2.0-py3-none-any.whl', 'django_redis-5.4.0-py3-none-any.whl', 'django_redis-6.0.0-py3-none-any.whl', 'PyMySQL-1.1.1-py3-none-any.whl', 'README'];
  t.is(wheelhouseVersion(files, 'django-redis>=5.0,<6'), '5.4.0');
  t.is(wheelhouseVersion(files, 'django-redis>=5.4,<7'), '6.0.0');
  t.is(wheelhouseVersion(files, 'PyMySQL>=1.0'), '1.1.1');
  t.is(wheelhouseVersion(files, 'psycopg2-binary>=2.8'), null);
});

test('kollaPipOverride: the template override kolla-build takes (pip names, pinned)', (t) => {
  t.is(kollaPipOverride(['django-redis==5.4.0']), "{% extends parent_template %}\n{% set horizon_pip_packages_append = ['django-redis==5.4.0'] %}\n");
});

test("pin refuses what is not a plain name and version (a container's metadata must not write Jinja)", (t) => {
  t.deepEqual(pin('django-redis', '5.4.0', 'installed'), { package: 'django-redis', version: '5.4.0', from: 'installed' });
  t.is(pin("x'] %}{% set y", '1', 'installed'), null);
  t.is(pin('x', '1 %}', 'installed'), null);
});

const layer = (over: Partial<LibraryAfterRun> = {}): LibraryAfterRun => ({
  module: 'django_redis',
  origin: 'container layer',
  installs: true,
  pin: { package: 'django-redis', version: '5.4.0', from: 'wheelhouse' },
  ...over,
});

test('libraryDurability: an install on every host -> one warning naming them, one override for the fleet', (t) => {
  const d = libraryDurability(['dash1', 'dash2', 'dash3'].map((host) => ({ host, libraries: [layer()] })));
  t.deepEqual(d.overrides, [{ hosts: ['dash1', 'dash2', 'dash3'], packages: ['django-redis==5.4.0'], template: kollaPipOverride(['django-redis==5.4.0']) }]);
  t.is(d.layerOnly.length, 3);
  t.is(d.warnings.length, 1);
  t.regex(d.warnings[0]!, /^django_redis will be only in the horizon container's writable layer on dash1, dash2, dash3 \(this run installs it there\): recreating the container \(kolla-ansible upgrade or deploy\) loses it/);
  t.regex(d.warnings[0]!, /kolla-build --template-override FILE with the override below$/);
});

test('libraryDurability: baked into the image -> nothing to say', (t) => {
  const d = libraryDurability([{ host: 'dash1', libraries: [layer({ origin: 'image', installs: false, pin: null })] }]);
  t.deepEqual(d, { layerOnly: [], overrides: [], warnings: [] });
});

test('libraryDurability: already in the layer on one host, installed on another with a different Django -> two overrides', (t) => {
  const d = libraryDurability([
    { host: 'dash1', libraries: [layer({ installs: false, pin: { package: 'django-redis', version: '5.4.0', from: 'installed' } })] },
    { host: 'dash2', libraries: [layer({ pin: { package: 'django-redis', version: '6.0.0', from: 'known', range: 'django-redis>=5.4,<7', django: '4.2.16' } })] },
  ]);
  t.deepEqual(d.overrides.map((o) => [o.hosts, o.packages]), [[['dash1'], ['django-redis==5.4.0']], [['dash2'], ['django-redis==6.0.0']]]);
  t.true(d.warnings.some((w) => /on dash1 \(pip or apt added it after the container was created\)/.test(w)));
  t.true(d.warnings.some((w) => /on dash2 \(this run installs it there\).*the overrides below$/.test(w)));
  t.true(d.warnings.some((w) => /^django-redis==6\.0\.0 is the newest django-redis known to fit Django 4\.2\.16; pip chooses in django-redis>=5\.4,<7/.test(w)));
  t.false(d.warnings.some((w) => /upper-constraints/.test(w)), 'django-redis is not in upper-constraints');
});

test('libraryDurability: PyMySQL gets the upper-constraints note; no pip name or an unknown origin are said per host', (t) => {
  const d = libraryDurability([
    { host: 'dash1', libraries: [layer({ module: 'pymysql', pin: { package: 'PyMySQL', version: '1.1.1', from: 'inventory' } })] },
    { host: 'dash2', libraries: [layer({ module: 'MySQLdb', installs: false, pin: null, why: 'no dist-info or egg-info found for it' })] },
    { host: 'dash3', libraries: [layer({ origin: 'unknown', installs: false, pin: null, why: "its files' change time could not be read: x" })] },
  ]);
  t.deepEqual(d.overrides.map((o) => o.packages), [['PyMySQL==1.1.1']]);
  t.true(d.warnings.some((w) => /upper-constraints: a package pinned there must use the version pinned there/.test(w)));
  t.true(d.warnings.some((w) => /^dash2: MySQLdb has no pip name or version sessionctl can use \(no dist-info/.test(w)));
  t.true(d.warnings.some((w) => /^dash3: cannot tell whether django_redis is in the image .*could not be read: x$/.test(w)));
  t.deepEqual(d.layerOnly.map((l) => [l.host, l.module, l.requirement]), [['dash1', 'pymysql', 'PyMySQL==1.1.1'], ['dash2', 'MySQLdb', null]]);
});
