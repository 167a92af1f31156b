/**
 * Issue 5's fault suite on the real lab, each case asserting nothing is lost: every settings file
 * byte-compared with its original through the outer Docker engine, the effective backend asked
 * from Django inside each container, and the run journal read as an operator would.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cli, effectiveBackends, fleetSnapshot, horizonSessions, hostFiles, journalShows, labsFor, loginPageStatus, labWheelhouse, onHost, redisInventory, runs, scratch, sentinelCli, sentinelFailoverTo, sentinelMaster, skipUnlessRuns } from './harness.js';
import { labReset } from './lab.js';
import type { SwitchReport } from '../../src/report/types.js';
import type { RollbackReport } from '../../src/report/types.js';

const CUSTOM = '/etc/kolla/horizon/_9999-custom-settings.py';
const MEMCACHED = 'django.core.cache.backends.memcached.PyMemcacheCache';
const REDIS = 'django_redis.cache.RedisCache';

/** The records of the only journal under `state`, parsed without sessionctl's reader. */
function records(journal: string): { type: string; [k: string]: unknown }[] {
  return readFileSync(journal, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string });
}

skipUnlessRuns(test, 'faults', 'faults:core', 'faults:failover');
for (const lab of labsFor('faults:core', 'faults', 'faults:failover')) {
  const all = runs('faults', lab);
  const more = runs('faults:more', lab);
  if (all) test.serial(`${lab.name}: 1. Redis down at preflight: zero hosts changed, the journal says so`, async (t) => {
    await labReset(lab.name);
    const before = await fleetSnapshot(lab, [CUSTOM]);
    const state = scratch('sessionctl-state-');
    // Nothing listens on this port: Redis is down as far as Horizon can tell.
    const inv = redisInventory(lab, await labWheelhouse(), { redisUrl: `redis://${lab.services.redis.ip}:6390/0` });
    const res = await cli(['apply', '-i', inv, '--state-dir', state, '--yes', '--json']);
    t.is(res.code, 2, res.stderr);
    const report = JSON.parse(res.stdout) as SwitchReport;
    t.is(report.outcome, 'failed');
    t.regex(report.error ?? '', /preflight failed, nothing changed/);
    t.regex(report.error ?? '', /Redis at redis:\/\/\S+ is not usable from the horizon container/);
    t.deepEqual(await fleetSnapshot(lab, [CUSTOM]), before, 'no file written, no container restarted');
    t.deepEqual(await effectiveBackends(lab), lab.hosts.map(() => MEMCACHED));
    const journal = records(report.journal!);
    t.false(journal.some((r) => r.type === 'file' || r.type === 'restart' || r.type === 'package'));
    t.is(journal.at(-1)?.type, 'outcome');
    t.is(journal.at(-1)?.outcome, 'failed');
  });

  if (runs('faults:core', lab)) test.serial(`${lab.name}: 2. host 2 never healthy: every file restored, host 3 never restarted; the failed rollback is its own outcome, closed later by rollback`, async (t) => {
    await labReset(lab.name);
    const before = await fleetSnapshot(lab, [CUSTOM]);
    const state = scratch('sessionctl-state-');
    // dash2's health check points at a closed port: after any restart it never looks healthy,
    // so its automatic rollback cannot prove it healthy either.
    const hosts = Object.fromEntries(lab.hosts.map((h) => [h.name, { address: h.address, port: h.sshPort, ...(h.name === 'dash2' ? { health_url: 'http://127.0.0.1:1/auth/login/' } : {}) }]));
    // Long enough for dash1's real restart on a busy machine; dash2 waits it out.
    // --restart: the restart path's gate (a reload would wait on the same closed port).
    const res = await cli(['apply', '-i', redisInventory(lab, await labWheelhouse(), { hosts }), '--state-dir', state, '--health-timeout', '60', '--restart', '--yes', '--json']);
    t.is(res.code, 2, res.stderr);
    const report = JSON.parse(res.stdout) as SwitchReport;
    t.is(report.outcome, 'rollback-failed', report.error);
    t.regex(report.error ?? '', /^dash2: not healthy within 60s/);
    t.deepEqual(report.rollbackFailed, ['dash2']);
    const after = await fleetSnapshot(lab, [CUSTOM]);
    t.deepEqual(after.map((h) => h.files), before.map((h) => h.files), 'every settings file has its exact original bytes');
    t.deepEqual([after[2]!.started, after[2]!.serving], [before[2]!.started, before[2]!.serving], 'host 3 was never restarted or reloaded');
    t.deepEqual(await effectiveBackends(lab), lab.hosts.map(() => MEMCACHED), 'dash2 was restarted on its restored file all the same');
    const failed = records(report.journal!).find((r) => r.type === 'step' && (r.result as { host: string; outcome: string }).host === 'dash2' && (r.result as { outcome: string }).outcome === 'rollback-failed');
    t.regex(String((failed?.result as { detail?: string } | undefined)?.detail), /by hand on dash2/, 'the journal says what to do by hand');

    // With the health check fixed, rollback finds nothing left to undo and closes the run.
    const inv = redisInventory(lab, await labWheelhouse());
    const back = JSON.parse((await cli(['rollback', '-i', inv, '--state-dir', state, '--yes', '--json'])).stdout) as RollbackReport;
    t.is(back.outcome, 'nothing-to-do', back.message);
    t.deepEqual(await fleetSnapshot(lab, [CUSTOM]), after, 'nothing written, nothing restarted');
    t.is(JSON.parse((await cli(['rollback', '-i', inv, '--state-dir', state, '--yes', '--json'])).stdout).outcome, 'nothing-to-roll-back');
  });

  if (more) test.serial(`${lab.name}: 4. the horizon container stopped by someone mid-rollout: clear error, every host rolled back`, async (t) => {
    await labReset(lab.name);
    const original = await hostFiles(lab, CUSTOM);
    const state = scratch('sessionctl-state-');
    const inv = redisInventory(lab, await labWheelhouse());
    const running = cli(['apply', '-i', inv, '--state-dir', state, '--yes', '--json']);
    // dash2's restart is done (its step outcome is journaled): stop its container while the gate waits.
    const stopped = (async () => {
      if (!(await journalShows(state, /"step":"restart","host":"dash2","outcome":"changed"/))) return false;
      await onHost(lab.hosts[1]!.container, ['docker', 'stop', '-t', '1', 'horizon']);
      return true;
    })();
    const [res, didStop] = await Promise.all([running, stopped]);
    t.true(didStop);
    t.is(res.code, 2, res.stderr);
    const report = JSON.parse(res.stdout) as SwitchReport;
    t.is(report.outcome, 'rolled-back', report.error);
    t.regex(report.error ?? '', /^dash2: /);
    t.deepEqual(await hostFiles(lab, CUSTOM), original, 'every settings file has its exact original bytes');
    t.deepEqual(await effectiveBackends(lab), lab.hosts.map(() => MEMCACHED), 'dash2 runs again, on memcached');
    t.is((await cli(['rollback', '-i', inv, '--state-dir', state, '--yes', '--json'])).stdout.includes('nothing-to-roll-back'), true, 'the automatic rollback is in the journal');
  });

  if (all) test.serial(`${lab.name}: 5. two concurrent applies: the second is refused by the lock and changes nothing`, async (t) => {
    await labReset(lab.name);
    const [stateA, stateB] = [scratch('sessionctl-state-'), scratch('sessionctl-state-')];
    const inv = redisInventory(lab, await labWheelhouse());
    const first = cli(['apply', '-i', inv, '--state-dir', stateA, '--yes', '--json']);
    // The plan record comes after every host's lock is held.
    t.true(await journalShows(stateA, /"type":"plan"/));
    const second = await cli(['apply', '-i', inv, '--state-dir', stateB, '--yes', '--json']);
    t.is(second.code, 2, second.stderr);
    const refused = JSON.parse(second.stdout) as SwitchReport;
    t.is(refused.outcome, 'refused');
    t.regex(refused.error ?? '', /dash1 is locked by run \d{8}T\d{6}-[0-9a-f]{6}/);
    t.false(records(refused.journal!).some((r) => r.type === 'file' || r.type === 'restart' || r.type === 'package'), 'the refused run journaled no change');

    const done = await first;
    t.is(done.code, 0, done.stderr);
    const applied = JSON.parse(done.stdout) as SwitchReport;
    t.regex(refused.error ?? '', new RegExp(applied.runId));
    // What is on the hosts is exactly what the first run says it wrote: the second wrote nothing.
    const wrote = records(applied.journal!).filter((r) => r.type === 'file').map((r) => r.after);
    const now = (await hostFiles(lab, CUSTOM)).map((b) => (b ? createHash('sha256').update(Buffer.from(b, 'base64')).digest('hex') : null));
    t.deepEqual([...now].sort(), [...wrote].sort());
    t.deepEqual(await effectiveBackends(lab), lab.hosts.map(() => REDIS));
    const locked = await Promise.all(lab.hosts.map((h) => onHost(h.container, ['test', '-e', '/var/lib/sessionctl/lock']).then(() => true, () => false)));
    t.deepEqual(locked, lab.hosts.map(() => false), 'every lock released');
  });

  if (all) test.serial(`${lab.name}: 6. Ctrl-C during the rolling restart: clean stop, rollback, non-zero exit`, async (t) => {
    await labReset(lab.name);
    const original = await hostFiles(lab, CUSTOM);
    const state = scratch('sessionctl-state-');
    const inv = redisInventory(lab, await labWheelhouse());
    // --restart: the interrupt lands in Kolla's recompress, which a reload never runs.
    const child = spawn(process.execPath, ['dist/cli.js', 'apply', '-i', inv, '--state-dir', state, '--restart', '--yes', '--json'], { env: { ...process.env, SSH_AUTH_SOCK: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    t.true(await journalShows(state, /"type":"restart","host":"dash1","container":"horizon","stage":"apply"/));
    child.kill('SIGINT');
    const code = await exited;
    t.is(code, 2);
    const report = JSON.parse(stdout) as SwitchReport;
    t.is(report.outcome, 'rolled-back', report.error);
    t.regex(report.error ?? '', /interrupted by SIGINT/);
    t.deepEqual(await hostFiles(lab, CUSTOM), original, 'every settings file has its exact original bytes');
    t.deepEqual(await effectiveBackends(lab), lab.hosts.map(() => MEMCACHED));
    // dash1's start was cut short during Kolla's recompress: its pages must render all the same.
    t.deepEqual(await Promise.all(lab.hosts.map((h) => loginPageStatus(lab, h))), lab.hosts.map(() => '200'), 'every login page renders');
    const journal = records(report.journal!);
    t.true(journal.some((r) => r.type === 'step' && (r.result as { stage: string; outcome: string }).stage === 'rollback'), 'the automatic rollback is journaled');
    t.is(journal.at(-1)?.outcome, 'rolled-back');
  });

  if (more) test.serial(`${lab.name}: 4b. a horizon container stopped before its turn is not started behind the operator: clear error, rollback, it stays stopped`, async (t) => {
    await labReset(lab.name);
    const original = await hostFiles(lab, CUSTOM);
    const state = scratch('sessionctl-state-');
    const running = cli(['apply', '-i', redisInventory(lab, await labWheelhouse()), '--state-dir', state, '--yes', '--json']);
    // dash1 is being restarted: dash2 (next in line) is stopped by someone else.
    t.true(await journalShows(state, /"type":"restart","host":"dash1","container":"horizon","stage":"apply"/));
    const dash2 = lab.hosts[1]!.container;
    await onHost(dash2, ['docker', 'stop', '-t', '1', 'horizon']);
    const res = await running;
    t.is(res.code, 2, res.stderr);
    const report = JSON.parse(res.stdout) as SwitchReport;
    t.is(report.outcome, 'rolled-back', report.error);
    t.regex(report.error ?? '', /dash2: container 'horizon' is exited now \(it was running at preflight\)/);
    t.is((await onHost(dash2, ['docker', 'inspect', '-f', '{{.State.Status}}', 'horizon'])).trim(), 'exited', 'sessionctl did not start what someone stopped');
    await onHost(dash2, ['docker', 'start', 'horizon']);
    t.deepEqual(await hostFiles(lab, CUSTOM), original, 'every settings file has its exact original bytes');
    t.deepEqual(await effectiveBackends(lab), lab.hosts.map(() => MEMCACHED));
  });

  if (runs('faults:failover', lab)) test.serial(`${lab.name}: 8. the Sentinel's master fails over during the rollout: the switch completes on the new master, no carried session lost`, async (t) => {
    await labReset(lab.name);
    const { redis, redisReplica, sentinel } = lab.services;
    await sentinelFailoverTo(lab, redis.ip);
    const made = await horizonSessions(lab.hosts[1]!.container, { op: 'create', n: 200, token: 'failover', ttl: 900, step: 2 });
    const state = scratch('sessionctl-state-');
    const inv = redisInventory(lab, await labWheelhouse(), { redisKeys: `sentinel: { service: ${sentinel.service}, hosts: ["${sentinel.ip}:${sentinel.port}"], password_file: "${sentinel.passwordFile}" }` });
    const running = cli(['apply', '-i', inv, '--state-dir', state, '--yes', '--json']);
    // The sessions are carried and dash1 reloaded onto the Sentinel: now the master moves.
    const failedOver = (async () => {
      if (!(await journalShows(state, /"step":"restart","host":"dash1","outcome":"changed"/))) return false;
      await sentinelCli(lab, ['SENTINEL', 'FAILOVER', sentinel.service]);
      return true;
    })();
    try {
      const [res, didFailOver] = await Promise.all([running, failedOver]);
      t.true(didFailOver);
      const report = JSON.parse(res.stdout) as SwitchReport;
      t.is(res.code, 0, `${report.error}\n${res.stderr.slice(-3000)}`);
      t.is(report.outcome, 'applied', report.error);
      t.is(await sentinelMaster(lab), redisReplica.ip, 'the replica is the master now');
      // A proof session the old master took after the promotion is lost with it: tried again, and said.
      for (const h of report.hosts) t.log(`${h.host}: ${h.steps.find((s) => s.step === 'verify-settings' && s.stage === 'apply')?.detail}`);
      t.true((report.sessionsCarried ?? []).every((p) => p.failed === 0), JSON.stringify(report.sessionsCarried));
      t.deepEqual(await effectiveBackends(lab), lab.hosts.map(() => REDIS));
      // Every carried session, read through Django on every host (through the Sentinel: the new master).
      const keys = made.sessions!.map(([key]) => key);
      for (const h of lab.hosts) {
        const read = await horizonSessions(h.container, { op: 'read', keys });
        const lost = made.sessions!.filter(([key, value]) => read.found![key]![0] !== value).length;
        t.is(lost, 0, `${h.name}: ${lost} of ${keys.length} carried sessions lost`);
      }
    } finally {
      await sentinelFailoverTo(lab, redis.ip);
    }
  });

  if (all) test.serial(`${lab.name}: 7. a full disk where the backups go: refused before any change, no lock left behind`, async (t) => {
    await labReset(lab.name);
    const before = await fleetSnapshot(lab, [CUSTOM]);
    const dash2 = lab.hosts[1]!.container;
    const inv = redisInventory(lab, await labWheelhouse());
    const locks = () => Promise.all(lab.hosts.map((h) => onHost(h.container, ['test', '-e', '/var/lib/sessionctl/lock']).then(() => true, () => false)));
    try {
      // Too small for backups: the preflight's disk check refuses.
      await onHost(dash2, ['sh', '-c', 'mkdir -p /var/lib/sessionctl && mount -t tmpfs -o size=1m tmpfs /var/lib/sessionctl']);
      let res = await cli(['apply', '-i', inv, '--yes', '--json']);
      t.is(res.code, 2, res.stderr);
      t.regex((JSON.parse(res.stdout) as SwitchReport).error ?? '', /dash2: .*KiB free for \/var\/lib\/sessionctl\/backups; need 16 MiB/);
      // Completely full: not even the lock can be written.
      await onHost(dash2, ['sh', '-c', 'dd if=/dev/zero of=/var/lib/sessionctl/fill bs=64k 2>/dev/null; true']);
      res = await cli(['apply', '-i', inv, '--yes', '--json']);
      t.is(res.code, 2, res.stderr);
      const report = JSON.parse(res.stdout) as SwitchReport;
      t.is(report.outcome, 'refused');
      t.regex(report.error ?? '', /dash2: could not take the lock: .*No space left on device/);
      t.deepEqual(await locks(), lab.hosts.map(() => false), 'the locks taken on the other hosts were released');
    } finally {
      await onHost(dash2, ['umount', '/var/lib/sessionctl']).catch(() => undefined);
    }
    t.deepEqual(await fleetSnapshot(lab, [CUSTOM]), before, 'no file written, no container restarted');
    t.deepEqual(await effectiveBackends(lab), lab.hosts.map(() => MEMCACHED));
  });

  test.after.always(async () => {
    await onHost(lab.hosts[1]!.container, ['sh', '-c', 'docker start horizon; umount /var/lib/sessionctl; true']).catch(() => undefined);
    await labReset(lab.name);
  });
}
