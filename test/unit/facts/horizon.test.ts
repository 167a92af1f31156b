import test from 'ava';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { backendOf, detectLayout, loginUrl, parseProbeOutput } from '../../../src/facts/horizon.js';
import { locateChecks } from '../../../src/steps/settings.js';
import { fromInspect } from '../../../src/transport/docker.js';
import type { ContainerInfo } from '../../../src/transport/types.js';

const probeLine = (facts: object) => `noise from settings\nSESSIONCTL-FACTS ${JSON.stringify(facts)}\n`;

test('parseProbeOutput maps the probe JSON and ignores noise before the marker', (t) => {
  const facts = parseProbeOutput(
    probeLine({
      python: '3.11.2',
      executable: '/usr/bin/python3',
      kolla_config_files: ['config.json', '_9998-kolla-settings.py'],
      settings_d: ['_0006_debian_cache.py'],
      manage_py: '/usr/share/openstack-dashboard/manage.py',
      costly: {
        horizon: '23.0.0',
        modules: { django_redis: null, pymemcache: '4.0.0' },
        settings: {
          django: '3.2.19',
          session_engine: 'django.contrib.sessions.backends.cache',
          cache: { backend: 'django.core.cache.backends.memcached.PyMemcacheCache', location: ['10.0.0.1:11211'], options: [] },
          database: null,
          security: { SESSION_TIMEOUT: 3600 },
          secret_key_sha256: 'abcdef0123456789',
        },
      },
    }),
  );
  t.is(facts.python, '3.11.2');
  t.is(facts.settings?.django, '3.2.19');
  t.deepEqual(facts.settings?.cache.location, ['10.0.0.1:11211']);
  t.is(facts.settings?.secretKeySha256, 'abcdef0123456789');
  t.is(facts.modules.django_redis, null);
  t.is(facts.managepy, '/usr/share/openstack-dashboard/manage.py');
  t.is(facts.settingsError, undefined);
});

test('parseProbeOutput keeps a settings error as a fact', (t) => {
  const facts = parseProbeOutput(
    probeLine({ python: '3.13.5', executable: 'x', horizon: null, modules: {}, kolla_config_files: null, settings_d: null, manage_py: null, settings_error: 'SyntaxError: invalid syntax' }),
  );
  t.is(facts.settings, undefined);
  t.is(facts.settingsError, 'SyntaxError: invalid syntax');
});

test('parseProbeOutput without a marker line is an error', (t) => {
  t.throws(() => parseProbeOutput('Traceback ...\n'), { message: /no facts line/ });
});

const container = (mounts: ContainerInfo['mounts']): ContainerInfo => ({
  id: 'x', name: 'horizon', image: 'img', imageId: 'sha', state: 'running', health: 'healthy', created: '', startedAt: '', restartCount: 0, mounts,
});
const kollaMount = [{ source: '/etc/kolla/horizon', destination: '/var/lib/kolla/config_files', readOnly: true }];

const layouts: [string, ContainerInfo['mounts'], string[] | null, string, string | null][] = [
  ['kolla >= 2024.1', kollaMount, ['config.json', '_9998-kolla-settings.py', '_9999-custom-settings.py'], 'kolla-local-settings-d', '/etc/kolla/horizon/_9999-custom-settings.py'],
  ['kolla >= 2024.1 without a custom file yet', kollaMount, ['config.json', '_9998-kolla-settings.py'], 'kolla-local-settings-d', '/etc/kolla/horizon/_9999-custom-settings.py'],
  ['kolla <= 2023.2', kollaMount, ['config.json', 'local_settings', 'custom_local_settings'], 'kolla-local-settings', '/etc/kolla/horizon/custom_local_settings'],
  ['kolla mount elsewhere on the host', [{ source: '/srv/kolla/hz', destination: '/var/lib/kolla/config_files', readOnly: true }], ['local_settings'], 'kolla-local-settings', '/srv/kolla/hz/custom_local_settings'],
  ['no kolla mount: plain', [], null, 'plain', null],
  ['kolla mount without Horizon files: plain', kollaMount, ['config.json'], 'plain', null],
];
for (const [title, mounts, files, layout, custom] of layouts) {
  test(`detectLayout: ${title}`, (t) => {
    const fact = detectLayout(container(mounts), files);
    t.is(fact.layout, layout as never);
    t.is(fact.customFile, custom);
  });
}

