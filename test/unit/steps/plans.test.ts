/**
 * Every step's plan as a table, the way pyinfra tests its operations: {facts, desired} -> the
 * expected plan (action, summary or reason, diff) and the values it gives. No lab: the facts are
 * data, locate.py parses for real, and Horizon's answers are given by each case (see fakes.ts).
 */
import { parseInventory } from '../../../src/inventory/load.js';
import test from 'ava';
import { STEPS } from '../../../src/steps/index.js';
import type { DeployFileChange, FleetStep, HostStep, HostSettingsChange } from '../../../src/steps/types.js';
import type { StepPlan } from '../../../src/runner/results.js';
import type { LibraryAfterRun } from '../../../src/backends/libraries.js';
import type { LibraryFact } from '../../../src/facts/libraries.js';
import type { HorizonFacts } from '../../../src/facts/horizon.js';
import type { Balancer } from '../../../src/facts/balancers.js';
import type { RolloutConfig } from '../../../src/inventory/types.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  COOKIE_SETTINGS,
  CUSTOM,
  DATABASE_SETTINGS,
  REDIS,
  REDIS_SETTINGS,
  desired,
  fleet,
  host,
  inventory,
  probeLine,
  runInfo,
  settings,
  type HostCase,
} from './fakes.js';

type Planned = StepPlan & { gives?: Record<string, unknown> };

async function planHost(step: string, backend: 'redis' | 'memcached' | 'database' | 'cookie', c: HostCase = {}, input: Record<string, unknown> = {}): Promise<Planned> {
  const run = runInfo(await desired(backend));
  return (STEPS[step] as HostStep).plan(host(run, c), input as never) as Promise<Planned>;
}

const text = (p: Planned) => (p.action === 'none' ? p.reason : p.summary);
const change = (over: Partial<HostSettingsChange> = {}): HostSettingsChange => ({ path: CUSTOM, before: null, after: '', changed: false, switches: false, ...over });

test('container-healthy: healthy -> ok; unhealthy -> refused; starting -> asks the login page itself', async (t) => {
  t.is(text(await planHost('container-healthy', 'redis')), 'ok: horizon running, healthy');
  await t.throwsAsync(planHost('container-healthy', 'redis', { container: { health: 'unhealthy' } }), { message: /unhealthy; fix it before switching/ });
  t.regex(text(await planHost('container-healthy', 'redis', { container: { health: 'starting' }, answers: { 'login_page.py': () => '200' } })), /still starting, login page 200/);
  await t.throwsAsync(planHost('container-healthy', 'redis', { container: { health: 'starting' }, answers: { 'login_page.py': () => '502' } }), { message: /login page answers 502/ });
});

test('settings-layout: a Kolla layout names the file it patches; a plain one is refused', async (t) => {
  t.is(text(await planHost('settings-layout', 'redis')), `ok: kolla-local-settings-d, patching ${CUSTOM}`);
  const run = runInfo(await desired('redis'));
  const plain = host(run);
  plain.facts.layout = { layout: 'plain', configDir: null, customFile: null };
  await t.throwsAsync((STEPS['settings-layout'] as HostStep).plan(plain, {} as never), { message: /plain layouts are not switched/ });
});

test('django-version: the client library that fits the Django in the container; settings that do not load are refused', async (t) => {
  t.regex(text(await planHost('django-version', 'redis')), /^ok: Django 4\.2\.28, Python 3\.13\.5; RedisCache, client library django-redis/);
  t.regex(text(await planHost('django-version', 'cookie')), /no client library needed/);
  await t.throwsAsync(planHost('django-version', 'redis', { settings: undefined, horizon: { settings: undefined, settingsError: 'ImportError: x' } }), { message: /settings do not load: ImportError: x/ });
});

test('backend-reachable: judged from the answer the facts probe got in its own process', async (t) => {
  const also = (stdout: unknown) => ({ horizon: { also: { 'redis_check.py': { stdout: JSON.stringify(stdout) } } } });
  t.is(text(await planHost('backend-reachable', 'redis', also({ ok: true, version: '7.0.15', role: 'master' }))), 'ok: Redis 7.0.15 (master) answered PING from the container');
  await t.throwsAsync(planHost('backend-reachable', 'redis', also({ ok: true, version: '7.0.15', role: 'slave' })), { message: /is a slave, not a master/ });
  await t.throwsAsync(planHost('backend-reachable', 'redis', also({ ok: false, error: 'Connection refused' })), { message: /not usable from the horizon container: Connection refused/ });
});

test('backend-login and disk-space: a check after the install; room for the backups or a refusal', async (t) => {
  t.regex(text(await planHost('backend-login', 'database')), /^ok: the driver was there at preflight/);
  t.is((await planHost('backend-login', 'database', { horizon: { modules: {} } })).action, 'check', 'after the driver install');
  t.is(text(await planHost('disk-space', 'redis', { free: 200 * 1024 * 1024 })), 'ok: 200 MiB free');
  await t.throwsAsync(planHost('disk-space', 'redis', { free: 1024 }), { message: /only 1 KiB free .* need 16 MiB/ });
});

