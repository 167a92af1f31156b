/**
 * kolla-override: the block goes where kolla-ansible reads it for each host of the run (its own
 * <dir>/<host>/_9999-custom-settings.py, else the shared file), never into the files of hosts
 * outside the run; what it writes survives Jinja; several files are undone like one, by the
 * automatic rollback and by `sessionctl rollback` from the journal.
 */
import test from 'ava';
import { STEPS } from '../../../src/steps/index.js';
import { deployReadings, deployWarnings } from '../../../src/steps/kolla-override.js';
import { undoEntriesOf } from '../../../src/steps/journaled.js';
import { applyUndo, planUndo, type UndoRun } from '../../../src/runner/undo.js';
import { parseRun } from '../../../src/journal/run.js';
import type { FileRecord, JournalRecord, Sequenced } from '../../../src/journal/records.js';
import { parseInventory } from '../../../src/inventory/load.js';
import { jinjaOpener } from '../../../src/settings/jinja.js';
import { BLOCK_BEGIN, NEUTRALISED } from '../../../src/settings/block.js';
import type { DeployFileChange, FleetContext, FleetStep, HostSettingsChange, HostStep, UndoEntry, UndoTarget } from '../../../src/steps/types.js';
import type { StepPlan } from '../../../src/runner/results.js';
import { REDIS_SETTINGS, desired, fakeFiles, fleet, inventory, probeLine, runInfo, type HostCase } from './fakes.js';

type Planned = StepPlan & { gives?: { deployFile?: DeployFileChange[] } };

const DIR = '/etc/kolla/config/horizon';
const SHARED = `${DIR}/_9999-custom-settings.py`;
const own = (host: string) => `${DIR}/${host}/_9999-custom-settings.py`;
const step = STEPS['kolla-override'] as FleetStep;
const text = (p: StepPlan) => (p.action === 'none' ? p.reason : p.summary);
const validates: HostCase = { answers: { probe: () => probeLine(REDIS_SETTINGS) } };

/** A run over `hosts` (dash1..) with the deploy host holding `files`; the inventory has `dashboards`. */
async function deployCtx(files: Record<string, string>, hosts: HostCase[] = [{}, {}], dashboards = ['dash1', 'dash2', 'dash3'], backend: 'redis' | 'database' = 'redis', inv = inventory()): Promise<FleetContext> {
  const ctx = fleet(runInfo(await desired(backend, inv)), hosts);
  return { ...ctx, deploy: { name: 'deploy', files: fakeFiles(files), dir: DIR, dashboards } };
}

const plan = (ctx: FleetContext) => step.plan(ctx, { hosts: [] } as never) as Promise<Planned>;

test('deployReadings: a host with its own file reads it, the others share one file; hosts outside the run are only named', (t) => {
  t.deepEqual(deployReadings(DIR, ['dash1', 'dash2'], ['dash1', 'dash2', 'dash3'], []), {
    readings: [{ path: SHARED, kind: 'shared', readBy: ['dash1', 'dash2'], alsoReadBy: ['dash3'] }],
    unknown: [],
  });
  t.deepEqual(deployReadings(DIR, ['dash1', 'dash2'], ['dash1', 'dash2', 'dash3', 'dash4'], ['dash2', 'dash4', 'ctl01']), {
    readings: [
      { path: SHARED, kind: 'shared', readBy: ['dash1'], alsoReadBy: ['dash3'] },
      { path: own('dash2'), kind: 'host', readBy: ['dash2'], alsoReadBy: [] },
    ],
    unknown: ['ctl01'],
  });
  t.deepEqual(deployReadings(DIR, ['dash1'], ['dash1', 'dash2'], ['dash1']).readings, [{ path: own('dash1'), kind: 'host', readBy: ['dash1'], alsoReadBy: [] }], 'the shared file is not touched when no host of the run reads it');
});

