/**
 * Users stay logged in across a switch (`--carry-sessions`, on by default). Per hop:
 * 500 sessions saved through Django with distinct lifetimes on the old backend; during the rollout,
 * once the first host runs the new backend, 50 more are saved on the last (not yet switched) host,
 * 5 are saved again on the first host (newer copy, new backend) and 5 are logged out on the last.
 * Afterwards every host reads, through Django, each session with its value and remaining lifetime
 * (from the backend itself: Redis TTL, memcached meta-get, expire_date); the logged-out ones are
 * gone. All checks use test/lab/sessions.py, written apart from sessionctl's carry.py.
 */
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { allBackendsInventory, cli, horizonSessions, labsFor, labWheelhouse, memcachedAsk, redisCli, redisInventory, runs, type SessionsAnswer, skipUnlessRuns } from './harness.js';
import { labReset, type LabInfo } from './lab.js';
import type { SwitchReport } from '../../src/report/types.js';

type Backend = 'memcached' | 'redis' | 'database';
/** zed: every direction the issue names; h25 (Django 4.2): one hop each way through Redis; k2026 (uWSGI, venv): into and out of each. */
const HOPS: Record<LabInfo['horizon'], Backend[]> = { zed: ['redis', 'memcached', 'database', 'redis'], h25: ['database', 'redis'], k2026: ['redis', 'database', 'memcached'] };
/** The CI matrix's share: into Redis, on into the database (the other hops: SESSIONCTL_MATRIX=full). */
const hopsOf = (lab: LabInfo): Backend[] => (runs('carry:all-hops', lab) ? HOPS[lab.horizon] : ['redis', 'database']);
const ENGINE: Record<Backend, [engine: string, cache: string]> = {
  memcached: ['django.contrib.sessions.backends.cache', 'django.core.cache.backends.memcached.PyMemcacheCache'],
  redis: ['django.contrib.sessions.backends.cache', 'django_redis.cache.RedisCache'],
  database: ['django.contrib.sessions.backends.db', ''],
};
/** Remaining lifetimes must match within this (whole-second timeouts, a busy machine). */
const TTL_SLACK = 5;

/**
 * Wall clock minus monotonic clock, in seconds. A virtual machine's wall clock can step when it is
 * resumed; memcached counts lifetimes on a monotonic clock, Redis and databases on the wall clock,
 * so a step between saving and reading shifts one against the other. The check allows for a step.
 */
function wallStep(): number {
  return (Date.now() - (performance.timeOrigin + performance.now())) / 1000;
}

skipUnlessRuns(test, 'carry');

function sessions(lab: LabInfo, host: number, input: Record<string, unknown>): Promise<SessionsAnswer> {
  return horizonSessions(lab.hosts[host]!.container, input);
}

/** `apply` as a child process; `during` runs once the first host's restart onto the new backend is verified. */
function applyDuring(args: string[], firstHost: string, during: () => Promise<void>): Promise<{ code: number; stdout: string; stderr: string; during: Promise<void> | undefined }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['dist/cli.js', ...args], { env: { ...process.env, SSH_AUTH_SOCK: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let started: Promise<void> | undefined;
    const verified = new RegExp(`^. ${firstHost}\\s+verify-settings\\s+(changed|unchanged):`, 'm');
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
      if (!started && verified.test(stderr)) started = during();
    });
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr, during: started }));
  });
}