const backends: [string | undefined, string | null, string][] = [
  ['django.contrib.sessions.backends.cache', 'django.core.cache.backends.memcached.PyMemcacheCache', 'memcached'],
  ['django.contrib.sessions.backends.cache', 'django.core.cache.backends.memcached.MemcachedCache', 'memcached'],
  ['django.contrib.sessions.backends.cache', 'django_redis.cache.RedisCache', 'redis'],
  ['django.contrib.sessions.backends.cache', 'django.core.cache.backends.redis.RedisCache', 'redis'],
  ['django.contrib.sessions.backends.cache', 'django.core.cache.backends.locmem.LocMemCache', 'local-memory'],
  ['django.contrib.sessions.backends.db', null, 'database'],
  ['django.contrib.sessions.backends.cached_db', 'django_redis.cache.RedisCache', 'database (cached in redis)'],
  ['django.contrib.sessions.backends.signed_cookies', null, 'cookie'],
  ['myproject.sessions', null, 'myproject.sessions'],
  [undefined, null, 'unknown'],
];
for (const [engine, cache, expected] of backends) {
  test(`backendOf(${engine}, ${cache}) = ${expected}`, (t) => {
    t.is(backendOf(engine, cache), expected);
  });
}

test('fromInspect keeps what status needs and strips the leading slash', (t) => {
  const info = fromInspect({
    Id: 'abc', Name: '/horizon', Image: 'sha256:1', RestartCount: 2,
    Config: { Image: 'kolla/horizon:2024.1' },
    State: { Status: 'running', StartedAt: '2026-01-01T00:00:00Z', Health: { Status: 'healthy' } },
    Mounts: [{ Source: '/etc/kolla/horizon', Destination: '/var/lib/kolla/config_files', RW: false }],
  } as never);
  t.is(info.name, 'horizon');
  t.is(info.health, 'healthy');
  t.is(info.image, 'kolla/horizon:2024.1');
  t.deepEqual(info.mounts, [{ source: '/etc/kolla/horizon', destination: '/var/lib/kolla/config_files', readOnly: true }]);
});

test('fromInspect: a container without a healthcheck has health none', (t) => {
  const info = fromInspect({ Id: 'a', Name: '/h', Image: 'i', Config: { Image: 'x' }, State: { Status: 'exited' } } as never);
  t.is(info.health, 'none');
  t.is(info.state, 'exited');
});

