/**
 * The run journal and `sessionctl rollback` on the real lab: a rollback puts every settings file
 * back byte for byte and Django inside each container resolves memcached again; it runs once; a
 * file changed after the run is refused (unless --force); a corrupt journal stops it with nothing
 * changed; an SSH connection cut on host 2 mid-rollout is undone later by `rollback`.
 * Outcomes are checked through the outer Docker engine and Django, never only sessionctl's report.
 */
import test, { type ExecutionContext } from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { cli, djangoSettings, effectiveBackends, fleetSnapshot, hostFiles, journalShows, labsFor, labWheelhouse, onHost, redisInventory, runs, scratch, skipUnlessRuns } from './harness.js';
import { labReset, type LabInfo } from './lab.js';
import type { SwitchReport } from '../../src/report/types.js';
import type { RollbackReport } from '../../src/report/types.js';
import type { HistoryList } from '../../src/report/types.js';

const CUSTOM = '/etc/kolla/horizon/_9999-custom-settings.py';
const MEMCACHED = 'django.core.cache.backends.memcached.PyMemcacheCache';
const REDIS = 'django_redis.cache.RedisCache';

const inventory = redisInventory;
const settingsFiles = (lab: LabInfo) => hostFiles(lab, CUSTOM);
const backends = effectiveBackends;

async function apply(t: ExecutionContext, lab: LabInfo, inv: string, state: string): Promise<SwitchReport> {
  const res = await cli(['apply', '-i', inv, '--state-dir', state, '--yes', '--json']);
  t.is(res.code, 0, res.stderr);
  const report = JSON.parse(res.stdout) as SwitchReport;
  t.is(report.outcome, 'applied');
  t.deepEqual(await backends(lab), lab.hosts.map(() => REDIS), 'the run really switched every host');
  return report;
}

async function rollback(state: string, inv: string, ...args: string[]): Promise<{ code: number; report: RollbackReport; stderr: string }> {
  const res = await cli(['rollback', '-i', inv, '--state-dir', state, '--yes', '--json', ...args]);
  return { code: res.code, report: JSON.parse(res.stdout) as RollbackReport, stderr: res.stderr };
}

