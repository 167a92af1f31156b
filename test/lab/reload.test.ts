/**
 * Issue 15 on the real lab: a switch under load through HAProxy (configured as kolla-ansible
 * configures horizon_back) fails no request, because each host loads the new settings by a
 * graceful reload of its web server instead of a restart. Checked where users and operators meet
 * it, never through sessionctl's own report alone: the load generator's answers, Docker's view of
 * the serving processes, a session made by each web server (curl, as a browser) read out of Redis,
 * the settings files byte for byte on the host and in the container, Django in each container.
 */
import test, { type ExecutionContext } from 'ava';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { LAB_LOADBALANCER, cli, effectiveBackends, fleetSnapshot, labsFor, labWheelhouse, onHost, redisCli, redisInventory, runs, scratch, skipUnlessRuns } from './harness.js';
import { haproxyStates, labLoadBalancer, labReset, servedSessionKey, withLoad, type LabInfo, type LoadBalancer, type LoadCounts } from './lab.js';
import type { StatusReport, SwitchReport } from '../../src/report/types.js';

const CUSTOM = '/etc/kolla/horizon/_9999-custom-settings.py';
/** Where Kolla's config.json copies it in the container. */
const IN_CONTAINER = '/etc/openstack-dashboard/local_settings.d/_9999-custom-settings.py';
const MEMCACHED = 'django.core.cache.backends.memcached.PyMemcacheCache';
const REDIS = 'django_redis.cache.RedisCache';

/** Each host's copy in the container, as the host's Docker reads it. */
const containerCopies = (lab: LabInfo) => Promise.all(lab.hosts.map((h) => onHost(h.container, ['docker', 'exec', 'horizon', 'sha256sum', IN_CONTAINER])));

/** apply under load: the load runs a few seconds before and after the switch too. */
async function applyUnderLoad(lb: LoadBalancer, args: string[]): Promise<{ code: number; stdout: string; stderr: string; seen: LoadCounts }> {
  const { result, seen } = await withLoad(lb, () => cli(args));
  return { ...result, seen };
}

function noFailedRequest(t: ExecutionContext, seen: LoadCounts): void {
  t.is(seen.failed, 0, `answers through HAProxy: ${JSON.stringify(seen.byStatus)}; HAProxy's log:\n${seen.lbLog.join('\n')}`);
  t.true(seen.total >= 50, `the load ran (${seen.total} requests)`);
  t.log(`through HAProxy: ${JSON.stringify(seen.byStatus)}`);
}

