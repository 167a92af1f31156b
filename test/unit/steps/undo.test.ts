/**
 * The steps' undo plans as tables: what undoing a recorded change would do now, read-only. The
 * automatic rollback and `sessionctl rollback` both act on exactly these decisions.
 */
import test from 'ava';
import { createHash } from 'node:crypto';
import { STEPS } from '../../../src/steps/index.js';
import type { RestartUndo, UndoContext } from '../../../src/steps/types.js';
import type { FileRecord } from '../../../src/journal/records.js';
import { beforeBackend } from '../../../src/backends/effective.js';
import { CUSTOM, REDIS_SETTINGS, fakeEngine, fakeFiles, probeLine, settings } from './fakes.js';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const ORIGINAL = '# operator\n';
const WRITTEN = '# operator\n# BEGIN sessionctl managed block\n';
const record: FileRecord = { type: 'file', host: 'dash1', role: 'settings', path: CUSTOM, backup: '/var/lib/sessionctl/backups/R/x', before: sha(ORIGINAL), after: sha(WRITTEN) };

function ctx(file: string | null, force = false, probe?: string): UndoContext {
  return {
    target: { name: 'dash1', files: fakeFiles(file === null ? {} : { [CUSTOM]: file }), engine: fakeEngine(probe ? { probe: () => probe } : {}) },
    run: { id: 'R', force, timeouts: { health: 1 } },
  };
}

test('a file write: original bytes -> nothing; the run\'s bytes -> restore; changed since -> refused, or restored with --force', async (t) => {
  const undo = STEPS['patch-settings']!.undo!;
  t.is((await undo.plan(ctx(ORIGINAL), record)).action, 'none');
  t.is((await undo.plan(ctx(WRITTEN), record)).action, 'undo');
  const refused = await undo.plan(ctx('# edited by hand\n'), record);
  t.is(refused.action, 'refuse');
  t.regex(refused.action === 'refuse' ? refused.reason : '', new RegExp(`^dash1:${CUSTOM} changed since the run: .*--force`));
  t.is((await undo.plan(ctx('# edited by hand\n', true), record)).action, 'undo');
  t.is((await undo.plan(ctx(null), { ...record, before: null })).action, 'none', 'a file that did not exist and is gone again');
  t.is(STEPS['kolla-override']!.undo, undo, "the deploy host's override is undone the same way");
});

test("a file write's undo restores only the bytes its plan saw: a change made after the plan is refused, not overwritten", async (t) => {
  const undo = STEPS['patch-settings']!.undo!;
  const files = fakeFiles({ [CUSTOM]: ORIGINAL });
  await files.backup(CUSTOM, record.backup, sha(ORIGINAL));
  await files.write(CUSTOM, Buffer.from(WRITTEN), sha(ORIGINAL));
  const at: UndoContext = { target: { name: 'dash1', files }, run: { id: 'R', force: false, timeouts: { health: 1 } } };
  const plan = await undo.plan(at, record);
  await files.write(CUSTOM, Buffer.from('# edited after the plan\n'), sha(WRITTEN));
  await t.throwsAsync(undo.apply(at, record, plan), { message: /changed since the undo was planned/ });
  t.is((await files.read(CUSTOM))?.content.toString(), '# edited after the plan\n');
  const again = await undo.plan({ ...at, run: { ...at.run, force: true } }, record);
  t.regex(await undo.apply(at, record, again), /^restored /, 'with --force, planned again on those bytes');
  t.is((await files.read(CUSTOM))?.content.toString(), ORIGINAL);
});

test('a restart: the run restarted it -> restart; otherwise only when Django there does not resolve the backend before the run', async (t) => {
  const undo = STEPS.restart!.undo!;
  const before = beforeBackend(settings());
  const restarted: RestartUndo = { container: 'horizon', before, restarted: true };
  t.is((await undo.plan(ctx(ORIGINAL), restarted)).action, 'undo', 'not even asked');
  const idle: RestartUndo = { ...restarted, restarted: false };
  t.is((await undo.plan(ctx(ORIGINAL, false, probeLine(settings())), idle)).action, 'none');
  const still = await undo.plan(ctx(ORIGINAL, false, probeLine(REDIS_SETTINGS)), idle);
  t.deepEqual([still.action, still.restart?.reason], ['undo', 'the running Horizon still uses redis: restart it on the original settings']);
  t.is((await undo.plan(ctx(ORIGINAL, false, probeLine(undefined, { settings_error: 'ImportError: x' })), idle)).action, 'undo', 'cannot be asked: restart and check');
  const reloaded: RestartUndo = { ...restarted, method: 'reload', files: ['_9999-custom-settings.py'] };
  t.regex((await undo.plan(ctx(ORIGINAL), reloaded)).restart?.reason ?? '', /^reload its web server gracefully on the restored settings/, 'undone the way it was done');
  const forced = { ...ctx(ORIGINAL), run: { ...ctx(ORIGINAL).run, restart: true } };
  t.regex((await undo.plan(forced, reloaded)).restart?.reason ?? '', /^restart it on the restored settings/, 'rollback --restart');
});

test('journal records: a file write is journaled as itself, a restart as the restart it announces', (t) => {
  t.deepEqual(STEPS['patch-settings']!.undo!.journal!(record, 'dash1'), record);
  t.deepEqual(STEPS.restart!.undo!.journal!({ container: 'horizon', before: null, restarted: true }, 'dash2'), { type: 'restart', host: 'dash2', container: 'horizon', stage: 'apply' });
  const reload = STEPS.restart!.undo!.journal!({ container: 'horizon', before: null, restarted: true, method: 'reload', files: ['_9999-custom-settings.py'] }, 'dash2');
  t.deepEqual(reload, { type: 'restart', host: 'dash2', container: 'horizon', stage: 'apply', method: 'reload', files: ['_9999-custom-settings.py'] });
  t.is(STEPS['carry-sessions']!.undo!.journal, undefined, 'the carried copies are undone within the run only');
});