skipUnlessRuns(test, 'rollback:core', 'rollback');
for (const lab of labsFor('rollback:core', 'rollback')) {
  const all = runs('rollback', lab);
  test.serial(`${lab.name}: apply then rollback: every settings file byte-identical, memcached effective again; a second rollback does nothing`, async (t) => {
    await labReset(lab.name);
    const original = await settingsFiles(lab);
    const state = scratch('sessionctl-state-');
    const inv = inventory(lab, await labWheelhouse());
    const applied = await apply(t, lab, inv, state);

    const journal = readFileSync(applied.journal!, 'utf8');
    t.false(journal.includes(readFileSync(lab.services.redis.passwordFile, 'utf8').trim()), 'no secret in the journal');
    t.is(journal.split('\n').filter((l) => l.includes('"type":"file"')).length, lab.hosts.length, 'one file intent per host');

    const back = await rollback(state, inv);
    t.is(back.code, 0, back.stderr);
    t.is(back.report.outcome, 'rolled-back');
    t.is(back.report.runId, applied.runId, 'the default is the latest run');
    t.deepEqual(await settingsFiles(lab), original, 'every settings file has its exact original bytes');
    t.deepEqual(await backends(lab), lab.hosts.map(() => MEMCACHED), 'Django resolves memcached again on every host');

    const restored = await fleetSnapshot(lab, [CUSTOM]);
    const again = await rollback(state, inv, '--run', applied.runId);
    t.is(again.code, 0, again.stderr);
    t.is(again.report.outcome, 'already-rolled-back');
    t.regex(again.report.message, /already rolled back/);
    const latest = await rollback(state, inv);
    t.is(latest.report.outcome, 'nothing-to-roll-back');
    t.deepEqual(await fleetSnapshot(lab, [CUSTOM]), restored, 'nothing written, nothing restarted by the second and third rollback');

    const hist = JSON.parse((await cli(['history', '--state-dir', state, '--json'])).stdout) as HistoryList;
    t.is(hist.runs.length, 1);
    const run = hist.runs[0]!;
    t.true('rolledBack' in run && Boolean(run.rolledBack), JSON.stringify(run));
  });

  if (all) test.serial(`${lab.name}: a settings file edited after the run: rollback refuses and changes nothing; --force restores it`, async (t) => {
    await labReset(lab.name);
    const original = await settingsFiles(lab);
    const state = scratch('sessionctl-state-');
    const inv = inventory(lab, await labWheelhouse());
    await apply(t, lab, inv, state);
    const dash2 = lab.hosts[1]!;
    await onHost(dash2.container, ['sh', '-c', `echo '# edited by an operator after the run' >> ${CUSTOM}`]);
    const before = await fleetSnapshot(lab, [CUSTOM]);

    const refused = await rollback(state, inv);
    t.is(refused.code, 2, refused.stderr);
    t.is(refused.report.outcome, 'refused');
    t.is(refused.report.refusals.length, 1);
    t.regex(refused.report.refusals[0]!, new RegExp(`^dash2:${CUSTOM} changed since the run: sha256 now [0-9a-f]{64}, the run wrote [0-9a-f]{64}`));
    t.deepEqual(await fleetSnapshot(lab, [CUSTOM]), before, 'no file written, no container restarted');

    const forced = await rollback(state, inv, '--force');
    t.is(forced.code, 0, forced.stderr);
    t.is(forced.report.outcome, 'rolled-back');
    t.deepEqual(await settingsFiles(lab), original, 'the backup wins over the later edit with --force');
    t.deepEqual(await backends(lab), lab.hosts.map(() => MEMCACHED));
  });

  if (all) test.serial(`${lab.name}: a corrupt journal: rollback stops with file:line and changes nothing; history lists it with the error`, async (t) => {
    await labReset(lab.name);
    const state = scratch('sessionctl-state-');
    const inv = inventory(lab, await labWheelhouse());
    const applied = await apply(t, lab, inv, state);
    const file = applied.journal!;
    const lines = readFileSync(file, 'utf8').split('\n');
    const at = lines.findIndex((l) => l.includes('"type":"file"'));
    // One flipped byte inside a file record: the backup path points elsewhere.
    lines[at] = lines[at]!.replace('/var/lib/sessionctl/backups/', '/var/lib/sessionctl/backupz/');
    writeFileSync(file, lines.join('\n'));
    const before = await fleetSnapshot(lab, [CUSTOM]);

    for (const args of [[], ['--run', applied.runId]]) {
      const res = await cli(['rollback', '-i', inv, '--state-dir', state, '--yes', ...args]);
      t.is(res.code, 1, res.stderr);
      t.true(res.stderr.includes(`${file}:${at + 1}: corrupt`), res.stderr);
    }
    t.deepEqual(await fleetSnapshot(lab, [CUSTOM]), before, 'no file written, no container restarted');
    t.deepEqual(await backends(lab), lab.hosts.map(() => REDIS));

    const hist = await cli(['history', '--state-dir', state, '--json']);
    t.is(hist.code, 0, hist.stderr);
    const listed = (JSON.parse(hist.stdout) as HistoryList).runs[0]!;
    t.true('error' in listed && listed.error.includes(`${file}:${at + 1}`), JSON.stringify(listed));
  });

  if (all) test.serial(`${lab.name}: SSH cut to host 2 mid-rollout: the run fails, hosts 1 and 3 are restored; rollback later restores host 2`, async (t) => {
    await labReset(lab.name);
    const original = await settingsFiles(lab);
    const state = scratch('sessionctl-state-');
    const inv = inventory(lab, await labWheelhouse());
    const dash2 = lab.hosts[1]!;
    const running = cli(['apply', '-i', inv, '--state-dir', state, '--yes', '--json']);
    // The journal announces dash2's restart before making it: the moment to cut its SSH sessions.
    const cut = (async () => {
      if (!(await journalShows(state, /"type":"restart","host":"dash2","container":"horizon","stage":"apply"/))) return false;
      // Every sshd process of the host but the listener: sessionctl's connection drops.
      await onHost(dash2.container, ['sh', '-c', "for p in $(ps -eo pid=,args= | awk '/^ *[0-9]+ sshd: / && !/listener/ {print $1}'); do kill -9 $p; done"]);
      return true;
    })();
    const [res, didCut] = await Promise.all([running, cut]);
    t.true(didCut, 'saw dash2 restart announced in the journal');
    t.not(res.code, 0, res.stdout);
    const report = JSON.parse(res.stdout) as SwitchReport;
    t.is(report.outcome, 'rollback-failed', report.error);
    t.true(report.rolledBack?.includes('dash1'), JSON.stringify(report.rolledBack));
    t.true(report.rollbackFailed?.includes('dash2'), JSON.stringify(report.rollbackFailed));
    const files = await settingsFiles(lab);
    t.is(files[0], original[0], 'host 1 restored by the automatic rollback');
    t.is(files[2], original[2], 'host 3 restored (written in prepare, never restarted)');
    t.not(files[1], original[1], 'host 2 still has the new settings: its connection was gone');
    t.is((await djangoSettings(lab.hosts[0]!.container)).backend, MEMCACHED);

    const back = await rollback(state, inv);
    t.is(back.code, 0, back.stderr);
    t.is(back.report.outcome, 'rolled-back');
    t.deepEqual(
      back.report.files.map((f) => [f.host, f.action]),
      [['dash1', 'none'], ['dash2', 'restore'], ['dash3', 'none']],
    );
    t.deepEqual(await settingsFiles(lab), original, 'every settings file has its exact original bytes');
    t.deepEqual(await backends(lab), lab.hosts.map(() => MEMCACHED));
  });

  test.after.always(async () => {
    await labReset(lab.name);
  });
}