test('parseProbeOutput names what is malformed in a hostile answer (never a TypeError later)', (t) => {
  const cases: [string, RegExp][] = [
    ['SESSIONCTL-FACTS {"python": "3.1\n', /^the facts line is not JSON \(/],
    ['SESSIONCTL-FACTS null\n', /^the facts line is null, not an object$/],
    ['SESSIONCTL-FACTS [1]\n', /^the facts line is an array, not an object$/],
    [probeLine({ python: '3', kolla_config_files: 5 }), /^'kolla_config_files' is a number, not an array$/],
    [probeLine({ python: '3', costly: { modules: 'x' } }), /^'modules' is a string, not an object$/],
    [probeLine({ python: '3', web_server: { kind: 'uwsgi', listen: 'x' } }), /^'web_server.listen' is a string, not an array$/],
    [probeLine({ python: '3', settings: { cache: [] } }), /^'settings.cache' is an array, not an object$/],
  ];
  for (const [out, message] of cases) t.throws(() => parseProbeOutput(out), { message }, out);
});

test('fromInspect names the field of the wrong kind in a hostile answer', (t) => {
  t.throws(() => fromInspect(null as never), { message: 'the container is null, not an object' });
  t.throws(() => fromInspect({ Id: 'a', Name: 5, Image: 'i' } as never), { message: "'Name' is a number, not a string" });
  t.throws(() => fromInspect({ Id: 'a', Name: '/h', Image: 'i', State: 'running' } as never), { message: "'State' is a string, not an object" });
  t.throws(() => fromInspect({ Id: 'a', Name: '/h', Image: 'i', Mounts: [null] } as never), { message: "'Mounts' holds null, not only objects" });
});

test('parseProbeOutput: a wait that never saw a 200 carries only the login page answer', (t) => {
  const facts = parseProbeOutput(probeLine({ login_page: { status: 'ConnectionRefusedError: [Errno 111]', seconds: 15 } }));
  t.deepEqual(facts.loginPage, { status: 'ConnectionRefusedError: [Errno 111]', seconds: 15 });
  t.is(facts.settings, undefined, 'no settings are read before the 200');
});

test("parseProbeOutput: the facts after a 200 carry the wait and the other scripts' answers", (t) => {
  const facts = parseProbeOutput(
    probeLine({
      python: '3.11.2', executable: 'x', horizon: '23.0.0', modules: {}, kolla_config_files: [], settings_d: [], manage_py: null, pip: '23.0.1',
      login_page: { status: '200', seconds: 1.2 },
      also: { 'redis_check.py': { stdout: '{"ok": true}' }, 'locate custom_local_settings': { error: 'SystemExit: 1' } },
    }),
  );
  t.is(facts.loginPage?.status, '200');
  t.is(facts.pip, '23.0.1');
  t.deepEqual(facts.also, { 'redis_check.py': { stdout: '{"ok": true}' }, 'locate custom_local_settings': { error: 'SystemExit: 1' } });
});

test('locateChecks: the probe parses both Kolla custom files through the bind mount, for the names the backend owns', (t) => {
  t.deepEqual(locateChecks(['SESSION_ENGINE', 'CACHES']), [
    { name: 'locate _9999-custom-settings.py', script: 'locate.py', input: { path: '/var/lib/kolla/config_files/_9999-custom-settings.py', names: ['SESSION_ENGINE', 'CACHES'] } },
    { name: 'locate custom_local_settings', script: 'locate.py', input: { path: '/var/lib/kolla/config_files/custom_local_settings', names: ['SESSION_ENGINE', 'CACHES'] } },
  ]);
});

test('loginUrl: the inventory wins; else the first address the web server listens on, under WEBROOT', (t) => {
  const uwsgi = (address: string, scheme = 'http') => ({ webServer: { kind: 'uwsgi' as const, config: '/etc/horizon/horizon-uwsgi.ini', listen: [{ scheme, address }] } });
  t.is(loginUrl('http://10.9.9.9:81/x/', uwsgi('10.0.0.1:8080')), 'http://10.9.9.9:81/x/');
  t.is(loginUrl(undefined, uwsgi('10.0.0.1:8080')), 'http://10.0.0.1:8080/auth/login/', "Kolla >= 2025.2: the API address, 8080");
  t.is(loginUrl(undefined, uwsgi('[fd00::1]:8080')), 'http://[fd00::1]:8080/auth/login/');
  t.is(loginUrl(undefined, uwsgi('0.0.0.0:8080')), 'http://127.0.0.1:8080/auth/login/');
  t.is(loginUrl(undefined, uwsgi(':8080')), 'http://127.0.0.1:8080/auth/login/');
  t.is(loginUrl(undefined, uwsgi('10.0.0.1:443', 'https')), 'https://10.0.0.1/auth/login/');
  t.is(loginUrl(undefined, { webServer: { kind: 'apache', config: '/etc/apache2', listen: [{ scheme: 'http', address: '80' }] } }), 'http://127.0.0.1/auth/login/');
  t.is(loginUrl(undefined, undefined), 'http://127.0.0.1/auth/login/', 'nothing known: the old default');
  t.is(loginUrl(undefined, { webServer: { kind: 'unknown', config: null, listen: [] } }), 'http://127.0.0.1/auth/login/');
  const webroot = { ...uwsgi('10.0.0.1:8080'), settings: { webroot: '/dashboard' } as never };
  t.is(loginUrl(undefined, webroot), 'http://10.0.0.1:8080/dashboard/auth/login/');
  t.is(loginUrl(undefined, uwsgi('not an address')), 'http://127.0.0.1/auth/login/');
});

test('web_server.py reads the uWSGI ini PID 1 runs (kolla-ansible renders http = <api address>:8080) and Apache Listen lines', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'websrv-'));
  const ini = join(dir, 'horizon-uwsgi.ini');
  writeFileSync(ini, '[uwsgi]\n; comment\nmaster = true\nhttp = 10.0.0.11:8080\nlazy-apps = true\n[other]\nhttp = 1.2.3.4:1\n');
  const eager = join(dir, 'eager.ini');
  writeFileSync(eager, '[uwsgi]\nmaster = true\nlazy-apps = true\nlazy-apps = false\nhttp = :8080\nlogto = 127.0.0.1:514\nlogto2 = /var/log/kolla/horizon/horizon-uwsgi.log\n');
  const code = `${readFileSync('src/facts/python/web_server.py', 'utf8')}\nimport json, sys\nprint(json.dumps(_uwsgi(['uwsgi', sys.argv[1]])))\nprint(json.dumps(_uwsgi(['uwsgi', '--ini', sys.argv[1]])))\nprint(json.dumps(_uwsgi(['uwsgi', sys.argv[2]])))\nprint(json.dumps(web_server()['kind'] in ('apache', 'uwsgi', 'unknown')))`;
  const { stdout } = await promisify(execFile)('python3', ['-c', code, ini, eager]);
  const [a, b, c, kind] = stdout.trim().split('\n').map((l) => JSON.parse(l));
  t.deepEqual(a, { kind: 'uwsgi', config: ini, listen: [{ scheme: 'http', address: '10.0.0.11:8080' }], master: true, lazy_apps: true, log: null });
  t.deepEqual(b, a);
  t.deepEqual([c.master, c.lazy_apps], [true, false], 'the last value of a repeated key wins, as in uWSGI');
  t.is(c.log, '/var/log/kolla/horizon/horizon-uwsgi.log', "Kolla's logto2; a UDP logger is no file to read");
  t.true(kind);
});