test("per-host and shared: each host's block where kolla-ansible reads it; a host outside the run keeps its own file untouched and is warned about on the shared one", async (t) => {
  const files = { [SHARED]: '# shared\n', [own('dash2')]: '# dash2 only\n', [own('dash4')]: '# dash4 only\n', [own('ctl01')]: '# ?\n' };
  const ctx = await deployCtx(files, [{}, {}], ['dash1', 'dash2', 'dash3', 'dash4']);
  const p = await plan(ctx);
  const deployFile = p.gives!.deployFile!;
  t.deepEqual(deployFile.map((f) => [f.path, f.kind, f.readBy, f.alsoReadBy, f.changed]), [
    [SHARED, 'shared', ['dash1'], ['dash3'], true],
    [own('dash2'), 'host', ['dash2'], [], true],
  ]);
  t.is(
    text(p),
    `write the block into deploy:${SHARED} (read by dash1), also read by dash3, not in this run; write the block into deploy:${own('dash2')} (read by dash2); ` +
      `note: ${DIR}/ctl01/ holds an override for a host not in the inventory (kolla-ansible reads such a file instead of the shared one: if a host is named differently in kolla-ansible's inventory, use that name here)`,
  );
  t.true(deployFile[1]!.after.startsWith('# dash2 only\n'));
  t.is(p.action === 'change' ? p.diff : '', deployFile[0]!.diff + deployFile[1]!.diff, 'one diff per file');
  t.regex(deployFile[1]!.diff, new RegExp(`^--- deploy:${own('dash2')} \\(now\\)`, 'm'));
  t.deepEqual(deployWarnings(deployFile), [
    `dash3 reads the deploy host's shared ${SHARED} but is not in this run: the next kolla-ansible reconfigure or deploy gives it the new backend (without the checks and client library sessionctl brings); switch it with sessionctl before then`,
  ]);

  const records: UndoEntry[] = [];
  const note = await step.apply!(ctx, { hosts: [], deployFile, plan: p } as never, (record, target) => records.push({ target: target!, step: 'kolla-override', record }));
  t.regex(String(note), new RegExp(`^deploy: wrote ${SHARED} .*; wrote ${own('dash2')} `));
  t.deepEqual(records.map((r) => [r.target.name, (r.record as FileRecord).path, (r.record as FileRecord).role]), [
    ['deploy', SHARED, 'deploy-override'],
    ['deploy', own('dash2'), 'deploy-override'],
  ]);
  t.is(files[own('dash4')], '# dash4 only\n', "a host outside the run: its own file is not touched");
  t.is(files[own('ctl01')], '# ?\n');
  const again = await plan(ctx);
  t.is(text(again).split(';')[0], `no change: deploy:${SHARED}, deploy:${own('dash2')} already have this block`);
});

test('no warning when every host reading the shared file is in the run, or when the shared file does not change', async (t) => {
  const p = await plan(await deployCtx({}, [{}, {}, {}]));
  t.deepEqual(p.gives!.deployFile!.map((f) => f.alsoReadBy), [[]]);
  t.deepEqual(deployWarnings(p.gives!.deployFile!), []);
  t.deepEqual(deployWarnings([{ ...p.gives!.deployFile![0]!, alsoReadBy: ['dash9'], changed: false }]), []);
});

test("the block in the deploy host's file is the Dashboard host's, and Jinja-inert even with a hostile password", async (t) => {
  process.env.SESSIONCTL_TEST_REDIS_PW = "p{{a}}s{%s%}{#w#}'\\\n";
  const inv = parseInventory(['hosts:', '  dash1: { address: 10.0.0.1 }', 'session:', '  redis: { url: "redis://10.0.0.50:6379/0", password_env: SESSIONCTL_TEST_REDIS_PW }', ''].join('\n'), 'inv.yaml', { HOME: '/h' });
  const ctx = await deployCtx({}, [validates], ['dash1'], 'redis', inv);
  const [file] = (await plan(ctx)).gives!.deployFile!;
  const hostPlan = (await (STEPS['patch-settings'] as HostStep).plan(ctx.hosts[0]!, {} as never)) as StepPlan & { gives: { settings: HostSettingsChange } };
  const block = (s: string) => s.slice(s.indexOf(BLOCK_BEGIN));
  t.is(block(file!.after), block(hostPlan.gives.settings.after));
  t.is(jinjaOpener(file!.after), null);
  t.true(file!.after.includes("'PASSWORD': 'p\\x7b{a}}s\\x7b%s%}\\x7b#w#}\\'\\\\\\x0a'"));
  t.false(file!.diff.includes('p\\x7b{a'), 'the diff masks the password in its written form');
});

test("an operator's templated override: Jinja lines kept, plain statements commented out, templated ones left alone; an unreadable template is refused naming its line", async (t) => {
  const template = "SECRET_KEY = '{{ horizon_secret_key }}'\n{% if horizon_redis %}\nSESSION_ENGINE = 'x'\n{% endif %}\nCACHES = {{ horizon_caches }}\n";
  const [file] = (await plan(await deployCtx({ [SHARED]: template }))).gives!.deployFile!;
  t.true(file!.after.startsWith(`SECRET_KEY = '{{ horizon_secret_key }}'\n{% if horizon_redis %}\n${NEUTRALISED}SESSION_ENGINE = 'x'\n{% endif %}\nCACHES = {{ horizon_caches }}\n${BLOCK_BEGIN}`));
  const p = await plan(await deployCtx({ [SHARED]: template }));
  t.regex(text(p), /comments out SESSION_ENGINE \(line 3\), leaves templated CACHES \(line 5\) \(the block comes later and wins\)/);

  await t.throwsAsync(plan(await deployCtx({ [SHARED]: "X = 1\n{% if a %}DEBUG = True{% endif %}\n" })), {
    message: `deploy: deploy:${SHARED}:2: unexpected indent (read as Python with its Jinja tags blanked out, as kolla-ansible renders it through Jinja); fix it first`,
  });
  await t.throwsAsync(plan(await deployCtx({ [own('dash1')]: 'X = {{ a\n' })), { message: `deploy: deploy:${own('dash1')}:1:5: a Jinja {{ that is never closed; fix it first` });
});

