/** The rollback planner, pure: a run's journal and what the hosts hold now -> actions or refusals. */
import test from 'ava';
import { JournalError } from '../../src/errors.js';
import { parseRun, rolledBack, type RunJournal } from '../../src/journal/run.js';
import { pickRun, planRollback } from '../../src/journal/rollback-plan.js';
import type { BeforeBackend, FileRecord, JournalRecord, Sequenced } from '../../src/journal/records.js';

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

const key = (host: string, path = SETTINGS) => `${host}\0${path}`;

test('per file: original bytes -> nothing; the run\'s bytes -> restore; anything else -> refuse naming host, path and both hashes', (t) => {
  const run = journal([file('dash2'), file('dash1'), file('dash3')]);
  const now = new Map([[key('dash1'), ORIG], [key('dash2'), WROTE], [key('dash3'), OTHER]]);
  const plan = planRollback(run, now, new Map([['dash1', memcached]]), false);
  t.deepEqual(plan.files.map((f) => [f.host, f.action]), [['dash1', 'none'], ['dash2', 'restore'], ['dash3', 'refuse']], 'in the run\'s host order');
  t.is(plan.refusals.length, 1);
  t.true(plan.refusals[0]!.startsWith(`dash3:${SETTINGS} changed since the run`));
  t.true(plan.refusals[0]!.includes(OTHER) && plan.refusals[0]!.includes(WROTE), plan.refusals[0]);
  t.regex(plan.refusals[0]!, /--force/);
  t.deepEqual(plan.hosts.map((h) => [h.host, h.restart]), [['dash1', false], ['dash2', true], ['dash3', false]]);
});

test('--force restores a changed file anyway, and says it discards the change', (t) => {
  const plan = planRollback(journal([file('dash1')]), new Map([[key('dash1'), OTHER]]), new Map(), true);
  t.is(plan.files[0]!.action, 'restore');
  t.true(plan.files[0]!.forced);
  t.regex(plan.files[0]!.reason, /--force: restore it from .*discarding that change/);
  t.deepEqual(plan.refusals, []);
  t.true(plan.hosts[0]!.restart);
});

test('a file that did not exist before the run is removed, and a removed file is a change', (t) => {
  const run = journal([file('dash1', null)]);
  t.regex(planRollback(run, new Map([[key('dash1'), WROTE]]), new Map(), false).files[0]!.reason, /remove it \(it did not exist before the run/);
  t.is(planRollback(run, new Map([[key('dash1'), null]]), new Map(), false).files[0]!.action, 'none', 'absent again = original state');
  const gone = planRollback(journal([file('dash1')]), new Map([[key('dash1'), null]]), new Map(), false);
  t.is(gone.files[0]!.action, 'refuse', 'a file that existed and is now gone was changed by someone');
});

test('restart: only Dashboard hosts whose settings come back, or whose running backend is still the new one', (t) => {
  const run = journal([file('dash1'), file('dash1', ORIG, 'deploy-override', OVERRIDE), file('dash2'), file('deploy', ORIG, 'deploy-override', OVERRIDE)]);
  const now = new Map([[key('dash1'), ORIG], [key('dash1', OVERRIDE), WROTE], [key('dash2'), ORIG], [key('deploy', OVERRIDE), WROTE]]);
  const plan = planRollback(run, now, new Map([['dash1', memcached], ['dash2', redis]]), false);
  t.deepEqual(
    plan.hosts.map((h) => [h.host, h.restart]),
    [['dash1', false], ['dash2', true], ['deploy', false]],
    'dash1 runs memcached with its original file; dash2 has the original file but still runs Redis; the deploy host has no Horizon to restart',
  );
  t.deepEqual(plan.files.filter((f) => f.action === 'restore').map((f) => `${f.host}:${f.path}`), [`dash1:${OVERRIDE}`, `deploy:${OVERRIDE}`]);
  const unknown = planRollback(run, now, new Map([['dash1', null], ['dash2', memcached]]), false);
  t.true(unknown.hosts[0]!.restart, 'Horizon could not be asked: restart and check');
});

test('a file the journal names but the hosts were not asked about is a bug, not a guess', (t) => {
  t.throws(() => planRollback(journal([file('dash1')]), new Map(), new Map(), false), { message: /no current sha256/ });
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