test("probe.py masks a URL's password but keeps an ACL user name (redis-py reads user@ as a user), so locations compare", async (t) => {
  const code = `${readFileSync('src/facts/python/probe.py', 'utf8').replace(/if __name__ == "__main__":[\s\S]*$/, '')}\nimport json\nprint(json.dumps([mask_url(u) for u in ["redis://u:secret@h:6379/0", "redis://:secret@h/0", "redis://jinja@h:6379/0", "redis://h/0", 5]]))`;
  const { stdout } = await promisify(execFile)('python3', ['-c', code]);
  t.deepEqual(JSON.parse(stdout), ['redis://u:***@h:6379/0', 'redis://***@h/0', 'redis://jinja@h:6379/0', 'redis://h/0', 5]);
});

test('parseProbeOutput: a fingerprint hit takes the costly facts from the cache, a miss gives them to keep', (t) => {
  const part = { horizon: '25.1.0', modules: { django_redis: '5.4.0' }, pip: null, settings: { django: '4.2.28', session_engine: 'django.contrib.sessions.backends.cache', cache: { backend: 'django_redis.cache.RedisCache' }, security: {} } };
  const fresh = parseProbeOutput(probeLine({ python: '3.13.5', executable: 'x', fingerprint: 'f1', costly: part }));
  t.deepEqual(fresh.fingerprint, { value: 'f1', reused: false, part });
  const hit = parseProbeOutput(probeLine({ python: '3.13.5', executable: 'x', fingerprint: 'f1', cached: true }), { fingerprint: 'f1', part });
  t.is(hit.settings?.django, '4.2.28');
  t.is(hit.modules.django_redis, '5.4.0');
  t.true(hit.fingerprint?.reused);
  // Reused facts are only ever the ones the probe was given.
  t.throws(() => parseProbeOutput(probeLine({ python: '3.13.5', executable: 'x', fingerprint: 'f2', cached: true }), { fingerprint: 'f1', part }), { message: /reused facts it was not given/ });
  t.throws(() => parseProbeOutput(probeLine({ python: '3.13.5', executable: 'x', fingerprint: 'f1', cached: true })), { message: /reused facts it was not given/ });
});

test('probe.py masks a password in the query of a cache LOCATION (redis-py reads it as a connection argument), whatever the scheme, and leaves other parameters', async (t) => {
  const cases: [location: string, shown: string][] = [
    ['redis://h:6379/0?password=s3cret', 'redis://h:6379/0?password=***'],
    ['unix:///run/redis/redis.sock?db=0&password=s3cret', 'unix:///run/redis/redis.sock?db=0&password=***'],
    ['rediss://h/0?ssl_cert_reqs=none&password=s3cret&socket_timeout=5', 'rediss://h/0?ssl_cert_reqs=none&password=***&socket_timeout=5'],
    ['redis://h/0?pass%77ord=s3cret', 'redis://h/0?pass%77ord=***'],
    ['redis://h/0?password=s3c@ret#x', 'redis://h/0?password=***'],
    ['redis://u:s3cret@h/0?password=s3cret', 'redis://u:***@h/0?password=***'],
    ['redis://h/0?db=1&username=acl', 'redis://h/0?db=1&username=acl'],
  ];
  const code = `${readFileSync('src/facts/python/probe.py', 'utf8').replace(/if __name__ == "__main__":[\s\S]*$/, '')}\nimport json, sys\nprint(json.dumps([mask_url(u) for u in json.load(sys.stdin)]))`;
  const stdout = execFileSync('python3', ['-c', code], { input: JSON.stringify(cases.map(([l]) => l)), encoding: 'utf8' });
  t.deepEqual(JSON.parse(stdout), cases.map(([, shown]) => shown));
});