/** Every expected session, read through Django on every host: value and remaining lifetime. */
async function expectReadable(t: ExecutionContext, lab: LabInfo, hop: string, to: Backend, expected: Map<string, { value: string; expires: number }>, gone: string[], step0: number) {
  const keys = [...expected.keys(), ...gone];
  const stepped = Math.abs(wallStep() - step0);
  if (stepped > 0.5) t.log(`${hop}: the wall clock stepped ${stepped.toFixed(1)} s against the monotonic clock; allowed for`);
  const slack = TTL_SLACK + stepped;
  for (let i = 0; i < lab.hosts.length; i++) {
    const read = await sessions(lab, i, { op: 'read', keys });
    const now = Date.now() / 1000;
    const host = lab.hosts[i]!.name;
    t.deepEqual([read.engine, to === 'database' ? '' : read.cache], ENGINE[to], `${hop}: Django on ${host} resolves ${to}`);
    const wrong: string[] = [];
    for (const [key, want] of expected) {
      const [value, remaining] = read.found![key]!;
      if (value !== want.value) wrong.push(`${want.value}: read ${value}`);
      else if (remaining === null || Math.abs(remaining - (want.expires - now)) > slack) wrong.push(`${want.value}: ${remaining}s left, expected ${(want.expires - now).toFixed(0)}s`);
    }
    t.deepEqual(wrong.slice(0, 5), [], `${hop}: on ${host}, ${wrong.length} of ${expected.size} sessions wrong`);
    t.deepEqual(gone.filter((k) => read.found![k]![0] !== null).length, 0, `${hop}: sessions logged out during the rollout stay logged out on ${host}`);
  }
}