skipUnlessRuns(test, 'reload:load', 'reload:fault', 'reload:drain', 'reload:drain-fault');
for (const lab of labsFor('reload:load', 'reload:fault', 'reload:drain', 'reload:drain-fault')) {
  if (runs('reload:load', lab)) test.serial(`${lab.name}: a switch under load reloads every host in place: 0 failed requests, the serving processes replaced and writing to Redis`, async (t) => {
    await labReset(lab.name);
    const lb = await labLoadBalancer(lab);
    const before = await fleetSnapshot(lab, [CUSTOM]);
    const state = scratch('sessionctl-state-');
    const inventory = redisInventory(lab, await labWheelhouse());
    const { code, stdout, stderr, seen } = await applyUnderLoad(lb, ['apply', '-i', inventory, '--state-dir', state, '--yes', '--json']);
    t.is(code, 0, stderr);
    const report = JSON.parse(stdout) as SwitchReport;
    t.is(report.outcome, 'applied', report.error);
    noFailedRequest(t, seen);
    for (const h of report.hosts) {
      const detail = h.steps.find((s) => s.step === 'restart')?.detail ?? '';
      t.regex(detail, /^reloaded (uwsgi|apache) gracefully/, h.host);
      t.log(`${h.host}: ${detail}`);
    }
    if (lab.horizon === 'k2026') {
      // Its image bakes django_redis in (Kolla 2026.1): nothing installed, nothing warned, no
      // override; status says where it comes from (library-origin's image case, full matrix only).
      for (const h of report.hosts) t.regex(h.steps.find((s) => s.step === 'install-client-library')?.detail ?? '', /django_redis .* already imports/, h.host);
      t.false(report.warnings.some((w) => /writable layer/.test(w)), report.warnings.join('\n'));
      t.is(report.imageOverrides, undefined);
      // uWSGI's log (Kolla's logto2) tells when a new worker has loaded Horizon; the last host's ini names no log file, so /proc does.
      const readyBy = report.hosts.map((h) => /each loaded per (uWSGI's log|\/proc)/.exec(h.steps.find((s) => s.step === 'restart')?.detail ?? '')?.[1]);
      t.deepEqual(readyBy, lab.hosts.map((h, i) => (i === lab.hosts.length - 1 ? '/proc' : "uWSGI's log")));
      const status = JSON.parse((await cli(['status', '-i', inventory, '--json'])).stdout) as StatusReport;
      for (const h of status.hosts) t.deepEqual(h.libraries?.map((l) => [l.module, l.origin]), [['django_redis', 'image']], h.host);
    }

    const after = await fleetSnapshot(lab, [CUSTOM]);
    for (const [i, h] of lab.hosts.entries()) {
      t.is(after[i]!.started, before[i]!.started, `${h.name}: the container was not restarted`);
      t.notDeepEqual(after[i]!.serving, before[i]!.serving, `${h.name}: its web server processes were replaced`);
      // Each web server's own answers write their sessions into Redis (a request per worker, or more).
      for (let n = 0; n < 3; n++) {
        const key = await servedSessionKey(lb, lab, h);
        t.is(await redisCli(lab, ['EXISTS', `:1:django.contrib.sessions.cache${key}`]), '1', `${h.name}: a session its web server made is in Redis`);
      }
    }
    t.deepEqual(await effectiveBackends(lab), lab.hosts.map(() => REDIS));
    // The file Kolla copies in at the next start holds what was copied in now.
    const hostShas = after.map((h) => (h.files[0] ? createHash('sha256').update(Buffer.from(h.files[0], 'base64')).digest('hex') : null));
    t.deepEqual((await containerCopies(lab)).map((l) => l.split(' ')[0]), hostShas, 'the container copies hold the host files\' bytes');
  });

  if (runs('reload:fault', lab)) test.serial(`${lab.name}: a reload whose serving processes ignore the new backend fails host 2: hosts 1-2 reloaded back, 0 failed requests, every file byte-identical`, async (t) => {
    await labReset(lab.name);
    const lb = await labLoadBalancer(lab);
    const dash2 = lab.hosts[1]!;
    // Only the web server's own processes (never a fresh interpreter, as sessionctl's probes are)
    // fall back to signed cookies once the settings say Redis: the fault only the proof through
    // the serving processes can see.
    const fault = [
      'try:',
      '    import uwsgi as _server  # noqa: F401 (only in uWSGI workers)',
      'except ImportError:',
      '    try:',
      '        import mod_wsgi as _server  # noqa: F401 (only in mod_wsgi processes)',
      '    except ImportError:',
      '        _server = None',
      "if _server is not None and 'redis' in CACHES['default']['BACKEND']:",
      "    SESSION_ENGINE = 'django.contrib.sessions.backends.signed_cookies'",
      '',
    ].join('\n');
    await onHost(dash2.container, ['docker', 'exec', '-i', '-u', 'root', 'horizon', 'sh', '-c', 'cat > /etc/openstack-dashboard/local_settings.d/_9999z-lab-fault.py'], fault);
    const before = await fleetSnapshot(lab, [CUSTOM]);
    const copies = await containerCopies(lab);
    const state = scratch('sessionctl-state-');
    const { code, stdout, stderr, seen } = await applyUnderLoad(lb, ['apply', '-i', redisInventory(lab, await labWheelhouse()), '--state-dir', state, '--yes', '--json']);
    t.is(code, 2, stderr);
    const report = JSON.parse(stdout) as SwitchReport;
    t.is(report.outcome, 'rolled-back', report.error);
    t.regex(report.error ?? '', /^dash2: the session http:\S+ made \(.*\) is not in Redis at \S+ in 3 tries: the serving processes do not use the new backend/);
    noFailedRequest(t, seen);

    const after = await fleetSnapshot(lab, [CUSTOM]);
    t.deepEqual(after.map((h) => h.files), before.map((h) => h.files), 'every settings file on the hosts has its exact original bytes');
    t.deepEqual(await containerCopies(lab), copies, 'and every copy in the containers');
    t.deepEqual(await effectiveBackends(lab), lab.hosts.map(() => MEMCACHED));
    for (const i of [0, 1]) {
      t.is(after[i]!.started, before[i]!.started, `${lab.hosts[i]!.name}: reloaded back, not restarted`);
      t.notDeepEqual(after[i]!.serving, before[i]!.serving, `${lab.hosts[i]!.name}: its processes were reloaded`);
    }
    t.deepEqual([after[2]!.started, after[2]!.serving], [before[2]!.started, before[2]!.serving], 'host 3 was never touched');
    const rollbacks = readFileSync(report.journal!, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; stage?: string; method?: string; host?: string })
      .filter((r) => r.type === 'restart' && r.stage === 'rollback');
    t.deepEqual(rollbacks.map((r) => `${r.host} ${r.method}`).sort(), ['dash1 reload', 'dash2 reload'], 'the rollback reloaded, as the run did');
  });

  if (runs('reload:drain', lab)) test.serial(`${lab.name}: --restart behind a drain: Kolla's operator-level socket -> the plan says no drain; an admin socket -> 0 failed requests, every host UP again`, async (t) => {
    await labReset(lab.name);
    const inv = redisInventory(lab, await labWheelhouse(), { extra: LAB_LOADBALANCER });
    await labLoadBalancer(lab, { socketLevel: 'operator' });
    const planned = await cli(['plan', '-i', inv, '--restart', '--json']);
    t.is(planned.code, 0, planned.stderr);
    for (const h of (JSON.parse(planned.stdout) as SwitchReport).hosts) {
      t.regex(h.steps.find((s) => s.step === 'restart')?.detail ?? '', /; no drain \(requests to it may fail\): HAProxy's socket on dash1 is operator level and a drain needs admin/, h.host);
    }

    const lb = await labLoadBalancer(lab, { socketLevel: 'admin' });
    const before = await fleetSnapshot(lab, [CUSTOM]);
    const { code, stdout, stderr, seen } = await applyUnderLoad(lb, ['apply', '-i', inv, '--restart', '--state-dir', scratch('sessionctl-state-'), '--yes', '--json']);
    t.is(code, 0, stderr);
    const report = JSON.parse(stdout) as SwitchReport;
    t.is(report.outcome, 'applied', report.error);
    noFailedRequest(t, seen);
    for (const h of report.hosts) {
      t.regex(h.steps.find((s) => s.step === 'restart')?.detail ?? '', new RegExp(`^drained ${h.host} on dash1 \\(horizon_back\\): no request left after [\\d.]+s; restarted horizon$`), h.host);
      t.regex(h.steps.find((s) => s.step === 'lb-ready')?.detail ?? '', /^ready again on dash1 \(horizon_back\), UP after [\d.]+s$/, h.host);
    }
    const after = await fleetSnapshot(lab, [CUSTOM]);
    for (const [i, h] of lab.hosts.entries()) t.not(after[i]!.started, before[i]!.started, `${h.name} was restarted`);
    t.deepEqual(await haproxyStates(lb), Object.fromEntries(lab.hosts.map((h) => [h.name, 'UP'])), 'HAProxy sends to every host again');
    t.deepEqual(await effectiveBackends(lab), lab.hosts.map(() => REDIS));
  });

  if (runs('reload:drain-fault', lab)) test.serial(`${lab.name}: a restart behind a drain that never gets healthy: the rollback leaves no server drained`, async (t) => {
    await labReset(lab.name);
    const lb = await labLoadBalancer(lab, { socketLevel: 'admin' });
    // dash2's gate asks a closed port: its restart never passes, nor the rollback's.
    const hosts = Object.fromEntries(lab.hosts.map((h) => [h.name, { address: h.address, port: h.sshPort, ...(h.name === 'dash2' ? { health_url: 'http://127.0.0.1:1/auth/login/' } : {}) }]));
    const inv = redisInventory(lab, await labWheelhouse(), { hosts, extra: LAB_LOADBALANCER });
    const res = await cli(['apply', '-i', inv, '--restart', '--health-timeout', '60', '--state-dir', scratch('sessionctl-state-'), '--yes', '--json']);
    t.is(res.code, 2, res.stderr);
    const report = JSON.parse(res.stdout) as SwitchReport;
    t.is(report.outcome, 'rollback-failed', report.error);
    t.regex(report.error ?? '', /^dash2: not healthy within 60s/);
    const states = await haproxyStates(lb);
    t.false(Object.values(states).includes('DRAIN'), `no server left drained: ${JSON.stringify(states)}`);
    t.deepEqual(await effectiveBackends(lab), lab.hosts.map(() => MEMCACHED));
  });

  test.after.always(`${lab.name}: reset the lab`, async () => {
    await labReset(lab.name);
  });
}
