/** The rollback planner, pure: a run's journal and what the hosts hold now -> actions or refusals. */
import test from 'ava';
import { JournalError } from '../../../src/errors.js';
import { parseRun, rolledBack, type RunJournal } from '../../../src/journal/run.js';
import { backendDifferences, fileAction, pickRun, restartAction } from '../../../src/journal/rollback-plan.js';
import { undoEntriesOf } from '../../../src/steps/journaled.js';
import type { RestartUndo } from '../../../src/steps/types.js';
import type { BeforeBackend, FileRecord, JournalRecord, Sequenced } from '../../../src/journal/records.js';

const SETTINGS = '/etc/kolla/horizon/_9999-custom-settings.py';
const OVERRIDE = '/etc/kolla/config/horizon/_9999-custom-settings.py';
const [ORIG, WROTE, OTHER] = ['0'.repeat(64), '1'.repeat(64), '2'.repeat(64)];
const memcached: BeforeBackend = { name: 'memcached', sessionEngine: 'django.contrib.sessions.backends.cache', cacheBackend: 'django.core.cache.backends.memcached.PyMemcacheCache', locationSha256: 'a'.repeat(64) };
const redis: BeforeBackend = { name: 'redis', sessionEngine: 'django.contrib.sessions.backends.cache', cacheBackend: 'django_redis.cache.RedisCache', locationSha256: 'b'.repeat(64) };

function file(host: string, before: string | null = ORIG, role: FileRecord['role'] = 'settings', path = SETTINGS): FileRecord {
  return { type: 'file', host, role, path, backup: `/var/lib/sessionctl/backups/R/${path.replace(/\//g, '%')}`, before, after: WROTE };
}

function journal(extra: JournalRecord[], id = '20260101T120000-abcdef'): RunJournal {
  const records: JournalRecord[] = [
    { type: 'header', version: 1, runId: id, startedAt: '2026-01-01T12:00:00Z', by: 'op@laptop', inventory: { path: '/inv.yaml', sha256: null }, backend: 'redis', where: 'Redis', playbook: 'redis.yaml', hosts: ['dash1', 'dash2', 'dash3'] },
    { type: 'plan', hosts: ['dash1', 'dash2', 'dash3'].map((host) => ({ host, before: memcached, steps: [] })), fleet: [] },
    ...extra,
  ];
  return parseRun(records.map((r, i) => ({ ...r, seq: i + 1 }) as Sequenced), `/state/runs/${id}.jsonl`);
}

test('per file: original bytes -> nothing; the run\'s bytes -> restore; anything else -> refuse naming host, path and both hashes', (t) => {
  const f = file('dash3');
  t.is(fileAction(f, ORIG, false).action, 'none');
  t.is(fileAction(f, WROTE, false).action, 'restore');
  const refused = fileAction(f, OTHER, false);
  t.is(refused.action, 'refuse');
  t.true(refused.reason.startsWith(`dash3:${SETTINGS} changed since the run`));
  t.true(refused.reason.includes(OTHER) && refused.reason.includes(WROTE), refused.reason);
  t.regex(refused.reason, /--force/);
});

test('--force restores a changed file anyway, and says it discards the change', (t) => {
  const forced = fileAction(file('dash1'), OTHER, true);
  t.is(forced.action, 'restore');
  t.true(forced.forced);
  t.regex(forced.reason, /--force: restore it from .*discarding that change/);
});