test('hosts that need different blocks: refused on the shared file, fine with their own files', async (t) => {
  const noMySQLdb: HostCase = { horizon: { modules: { pymysql: '1.1.1' } } };
  await t.throwsAsync(plan(await deployCtx({}, [{}, noMySQLdb], ['dash1', 'dash2'], 'database')), {
    message: new RegExp(`the hosts reading deploy:${SHARED} need different settings \\(different Django or libraries: dash1 / dash2\\); one file cannot hold them: give each its own ${DIR}/<host>/_9999-custom-settings.py`),
  });
  const p = await plan(await deployCtx({ [own('dash2')]: '' }, [{}, noMySQLdb], ['dash1', 'dash2'], 'database'));
  const [shared, dash2] = p.gives!.deployFile!;
  t.false(shared!.after.includes('pymysql'));
  t.true(dash2!.after.includes('pymysql'), "dash2's own file has dash2's block");
});

test('several deploy files: the automatic rollback and `sessionctl rollback` (from the journal) restore each to its exact bytes', async (t) => {
  const original = { [SHARED]: '# shared\n', [own('dash2')]: '# dash2 only\n' };
  const files: Record<string, string> = { ...original };
  const ctx = await deployCtx(files, [{}, {}], ['dash1', 'dash2']);
  const target: UndoTarget = { name: 'deploy', files: ctx.deploy!.files };
  const order = [{ phase: 'persist', step: 'kolla-override' }];
  const results: string[] = [];
  const undoRun: UndoRun = {
    steps: STEPS,
    order,
    ctx: { id: 'R', force: false, timeouts: { health: 1 } },
    record: (_phase, _step, _host, outcome, detail, _t0, entry) => results.push(`${(entry.record as FileRecord).path} ${outcome}: ${detail}`),
  };
  const applyAll = async () => {
    const p = await plan(ctx);
    const remembered: UndoEntry[] = [];
    await step.apply!(ctx, { hosts: [], deployFile: p.gives!.deployFile, plan: p } as never, (record, to) => remembered.push({ target: to!, step: 'kolla-override', record }));
    t.notDeepEqual(files, original);
    return remembered;
  };

  const remembered = await applyAll();
  const undone = await applyUndo(undoRun, await planUndo(undoRun, remembered));
  t.deepEqual(undone.targets, [{ name: 'deploy', ok: true, fleetOnly: true }]);
  t.deepEqual(files, original, 'automatic rollback: both files have their exact bytes again');
  t.deepEqual(results, [
    `${SHARED} rolled-back: deploy: restored ${SHARED} to its exact bytes (sha256 ${(remembered[0]!.record as FileRecord).before!.slice(0, 12)})`,
    `${own('dash2')} rolled-back: deploy: restored ${own('dash2')} to its exact bytes (sha256 ${(remembered[1]!.record as FileRecord).before!.slice(0, 12)})`,
  ]);

  // The same records as the journal keeps them, for `sessionctl rollback`.
  const journaled = (await applyAll()).map((e) => STEPS['kolla-override']!.undo!.journal!(e.record, 'deploy'));
  const header: JournalRecord = { type: 'header', version: 1, runId: 'R2', startedAt: 'T', by: 'op@laptop', inventory: { path: '/inv.yaml', sha256: null }, backend: 'redis', where: 'Redis', playbook: 'redis.yaml', hosts: ['dash1', 'dash2'] };
  const run = parseRun([header, ...journaled].map((r, i) => ({ ...r, seq: i + 1 }) as Sequenced), '/state/runs/R2.jsonl');
  const entries = undoEntriesOf(run, () => target);
  t.deepEqual(entries.map((e) => [e.step, (e.record as FileRecord).path]), [['kolla-override', SHARED], ['kolla-override', own('dash2')]]);
  const planned = await planUndo(undoRun, entries);
  t.deepEqual(planned.flat().map((p) => p.plan!.action), ['undo', 'undo']);
  await applyUndo(undoRun, planned);
  t.deepEqual(files, original, '`sessionctl rollback`: both files have their exact bytes again');
});