for (const lab of labsFor('carry')) {
  test.serial(`${lab.name}: sessions survive ${['memcached', ...hopsOf(lab)].join(' -> ')}, with writes and logouts during the rollout`, async (t) => {
    await labReset(lab.name);
    const inv = allBackendsInventory(lab, await labWheelhouse());
    const last = lab.hosts.length - 1;
    let from: Backend = 'memcached';
    for (const to of hopsOf(lab)) {
      const hop = `${from} -> ${to}`;
      const token = randomBytes(4).toString('hex');
      const step0 = wallStep();
      const made = await sessions(lab, 1, { op: 'create', n: 500, token, ttl: 600, step: 3 });
      t.deepEqual([made.engine, from === 'database' ? '' : made.cache], ENGINE[from], `${hop}: the sessions were saved in ${from}`);
      const expected = new Map(made.sessions!.map(([key, value, ttl, created]) => [key, { value, expires: created + ttl }]));
      const keys = [...expected.keys()];
      const renewed = keys.slice(0, 5);
      const loggedOut = keys.slice(5, 10);
      for (const k of loggedOut) expected.delete(k);

      let midway: { old?: SessionsAnswer; renewed?: SessionsAnswer; loggedOut?: SessionsAnswer } = {};
      const res = await applyDuring(['apply', '-i', inv, '--backend', to, '--yes', '--json', '-v'], lab.hosts[0]!.name, async () => {
        const [old, again, out] = await Promise.all([
          sessions(lab, last, { op: 'create', n: 50, token: `${token}-late`, ttl: 900, step: 5 }),
          sessions(lab, 0, { op: 'update', keys: renewed, value: `${token}-renewed`, ttl: 2400 }),
          sessions(lab, last, { op: 'delete', keys: loggedOut }),
        ]);
        midway = { old, renewed: again, loggedOut: out };
      });
      await res.during;
      t.is(res.code, 0, `${hop}: ${res.stderr.slice(-3000)}`);
      const report = JSON.parse(res.stdout) as SwitchReport;
      t.is(report.outcome, 'applied', hop);
      t.truthy(midway.old, `${hop}: the writes during the rollout ran`);
      // Where the writes during the rollout went, as the helper's own Django saw it.
      t.deepEqual([midway.old!.engine, from === 'database' ? '' : midway.old!.cache], ENGINE[from], `${hop}: the last host still wrote to ${from}`);
      t.deepEqual([midway.renewed!.engine, to === 'database' ? '' : midway.renewed!.cache], ENGINE[to], `${hop}: the first host already wrote to ${to}`);
      for (const [key, value, ttl, created] of midway.old!.sessions!) expected.set(key, { value, expires: created + ttl });
      for (const k of renewed) expected.set(k, { value: `${token}-renewed`, expires: midway.renewed!.updated! + 2400 });

      const passes = report.sessionsCarried ?? [];
      t.is(passes.length, 2, `${hop}: two passes reported`);
      t.true(passes[0]!.carried >= 500 - 10 && passes[0]!.failed === 0, `${hop}: first pass ${JSON.stringify(passes[0])}`);
      t.true(passes[1]!.carried >= 50 && passes[1]!.forgotten >= 5 && passes[1]!.failed === 0, `${hop}: second pass ${JSON.stringify(passes[1])}`);
      await expectReadable(t, lab, hop, to, expected, loggedOut, step0);
      from = to;
    }
  });

  test.serial(`${lab.name}: the plan says when sessions cannot be carried, and --no-carry-sessions is honoured`, async (t) => {
    await labReset(lab.name);
    const inv = allBackendsInventory(lab, await labWheelhouse());
    const crawler = (on: boolean) => memcachedAsk(lab, `lru_crawler ${on ? 'enable' : 'disable'}`);
    await crawler(false);
    try {
      const res = await cli(['plan', '-i', inv, '--backend', 'redis', '--json']);
      t.is(res.code, 0, res.stderr);
      const report = JSON.parse(res.stdout) as SwitchReport;
      const carry = report.fleet.find((r) => r.step === 'carry-sessions')!;
      t.regex(carry.detail, /cannot carry the sessions: memcached .* cannot list its keys \(lru_crawler metadump: CLIENT_ERROR lru crawler disabled\)/);
      t.regex(report.warnings[0]!, /logs every Horizon user out.*Sessions are not carried over/);
    } finally {
      await crawler(true);
    }
    const on = JSON.parse((await cli(['plan', '-i', inv, '--backend', 'redis', '--json'])).stdout) as SwitchReport;
    t.regex(on.fleet.find((r) => r.step === 'carry-sessions')!.detail, /copy the \d+ live sessions from memcached/);
    t.regex(on.warnings[0]!, /users stay logged in/);
    const off = JSON.parse((await cli(['plan', '-i', inv, '--backend', 'redis', '--no-carry-sessions', '--json'])).stdout) as SwitchReport;
    t.regex(off.fleet.find((r) => r.step === 'carry-sessions')!.detail, /not asked/);
    t.regex(off.warnings[0]!, /logs every Horizon user out/);
  });

  if (runs('carry:failed-switch', lab)) {
    test.serial(`${lab.name}: a switch that fails after the copy removes the copies, and every session still works on the old backend`, async (t) => {
      await labReset(lab.name);
      const step0 = wallStep();
      const made = await sessions(lab, 1, { op: 'create', n: 200, token: 'kept', ttl: 900, step: 2 });
      // dash2's health check points at a closed port: the rollout fails there and rolls back.
      const hosts = Object.fromEntries(lab.hosts.map((h) => [h.name, { address: h.address, port: h.sshPort, ...(h.name === 'dash2' ? { health_url: 'http://127.0.0.1:1/auth/login/' } : {}) }]));
      const res = await cli(['apply', '-i', redisInventory(lab, await labWheelhouse(), { hosts }), '--health-timeout', '60', '--yes', '--json']);
      t.is(res.code, 2, res.stderr);
      const report = JSON.parse(res.stdout) as SwitchReport;
      t.true(report.sessionsCarried![0]!.carried >= 200, JSON.stringify(report.sessionsCarried));
      const undo = report.fleet.find((r) => r.step === 'carry-sessions' && r.stage === 'rollback');
      t.is(undo?.outcome, 'rolled-back', undo?.detail);
      // In Redis itself: none of the copies is left.
      const cacheKeys = made.sessions!.map(([key]) => `:1:django.contrib.sessions.cache${key}`);
      t.is(await redisCli(lab, ['EXISTS', ...cacheKeys]), '0', 'no copy left in Redis');
      const expected = new Map(made.sessions!.map(([key, value, ttl, created]) => [key, { value, expires: created + ttl }]));
      await expectReadable(t, lab, 'failed memcached -> redis', 'memcached', expected, [], step0);
    });
  }

  test.after.always(`${lab.name}: reset the lab`, async () => {
    await labReset(lab.name);
  });
}