test('a file that did not exist before the run is removed, and a removed file is a change', (t) => {
  t.regex(fileAction(file('dash1', null), WROTE, false).reason, /remove it \(it did not exist before the run/);
  t.is(fileAction(file('dash1', null), null, false).action, 'none', 'absent again = original state');
  t.is(fileAction(file('dash1'), null, false).action, 'refuse', 'a file that existed and is now gone was changed by someone');
});

test('restart: when the run restarted the host, or when Django there does not resolve the previous backend', (t) => {
  t.true(restartAction('dash1', memcached, undefined, true).restart, 'restarted by the run: not even asked');
  t.false(restartAction('dash1', memcached, memcached, false).restart, 'runs the previous backend');
  t.true(restartAction('dash2', memcached, redis, false).restart, 'still runs the new one');
  t.regex(restartAction('dash2', memcached, redis, false).reason, /still uses redis/);
  t.true(restartAction('dash1', memcached, null, false).restart, 'Horizon could not be asked: restart and check');
  t.deepEqual(backendDifferences(memcached, memcached), []);
  t.deepEqual(backendDifferences(memcached, { ...memcached, locationSha256: 'c'.repeat(64) }), ["CACHES['default'] LOCATION differs from the one before the run"]);
});

test('the journal gives the same undo entries the run would have used: files by the step that wrote them, a restart per Dashboard host', (t) => {
  const run = journal([
    file('dash2'),
    file('dash1'),
    file('deploy', ORIG, 'deploy-override', OVERRIDE),
    file('dash1'),
    { type: 'restart', host: 'dash1', container: 'horizon', stage: 'apply' },
    { type: 'restart', host: 'dash2', container: 'horizon', stage: 'apply' },
    { type: 'restart', host: 'dash2', container: 'horizon', stage: 'rollback' },
  ]);
  const entries = undoEntriesOf(run, (name) => ({ name, host: { container: 'horizon' } as never }));
  t.deepEqual(
    entries.map((e) => [e.target.name, e.step]),
    [['dash1', 'patch-settings'], ['dash1', 'restart'], ['dash2', 'patch-settings'], ['dash2', 'restart'], ['deploy', 'kolla-override']],
    "in the run's host order (its rolling order), the deploy host last, each file once",
  );
  const restarts = entries.filter((e) => e.step === 'restart').map((e) => e.record as RestartUndo);
  t.deepEqual(restarts.map((r) => r.restarted), [true, false], "dash2's last restart was the automatic rollback's: not restarted by the run any more");
  t.deepEqual(restarts[0]!.before, memcached, 'the backend before the run, from the plan record');
});

test('a run that reloaded a host is undone by a reload of the same files; a restart stays a restart', (t) => {
  const run = journal([
    file('dash1'),
    file('dash2'),
    { type: 'restart', host: 'dash1', container: 'horizon', stage: 'apply', method: 'reload', files: ['_9999-custom-settings.py'] },
    { type: 'restart', host: 'dash2', container: 'horizon', stage: 'apply' },
  ]);
  const restarts = undoEntriesOf(run, (name) => ({ name, host: { container: 'horizon' } as never })).filter((e) => e.step === 'restart').map((e) => e.record as RestartUndo);
  t.deepEqual(restarts.map((r) => [r.method, r.files]), [['reload', ['_9999-custom-settings.py']], [undefined, undefined]]);
  t.regex(restartAction('dash1', memcached, undefined, true, 'reload').reason, /^reload its web server gracefully on the restored settings/);
  t.regex(restartAction('dash1', memcached, redis, false).reason, /restart it on the original settings$/);
});

test('rolled back: by sessionctl rollback, or by the run\'s own complete automatic rollback', (t) => {
  t.falsy(rolledBack(journal([file('dash1'), { type: 'outcome', outcome: 'rollback-failed', endedAt: 'T' }])));
  t.is(rolledBack(journal([file('dash1'), { type: 'outcome', outcome: 'rolled-back', endedAt: 'T' }]))?.by, 'the run itself (automatic rollback)');
  const begin: JournalRecord = { type: 'rollback-begin', at: 'T1', by: 'op@laptop', force: false, actions: [] };
  t.falsy(rolledBack(journal([file('dash1'), begin])), 'begun but not finished');
  t.falsy(rolledBack(journal([file('dash1'), begin, { type: 'rollback', at: 'T2', outcome: 'rollback-failed', files: [], hosts: [] }])));
  t.truthy(rolledBack(journal([file('dash1'), begin, { type: 'rollback', at: 'T2', outcome: 'rolled-back', files: [], hosts: [] }])));
});

test('default run: the newest with file writes not rolled back; a corrupt newer journal stops the choice', (t) => {
  const older = journal([file('dash1'), { type: 'outcome', outcome: 'applied', endedAt: 'T' }], '20260101T100000-aaaaaa');
  const auto = journal([file('dash1'), { type: 'outcome', outcome: 'rolled-back', endedAt: 'T' }], '20260102T100000-bbbbbb');
  const noWrites = journal([{ type: 'outcome', outcome: 'declined', endedAt: 'T' }], '20260103T100000-cccccc');
  const entries = [noWrites, auto, older].map((run) => ({ id: run.header.runId, run }));
  t.is(pickRun(entries)?.header.runId, '20260101T100000-aaaaaa');
  t.is(pickRun([entries[0]!, entries[1]!]), undefined);
  const corrupt = { id: '20260104T100000-dddddd', error: new JournalError('/state/runs/20260104T100000-dddddd.jsonl', 7, 'corrupt: the record does not match its sha256') };
  const err = t.throws(() => pickRun([corrupt, ...entries]), { instanceOf: JournalError });
  t.regex(err!.message, /^\/state\/runs\/20260104T100000-dddddd\.jsonl:7: corrupt.*--run ID/);
});

test('parseRun: a rollback result without its begin record is a damaged journal', (t) => {
  const err = t.throws(() => journal([{ type: 'rollback', at: 'T', outcome: 'rolled-back', files: [], hosts: [] }]), { instanceOf: JournalError });
  t.is(err?.line, 3);
});