test('install-client-library: nothing when the module imports; an install into the writable layer when missing; refused without pip', async (t) => {
  t.regex(text(await planHost('install-client-library', 'redis')), /^no change: django_redis 5\.4\.0 already imports$/);
  const missing = { horizon: { modules: { redis: '4.3.4' } } };
  const install = await planHost('install-client-library', 'redis', missing);
  t.is(install.action, 'change');
  t.regex(text(install), /^install 'django-redis>=5\.4,<7' \(Django 4\.2: supported from django-redis 5\.4, and 7 needs Django>=5\.2\) into the container's writable layer \(pip: it chooses in that range;/);
  await t.throwsAsync(planHost('install-client-library', 'redis', { horizon: { modules: {}, pip: null } }), { message: /pip is not installed/ });
  t.regex(text(await planHost('install-client-library', 'cookie')), /needs no extra library/);
});

test('install-client-library for Redis Cluster: sessionctl\'s own module beside django-redis, alone when django-redis is there, nothing when both import', async (t) => {
  const inv = parseInventory(['hosts:', '  dash1: { address: 10.0.0.1 }', 'session:', '  redis: { url: "redis://10.0.0.81:7000/0", cluster: { nodes: ["10.0.0.81:7000"] } }', ''].join('\n'), 'inv.yaml', { HOME: '/home/op' });
  const both = await planInstall({ horizon: { modules: { redis: '4.3.4' } } }, {}, inv);
  t.regex(text(both), /^install 'django-redis\S*' \(.*\) and sessionctl_redis_cluster 1\.0\.0 \(sessionctl's own module, as a wheel made in the container, pip --no-index --no-deps\) into the container's writable layer/);
  const own = after(both).find((l) => l.module === 'sessionctl_redis_cluster');
  t.like(own, { origin: 'container layer', installs: true, pin: null });
  t.regex(own?.why ?? '', /not on PyPI: copy src\/backends\/python\/sessionctl_redis_cluster\.py into the image/);
  t.regex(text(await planInstall({ horizon: { modules: { django_redis: '5.4.0', redis: '4.3.4' } } }, {}, inv)), /^install sessionctl_redis_cluster 1\.0\.0 .*; django_redis 5\.4\.0 already imports$/);
  t.regex(text(await planInstall({ horizon: { modules: { django_redis: '5.4.0', redis: '4.3.4', sessionctl_redis_cluster: '1.0.0' } } }, {}, inv)), /^no change: django_redis 5\.4\.0 already imports$/);
  await t.throwsAsync(planInstall({ horizon: { modules: { django_redis: '5.4.0', redis: '4.3.4' }, pip: null } }, {}, inv), { message: /sessionctl_redis_cluster .* needs pip/ });
});

/** install-client-library's plan with its own inventory and flags (install method, pin, wheelhouse). */
async function planInstall(c: HostCase, flags: Parameters<typeof desired>[2] = {}, inv = inventory(), backend: 'redis' | 'database' = 'redis'): Promise<Planned> {
  const run = runInfo(await desired(backend, inv, flags));
  return (STEPS['install-client-library'] as HostStep).plan(host(run, c), {} as never) as Promise<Planned>;
}
const after = (p: Planned) => p.gives!.libraries as LibraryAfterRun[];
const layerFact = (module: string, version: string, dist: string | null): LibraryFact => ({
  module, origin: 'container layer', version, path: `/usr/local/lib/python3.11/dist-packages/${module}`, dist: dist ? { name: dist, version } : null,
});

test('install-client-library gives the target libraries after the run: baked into the image (Kolla 2026.1) -> no install and nothing in the layer', async (t) => {
  const p = await planInstall({ horizon: { modules: { django_redis: '6.0.0', redis: '5.0.1' } } });
  t.is(p.action, 'none');
  t.deepEqual(after(p), [{ module: 'django_redis', origin: 'image', installs: false, pin: null }]);
});

test('install-client-library: a missing library lands in the container layer, pinned as exactly as known before the install', async (t) => {
  const missing = { horizon: { modules: { redis: '4.3.4' } } };
  const known = await planInstall(missing);
  t.is(known.action, 'change');
  t.deepEqual(after(known), [
    { module: 'django_redis', origin: 'container layer', installs: true, pin: { package: 'django-redis', version: '6.0.0', from: 'known', range: 'django-redis>=5.4,<7', django: '4.2.28' } },
  ]);
  const pinned = await planInstall(missing, {}, inventory(2, 'install: { version: "5.4.0" }'));
  t.deepEqual(after(pinned)[0]!.pin, { package: 'django-redis', version: '5.4.0', from: 'inventory' });
  const wheels = mkdtempSync(join(tmpdir(), 'sessionctl-wheels-'));
  for (const v of ['5.2.0', '5.4.0', '6.0.0']) writeFileSync(join(wheels, `django_redis-${v}-py3-none-any.whl`), '');
  const zed = { horizon: { modules: { redis: '4.3.4' } }, settings: settings({ django: '3.2.19' }) };
  const fromWheels = await planInstall(zed, { installMethod: 'wheelhouse', wheelhouse: wheels });
  t.deepEqual(after(fromWheels)[0]!.pin, { package: 'django-redis', version: '5.4.0', from: 'wheelhouse' }, 'the newest wheel for Django 3.2, as pip takes it');
});

test('install-client-library: already only in the container layer -> no install, pinned as pip names what imports', async (t) => {
  const p = await planInstall({ libraries: { django_redis: layerFact('django_redis', '5.4.0', 'django-redis') } });
  t.is(p.action, 'none');
  t.deepEqual(after(p), [{ module: 'django_redis', origin: 'container layer', installs: false, pin: { package: 'django-redis', version: '5.4.0', from: 'installed' } }]);
});

test("install-client-library: a database driver sessionctl does not install (mysqlclient) is judged all the same", async (t) => {
  const p = await planInstall({ libraries: { MySQLdb: layerFact('MySQLdb', '2.2.4', 'mysqlclient') } }, {}, inventory(), 'database');
  t.is(text(p), 'no change: this backend needs no extra library here');
  t.deepEqual(after(p), [{ module: 'MySQLdb', origin: 'container layer', installs: false, pin: { package: 'mysqlclient', version: '2.2.4', from: 'installed' } }]);
});

test('the plan warning from fake facts: three hosts lacking django_redis -> one warning before confirmation and one override; after the apply, the version installed', async (t) => {
  const { Runner } = await import('../../../src/runner/runner.js');
  const { loadPlaybook } = await import('../../../src/playbook/load.js');
  const { libraryDurabilityOf } = await import('../../../src/commands/apply.js');
  const run = runInfo(await desired('redis'));
  const reachable = { 'redis_check.py': { stdout: JSON.stringify({ ok: true, version: '7.0.15', role: 'master' }) } };
  const lacking: HostCase = { horizon: { modules: { redis: '4.3.4' }, also: reachable }, answers: { probe: () => probeLine(REDIS_SETTINGS), 'carry.py': () => ({ supported: false, why: 'x' }) } };
  const ctx = fleet(run, [lacking, lacking, lacking]);
  const runner = new Runner(await loadPlaybook('redis', STEPS), STEPS, ctx, () => undefined);
  const plan = await runner.plan();
  t.deepEqual(plan.failed, []);
  const before = libraryDurabilityOf(runner, ctx);
  t.is(before.warnings.length, 2, before.warnings.join('\n'));
  t.regex(before.warnings[0]!, /^django_redis will be only in the horizon container's writable layer on dash1, dash2, dash3 \(this run installs it there\)/);
  t.regex(before.warnings[1]!, /^django-redis==6\.0\.0 is the newest django-redis known to fit Django 4\.2\.28; pip chooses in django-redis>=5\.4,<7/);
  t.deepEqual(before.overrides.map((o) => o.template), ["{% extends parent_template %}\n{% set horizon_pip_packages_append = ['django-redis==6.0.0'] %}\n"]);
  // What the install's apply gives replaces the guess with the version the containers have.
  const installed = { module: 'django_redis', version: '5.4.0', dist: { name: 'django-redis', version: '5.4.0' } };
  const applied = libraryDurabilityOf({ hostValue: ((h: string, k: string) => (k === 'installed' ? installed : runner.hostValue(h, 'libraries'))) as never }, ctx, true);
  t.deepEqual(applied.overrides.map((o) => [o.hosts, o.packages]), [[['dash1', 'dash2', 'dash3'], ['django-redis==5.4.0']]]);
  t.is(applied.warnings.length, 1, 'no guess left to explain');
});

test('patch-settings: a backend already in use but set outside sessionctl is no change, and the host does not switch', async (t) => {
  for (const [backend, s] of [
    ['memcached', settings()],
    ['redis', REDIS_SETTINGS],
    ['database', DATABASE_SETTINGS],
    ['cookie', COOKIE_SETTINGS],
  ] as const) {
    const p = await planHost('patch-settings', backend, { settings: s, file: '# Kolla renders the backend in _9998\n' });
    t.is(p.action, 'none', backend);
    t.regex(text(p), /set outside sessionctl/, backend);
    const given = p.gives!.settings as HostSettingsChange;
    t.deepEqual([given.path, given.changed, given.switches, given.after], [CUSTOM, false, false, '# Kolla renders the backend in _9998\n'], backend);
  }
});

test('patch-settings: a switch writes the managed block, comments out the old setting, validates it through the next start, and gives the new text', async (t) => {
  const file = "# operator\nSESSION_ENGINE = 'django.contrib.sessions.backends.file'\n";
  const overlays: unknown[] = [];
  const p = await planHost('patch-settings', 'redis', { file, answers: { probe: (input) => (overlays.push(input.overlay), probeLine(REDIS_SETTINGS)) } });
  t.is(p.action, 'change');
  t.is(text(p), `write the managed block into ${CUSTOM}; comments out SESSION_ENGINE (line 2)`);
  t.regex(p.action === 'change' ? p.diff ?? '' : '', /^-SESSION_ENGINE = 'django\.contrib\.sessions\.backends\.file'$/m);
  t.regex(p.action === 'change' ? p.diff ?? '' : '', /^\+# BEGIN sessionctl managed block/m);
  const given = p.gives!.settings as HostSettingsChange;
  t.true(given.changed && given.switches);
  t.is(given.before?.content.toString(), file);
  t.regex(given.after, /^CACHES = /m);
  t.deepEqual(Object.keys(overlays[0] as object), ['_9999-custom-settings.py'], 'validated with the patched file served in place of the one Kolla copies');
});

test('patch-settings: a later snippet that overrides the block stops the plan; a file that does not parse is refused', async (t) => {
  await t.throwsAsync(planHost('patch-settings', 'redis', { answers: { probe: () => probeLine(settings()) } }), { message: /Django would not use the new backend: SESSION_ENGINE|CACHES\['default'\] BACKEND would be .*PyMemcacheCache.*nothing was written/ });
  await t.throwsAsync(planHost('patch-settings', 'redis', { file: 'SESSION_ENGINE = (\n' }), { message: new RegExp(`${CUSTOM}:1:\\d+: .*fix it first`) });
});

test('patch-settings: our block already there and running -> no change; there but not running yet -> no write, but the host switches', async (t) => {
  const first = await planHost('patch-settings', 'redis', { answers: { probe: () => probeLine(REDIS_SETTINGS) } });
  const patched = (first.gives!.settings as HostSettingsChange).after;
  const running = await planHost('patch-settings', 'redis', { file: patched, settings: REDIS_SETTINGS });
  t.is(text(running), `no change: ${CUSTOM} already has this managed block`);
  t.false((running.gives!.settings as HostSettingsChange).switches);
  const pending = await planHost('patch-settings', 'redis', { file: patched, answers: { probe: () => probeLine(REDIS_SETTINGS) } });
  t.is(pending.action, 'none');
  t.true((pending.gives!.settings as HostSettingsChange).switches, 'the restart step restarts it');
});

const UWSGI: Partial<HorizonFacts> = {
  webServer: { kind: 'uwsgi', config: '/etc/horizon/horizon-uwsgi.ini', listen: [{ scheme: 'http', address: '10.0.0.11:8080' }], master: true, lazyApps: true },
  kollaEntries: { '_9999-custom-settings.py': { dest: '/etc/openstack-dashboard/local_settings.d/_9999-custom-settings.py', owner: 'horizon', perm: '0600' } },
};

test('restart: a changed file, or a file that says the new backend while Horizon does not run it yet; otherwise nothing', async (t) => {
  const restart = (s: HostSettingsChange, c: HostCase = {}) => planHost('restart', 'redis', c, { settings: s });
  const changed = await restart(change({ changed: true, switches: true }), { horizon: UWSGI });
  t.is(text(changed), "copy _9999-custom-settings.py into the container as Kolla's config.json does, then reload uWSGI one worker at a time (SIGHUP between two requests; the next once the new one has loaded Horizon); no restart, nothing recompressed");
  t.deepEqual(changed.gives, { method: 'reload', drain: [] });
  const pending = await restart(change({ switches: true }), { horizon: UWSGI });
  t.regex(text(pending), /^copy .* nothing recompressed: the file is already patched but the running Horizon still has CACHES\['default'\] BACKEND would be .*PyMemcacheCache/);
  const none = await restart(change(), { settings: REDIS_SETTINGS, horizon: UWSGI });
  t.deepEqual([none.action, text(none), none.gives], ['none', 'no change: Horizon already runs with this backend', { method: false, drain: [] }]);
});

test('restart: reload where it can be done, else a restart that says why; rollout.method decides', async (t) => {
  const plan = async (horizon: Partial<HorizonFacts>, method: RolloutConfig['method'] = 'auto') => {
    const run = { ...runInfo(await desired('redis')), rollout: { serial: 1, maxFail: 0, method } };
    return (STEPS.restart as HostStep).plan(host(run, { horizon }), { settings: change({ changed: true, switches: true }) } as never) as Promise<Planned>;
  };
  const apache = await plan({ ...UWSGI, webServer: { kind: 'apache', config: '/etc/apache2', listen: [] } });
  t.deepEqual([apache.gives, text(apache)], [{ method: 'reload', drain: [] }, "copy _9999-custom-settings.py into the container as Kolla's config.json does, then reload Apache gracefully (SIGUSR1); no restart, nothing recompressed"]);
  const eager = await plan({ ...UWSGI, webServer: { ...UWSGI.webServer!, lazyApps: false } });
  t.deepEqual(eager.gives, { method: 'restart', drain: [] });
  t.is(text(eager), "restart horizon (stop timeout 10s; no graceful reload: uWSGI runs without lazy-apps: its workers fork the master's loaded app, so a reloaded worker keeps the old settings); Kolla's start regenerates the static files");
  t.regex(text(await plan({ ...UWSGI, webServer: { ...UWSGI.webServer!, master: false } })), /no graceful reload: uWSGI runs without a master/);
  t.regex(text(await plan({ ...UWSGI, kollaEntries: {} })), /no graceful reload: Kolla's config\.json does not copy _9999-custom-settings\.py into the container/);
  t.regex(text(await plan({ ...UWSGI, webServer: { kind: 'unknown', config: null, listen: [], pid1: 'gunicorn' } })), /no graceful reload: the container's main process \(gunicorn\) is neither Apache nor uWSGI/);
  t.regex(text(await plan(UWSGI, 'restart')), /^restart horizon \(stop timeout 10s; rollout\.method is restart \(or --restart\)\)/);
  t.is((await plan(UWSGI, 'reload')).gives!.method, 'reload');
  await t.throwsAsync(plan({ ...UWSGI, kollaEntries: {} }, 'reload'), { message: /rollout\.method is reload, but Kolla's config\.json does not copy .*; use rollout\.method auto .* or --restart/ });
});

test('restart behind a drain: every load balancer admin and knowing the server -> drained, then ready; else the plan says why not and restarts as before', async (t) => {
  const lb = (host: string, level = 'admin', servers: Record<string, string[]> = { horizon_back: ['dash1', 'dash2'], horizon_external_back: ['dash1'] }): Balancer => ({
    host, socket: null, level, servers: Object.fromEntries(Object.entries(servers).map(([b, names]) => [b, Object.fromEntries(names.map((n) => [n, { status: 'UP', sessions: 0 }]))])),
  });
  const config = { hosts: ['ctl1', 'ctl2'], container: 'haproxy', socket: '/var/lib/kolla/haproxy/haproxy.sock', backends: ['horizon_back', 'horizon_external_back'], servers: {} as Record<string, string> };
  const plan = async (found: Balancer[], servers: Record<string, string> = {}, method: RolloutConfig['method'] = 'restart') => {
    const run = { ...runInfo(await desired('redis')), rollout: { serial: 1, maxFail: 0, method }, balancers: { config: { ...config, servers }, found } };
    return (STEPS.restart as HostStep).plan(host(run, { horizon: UWSGI }), { settings: change({ changed: true, switches: true }) } as never) as Promise<Planned>;
  };
  const drained = await plan([lb('ctl1'), lb('ctl2', 'admin', { horizon_back: ['dash1'] })]);
  t.deepEqual(drained.gives!.drain, [
    { lb: 'ctl1', backend: 'horizon_back', server: 'dash1' },
    { lb: 'ctl1', backend: 'horizon_external_back', server: 'dash1' },
    { lb: 'ctl2', backend: 'horizon_back', server: 'dash1' },
  ]);
  t.regex(text(drained), /^drain dash1 on ctl1 \(horizon_back, horizon_external_back\), ctl2 \(horizon_back\) until it serves no request, then restart horizon/);
  t.deepEqual((await plan([lb('ctl1', 'admin', { horizon_back: ['ctl-a'] })], { dash1: 'ctl-a' })).gives!.drain, [{ lb: 'ctl1', backend: 'horizon_back', server: 'ctl-a' }], 'loadbalancer.servers names it');
  const operator = await plan([lb('ctl1'), lb('ctl2', 'operator')]);
  t.deepEqual(operator.gives!.drain, []);
  t.regex(text(operator), /; no drain \(requests to it may fail\): HAProxy's socket on ctl2 is operator level and a drain needs admin \(kolla-ansible: haproxy_socket_level_admin: true\)$/);
  t.regex(text(await plan([{ ...lb('ctl1'), error: 'cannot connect' }])), /no drain .*: ctl1: cannot connect$/);
  t.regex(text(await plan([lb('ctl1', 'admin', { horizon_back: ['dash2'] })])), /no drain .*: HAProxy on ctl1 has no server 'dash1' in horizon_back, horizon_external_back/);
  t.deepEqual((await plan([lb('ctl1')], {}, 'auto')).gives, { method: 'reload', drain: [] }, 'a reload needs no drain');

  t.regex(text(await planHost('lb-ready', 'redis', {}, { drain: drained.gives!.drain })), /^set dash1 on ctl1 \(horizon_back, horizon_external_back\), ctl2 \(horizon_back\) ready again; wait up to 300s until HAProxy sees it UP$/);
  t.is(text(await planHost('lb-ready', 'redis', {}, { drain: [] })), 'not drained');
});

test('health-gate and verify-settings: a check on a host that loads new settings, nothing otherwise; verify judges what the gate read, then what the web server serves', async (t) => {
  t.is((await planHost('health-gate', 'redis', {}, { method: 'reload' })).action, 'check');
  t.is(text(await planHost('health-gate', 'redis', {}, { method: false })), 'no change: nothing loaded');
  t.regex(text(await planHost('verify-settings', 'redis', {}, { method: 'restart' })), /post the login form to http:\/\/127\.0\.0\.1\/auth\/login\/: the session it makes must be in Redis/);
  const run = runInfo(await desired('redis'));
  const verify = STEPS['verify-settings'] as HostStep;
  const served = (answer: unknown) => host(run, { answers: { 'session.py': () => answer } });
  const apply = (s: ReturnType<typeof settings>, answer: unknown = {}) =>
    verify.apply!(served(answer), { method: 'reload', restarted: host(run, { settings: s }).facts.horizon, plan: { action: 'check', summary: '' } } as never, () => undefined);
  await t.throwsAsync(apply(settings()), { message: /after the reload CACHES\['default'\] BACKEND would be/ });
  await t.throwsAsync(apply(REDIS_SETTINGS, { engine: 'x', error: 'the login page answered 302 without a login form' }), { message: /could not have http:\/\/127\.0\.0\.1\/auth\/login\/ make a session: the login page answered 302/ });
  await t.throwsAsync(apply(REDIS_SETTINGS, { engine: 'x', key: 'k'.repeat(32), value: null }), { message: /the session http:\/\/127\.0\.0\.1\/auth\/login\/ made \(k+\) is not in Redis at .* in 3 tries: the serving processes do not use the new backend/ });
});

test('verify-settings: a served session lost once (a failover) is tried again and the miss is said', async (t) => {
  const run = runInfo(await desired('cookie', inventory(), { allowInsecureCookieSessions: true }));
  const verify = STEPS['verify-settings'] as HostStep;
  const answers = [{ engine: 'x', key: 'k'.repeat(32), value: null }, { engine: 'x', key: 'k'.repeat(32), value: 'credentials' }];
  let asked = 0;
  const ctx = host(run, { answers: { 'session.py': () => answers[Math.min(asked++, 1)] } });
  const restarted = host(run, { settings: settings({ sessionEngine: 'django.contrib.sessions.backends.signed_cookies' }) }).facts.horizon;
  const out = await verify.apply!(ctx, { method: 'reload', restarted, plan: { action: 'check', summary: '' } } as never, () => undefined);
  t.is(asked, 2);
  t.regex(JSON.stringify(out), /makes signed-cookie sessions; 1 earlier try missed \(first: the session http:\S+ made \(k+\) is not in signed cookies/);
});

async function planFleet(step: string, backend: 'redis' | 'memcached' | 'database' | 'cookie', hosts: HostCase[], input: Record<string, unknown>, flags: { carrySessions?: boolean } = {}, inv = inventory()) {
  const run = runInfo(await desired(backend, inv, flags));
  const ctx = fleet(run, hosts);
  const values = input.hosts as Record<string, unknown>[] | undefined;
  return (STEPS[step] as FleetStep).plan(ctx, { ...input, hosts: ctx.hosts.map((h, i) => ({ ctx: h, ...(values?.[i] ?? {}) })) } as never) as Promise<Planned>;
}

test('secret-key-consistent: one key everywhere, or a refusal naming the hosts of each', async (t) => {
  t.is(text(await planFleet('secret-key-consistent', 'redis', [{}, {}], {})), 'ok: 2 host(s) share one SECRET_KEY');
  await t.throwsAsync(planFleet('secret-key-consistent', 'redis', [{}, { settings: settings({ secretKeySha256: 'z'.repeat(16) }) }], {}), { message: /SECRET_KEY differs between hosts \(dash1: sha256 k+; dash2: sha256 z+\)/ });
});

test('migrate-sessions: the table seen through the patched settings decides; the migration runs on the first host only', async (t) => {
  const seen: unknown[] = [];
  const answer = (tables: string[]) => ({ probe: (input: Record<string, unknown>) => (seen.push(input), probeLine(DATABASE_SETTINGS, { tables })) });
  const s = { settings: change({ after: 'X = 1\n' }) };
  t.is(text(await planFleet('migrate-sessions', 'database', [{ answers: answer(['django_session']) }, {}], { hosts: [s, s] })), 'no change: django_session already exists (seen from dash1)');
  t.is(text(await planFleet('migrate-sessions', 'database', [{ answers: answer([]) }, {}], { hosts: [s, s] })), 'run the sessions migration once, on dash1, before any restart');
  t.deepEqual(seen[0], { overlay: { '_9999-custom-settings.py': 'X = 1\n' }, tables: true });
});

test('kolla-override: none without a deploy host; the same block where the deploy host lacks it; nothing when it has it', async (t) => {
  const none = await planFleet('kolla-override', 'redis', [{}], {});
  t.deepEqual([none.action, none.gives], ['none', { deployFile: [] }]);
  const run = runInfo(await desired('redis'));
  const ctx = fleet(run, [{ answers: { probe: () => probeLine(REDIS_SETTINGS) } }]);
  const { fakeFiles } = await import('./fakes.js');
  const files: Record<string, string> = {};
  ctx.deploy = { name: 'deploy', files: fakeFiles(files), dir: '/etc/kolla/config/horizon', dashboards: ['dash1'] };
  const write = (await (STEPS['kolla-override'] as FleetStep).plan(ctx, { hosts: [] } as never)) as Planned;
  t.is(text(write), 'write the block into deploy:/etc/kolla/config/horizon/_9999-custom-settings.py (read by dash1)');
  const [file] = write.gives!.deployFile as DeployFileChange[];
  const patched = (await (STEPS['patch-settings'] as HostStep).plan(ctx.hosts[0]!, {} as never)) as Planned;
  const block = (s: string) => s.slice(s.indexOf('# BEGIN sessionctl'));
  t.is(block(file!.after), block((patched.gives!.settings as HostSettingsChange).after), "the deploy host's file says exactly what the host's own says");
  files['/etc/kolla/config/horizon/_9999-custom-settings.py'] = file!.after;
  t.regex(text((await (STEPS['kolla-override'] as FleetStep).plan(ctx, { hosts: [] } as never)) as Planned), /^no change: deploy:.* already has this block$/);
});

test('carry-sessions: from the first switching host; not asked, not possible (and why), or nothing to copy', async (t) => {
  const switching = { settings: change({ changed: true, switches: true, after: 'X = 1\n' }) };
  const idle = { settings: change() };
  const count = (answer: unknown) => ({ answers: { 'carry.py': () => answer } });
  const none = await planFleet('carry-sessions', 'redis', [{}, {}], { hosts: [idle, idle] });
  t.deepEqual([text(none), none.gives], ['no change: nothing is switched', { carry: { route: null } }]);
  const off = await planFleet('carry-sessions', 'redis', [{}, {}], { hosts: [idle, switching] }, { carrySessions: false });
  t.regex(text(off), /^not asked/);
  const cannot = await planFleet('carry-sessions', 'redis', [{}, count({ supported: false, why: 'memcached 10.0.0.5:11211 cannot list its keys' })], { hosts: [idle, switching] });
  t.deepEqual(cannot.gives, { carry: { route: null, cannot: 'memcached 10.0.0.5:11211 cannot list its keys' } });
  const carry = await planFleet('carry-sessions', 'redis', [{}, count({ supported: true, live: 12 })], { hosts: [idle, switching] });
  t.is(text(carry), 'copy the 12 live sessions from memcached at 10.0.0.5:11211 into Redis at redis://10.0.0.50:6379/0 before the first restart (on dash2), and again after the last (a newer copy wins)');
  t.is((carry.gives!.carry as { route: { carrier: { host: { name: string } } } }).route.carrier.host.name, 'dash2', 'the first host being switched copies');
  t.regex(text(await planFleet('carry-sessions', 'redis', [count({ supported: true, same: true })], { hosts: [switching] })), /name the same backend/);
});

test('carry-sessions-again and cross-host-session: only when sessions were carried, and only when a host switched', async (t) => {
  t.is(text(await planFleet('carry-sessions-again', 'redis', [{}], { carry: { route: null } })), 'no session is carried in this run');
  t.is((await planFleet('carry-sessions-again', 'redis', [{}], { carry: { route: { from: 'memcached' } } })).action, 'check');
  t.is(text(await planFleet('cross-host-session', 'redis', [{}, {}], { hosts: [{ method: false }, { method: false }] })), 'no change: nothing was switched');
  t.regex(text(await planFleet('cross-host-session', 'redis', [{}, {}], { hosts: [{ method: false }, { method: 'reload' }] })), /^write a session on dash1 .* read it on dash2, find it in Redis/);
});

test('every step has a plan table here', (t) => {
  const covered = ['container-healthy', 'settings-layout', 'django-version', 'backend-reachable', 'backend-login', 'disk-space', 'secret-key-consistent', 'install-client-library', 'backend-loads', 'patch-settings', 'restart', 'health-gate', 'verify-settings', 'lb-ready', 'kolla-override', 'migrate-sessions', 'carry-sessions', 'carry-sessions-again', 'cross-host-session'];
  t.deepEqual(Object.keys(STEPS).sort(), covered.sort());
});

test('every backend already in use but set outside sessionctl: the whole playbook plans no change (Kolla memcached, Kolla database, hand-written Redis, cookies)', async (t) => {
  const { Runner } = await import('../../../src/runner/runner.js');
  const { loadPlaybook } = await import('../../../src/playbook/load.js');
  const ok = JSON.stringify({ ok: true, version: '7.0.15', role: 'master', servers: [{ server: '10.0.0.5:11211', ok: true, version: '1.6.21' }], server: 'MariaDB 10.11', driver: 'MySQLdb', can_create: true });
  const also = Object.fromEntries(['redis_check.py', 'memcached_check.py', 'db_check.py'].map((s) => [s, { stdout: ok }]));
  for (const [backend, s] of [
    ['memcached', settings()],
    ['database', DATABASE_SETTINGS],
    ['redis', REDIS_SETTINGS],
    ['cookie', COOKIE_SETTINGS],
  ] as const) {
    const run = runInfo(await desired(backend));
    const hostCase: HostCase = { settings: s, horizon: { also }, answers: { probe: () => probeLine(s, { tables: ['django_session'] }) } };
    const ctx = fleet(run, [hostCase, hostCase, hostCase]);
    const plan = await new Runner(await loadPlaybook(backend, STEPS), STEPS, ctx, () => undefined).plan();
    t.deepEqual(plan.failed, [], backend);
    t.false(plan.changes, `${backend}: no step plans a change`);
    const actions = [...Object.values(plan.hosts).flat(), ...plan.fleet].map((p) => `${p.step}:${p.plan!.action}`);
    t.false(actions.some((a) => a.endsWith(':change') || a.endsWith(':check')), `${backend}: ${actions.join(' ')}`);
  }
});

test("install-client-library refuses at plan time a wheelhouse with only bookworm's PyMySQL 1.0.2 on Django 4.2, naming what is there and what is needed; 1.1.1 is taken", async (t) => {
  const wheels = mkdtempSync(join(tmpdir(), 'sessionctl-wheels-'));
  writeFileSync(join(wheels, 'pymysql-1.0.2-py3-none-any.whl'), '');
  const noDriver = { horizon: { modules: {} } };
  await t.throwsAsync(planInstall(noDriver, { installMethod: 'wheelhouse', wheelhouse: wheels }, inventory(), 'database'), {
    message: new RegExp(`the wheelhouse ${wheels} holds PyMySQL 1\\.0\\.2, and this container needs PyMySQL>=1\\.1 \\(Django 4\\.2 needs mysqlclient>=1\\.4\\.3; PyMySQL reports that from 1\\.1\\).*nothing was changed`),
  });
  const zed = { ...noDriver, settings: settings({ django: '3.2.19' }) };
  t.regex(text(await planInstall(zed, { installMethod: 'wheelhouse', wheelhouse: wheels }, inventory(), 'database')), /^install 'PyMySQL>=1\.0' \(Django 3\.2 needs mysqlclient>=1\.4\.0; .*\(wheelhouse: PyMySQL 1\.0\.2 there;/, 'Django 3.2 takes 1.0.2');
  writeFileSync(join(wheels, 'pymysql-1.1.1-py3-none-any.whl'), '');
  const ok = await planInstall(noDriver, { installMethod: 'wheelhouse', wheelhouse: wheels }, inventory(), 'database');
  t.regex(text(ok), /^install 'PyMySQL>=1\.1' \(Django 4\.2 needs mysqlclient>=1\.4\.3; PyMySQL reports that from 1\.1\) into the container's writable layer \(wheelhouse: PyMySQL 1\.1\.1 there;/);
});

test('install-client-library refuses a pinned version outside the range; django-version what already imports when it does not fit', async (t) => {
  await t.throwsAsync(planInstall({ horizon: { modules: {} } }, {}, inventory(2, 'install: { version: "1.0.2" }'), 'database'), { message: /install\.version 1\.0\.2 does not fit: this container needs PyMySQL>=1\.1/ });
  // What already imports: judged by django-version, the first step that knows Django.
  const run = runInfo(await desired('database'));
  await t.throwsAsync((STEPS['django-version'] as HostStep).plan(host(run, { horizon: { modules: { pymysql: '1.0.2' } } }), {} as never), { message: /PyMySQL 1\.0\.2 is in the container, and this container needs PyMySQL>=1\.1/ });
  const cluster = parseInventory(['hosts:', '  dash1: { address: 10.0.0.1 }', 'session:', '  redis: { url: "redis://10.0.0.81:7000/0", cluster: { nodes: ["10.0.0.81:7000"] } }', ''].join('\n'), 'inv.yaml', { HOME: '/home/op' });
  const clusterRun = runInfo(await desired('redis', cluster));
  await t.throwsAsync((STEPS['django-version'] as HostStep).plan(host(clusterRun, { horizon: { modules: { django_redis: '5.4.0', redis: '3.5.3' } } }), {} as never), { message: /redis-py 3\.5\.3 is in the container, and this container needs redis \(cluster\)>=4\.1/ });
  await t.notThrowsAsync((STEPS['django-version'] as HostStep).plan(host(clusterRun, { horizon: { modules: { django_redis: '5.4.0', redis: '4.3.4' } } }), {} as never));
});

test('backend-loads: a check before any settings write when the host switches; nothing when Horizon already runs the backend or loads no library', async (t) => {
  const p = await planHost('backend-loads', 'database');
  t.is(p.action, 'check');
  t.regex(text(p), /database backend \(driver and Django's version check\) in the container with the new settings overlaid, before any settings file is written/);
  t.regex(text(await planHost('backend-loads', 'redis')), /cache backend with its client/);
  t.is(text(await planHost('backend-loads', 'redis', { settings: REDIS_SETTINGS })), 'no change: Horizon already runs this backend');
  t.is(text(await planHost('backend-loads', 'cookie')), 'no change: the new backend loads no client library');
});

test("backend-loads: Django's own refusal becomes the host's error, with the libraries and their versions", async (t) => {
  const { loadFailure } = await import('../../../src/steps/backend-loads.js');
  t.is(loadFailure('4.2.28', 'database backend django.db.backends.mysql', { ok: true, versions: { pymysql: '1.1.1' } }), null);
  t.is(
    loadFailure('4.2.28', 'database backend django.db.backends.mysql', { ok: false, versions: { MySQLdb: '1.0.2', pymysql: '1.0.2' }, error: 'ImproperlyConfigured: mysqlclient 1.4.3 or newer is required; you have 1.0.2.' }),
    'Django 4.2.28 cannot load the database backend django.db.backends.mysql with the new settings (MySQLdb 1.0.2, pymysql 1.0.2): ImproperlyConfigured: mysqlclient 1.4.3 or newer is required; you have 1.0.2.',
  );
  t.regex(loadFailure('4.2.28', 'cache backend', { ok: false, versions: {}, error: 'x\u001b[2Jy' }) ?? '', /no client library imported\): x.*y$/);
  t.false((loadFailure('4.2.28', 'cache backend', { ok: false, versions: {}, error: 'x\u001b[2Jy' }) ?? '').includes('\u001b'), 'shown via forTerminal');
});

test("install-client-library with the distro method: Debian's psycopg2 is judged by Django's rule, not psycopg2-binary's wheels", async (t) => {
  const inv = parseInventory(['hosts:', '  dash1: { address: 10.0.0.1 }', 'session:', '  database: { engine: postgresql, host: "10.0.0.60", name: horizon, user: horizon, password_env: DB_PASSWORD }', ''].join('\n'), 'inv.yaml', { HOME: '/home/op' });
  const pip = await planInstall({ horizon: { modules: {} } }, {}, inv, 'database');
  t.regex(text(pip), /^install 'psycopg2-binary>=2\.9\.10' \(Django 4\.2 needs psycopg2>=2\.8\.4; psycopg2-binary has wheels for Python 3\.13 from 2\.9\.10\)/);
  // apt-cache policy in the container: its candidate judged by the range (read-only, at plan time).
  const withCandidate = async (candidate: string) => {
    const ctx = host(runInfo(await desired('database', inv, { installMethod: 'distro' })), { horizon: { modules: {} } });
    ctx.engine = { ...ctx.engine, exec: async (_c, argv) => ({ code: 0, stdout: Buffer.from(argv.includes('python3-psycopg2') ? `python3-psycopg2:\n  Installed: (none)\n  Candidate: ${candidate}\n` : ''), stderr: Buffer.alloc(0), display: 'apt-cache' }) };
    return (STEPS['install-client-library'] as HostStep).plan(ctx, {} as never) as Promise<Planned>;
  };
  t.regex(text(await withCandidate('2.9.5-1')), /^install python3-psycopg2, for psycopg2>=2\.8\.4 \(Django 4\.2 needs psycopg2>=2\.8\.4\) into the container's writable layer \(distro: candidate 2\.9\.5-1;/);
  await t.throwsAsync(withCandidate('2.8.3-1'), { message: /apt-cache policy python3-psycopg2: candidate 2\.8\.3-1\) holds psycopg2 2\.8\.3, and this container needs psycopg2>=2\.8\.4/ });
});
