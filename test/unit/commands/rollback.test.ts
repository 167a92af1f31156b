/** `sessionctl rollback`: each undo's result in the report, and what it refuses to act on. */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resultKey, rollback, viewOf } from '../../../src/commands/rollback.js';
import { ConfigError, JournalError } from '../../../src/errors.js';
import { versioned } from '../../../src/report/json.js';
import { schemaProblems } from '../../schemas.js';
import { Journal } from '../../../src/journal/journal.js';
import { journalFile } from '../../../src/journal/paths.js';
import type { FileRecord, RestartRecord } from '../../../src/journal/records.js';
import { backupPath } from '../../../src/steps/file-undo.js';
import type { UndoEntry } from '../../../src/steps/types.js';
import { fakeConnections, inventory } from '../steps/fakes.js';

const file = (path: string): FileRecord => ({ type: 'file', host: 'deploy', role: 'deploy-override', path, backup: `/b/${path}`, before: null, after: 'a'.repeat(64) });

test('two files of one host and step keep apart (the deploy host may have several overrides); a restart is keyed by its step', (t) => {
  const target = { name: 'deploy' };
  const entries: UndoEntry[] = [
    { target, step: 'kolla-override', record: file('/etc/kolla/config/horizon/_9999-custom-settings.py') },
    { target, step: 'kolla-override', record: file('/etc/kolla/config/horizon/dash2/_9999-custom-settings.py') },
    { target: { name: 'dash1' }, step: 'restart', record: { container: 'horizon', before: null, restarted: true } },
  ];
  t.deepEqual(entries.map(resultKey), [
    'deploy\0/etc/kolla/config/horizon/_9999-custom-settings.py',
    'deploy\0/etc/kolla/config/horizon/dash2/_9999-custom-settings.py',
    'dash1\0restart',
  ]);
});

test('a deploy host with only overrides: every file listed, nothing to restart', (t) => {
  const actions = ['/a', '/b'].map((path) => ({ ...file(path), now: 'a'.repeat(64), action: 'restore' as const, reason: 'restore it' }));
  const view = viewOf([actions.map((f) => ({ entry: { target: { name: 'deploy' }, step: 'kolla-override', record: f }, phase: 'persist', plan: { action: 'undo' as const, summary: 'x', file: f } }))]);
  t.deepEqual(view.files.map((f) => f.path), ['/a', '/b']);
  t.deepEqual(view.hosts.map((h) => [h.host, h.restart]), [['deploy', false]]);
  t.deepEqual(view.refusals, []);
});

/*
 * `sessionctl rollback` on journals on disk and fake hosts: what a forged journal or a state dir
 * someone else could write to makes it do (nothing), and that the journal sessionctl writes is undone.
 */
const RUN = '20260101T120000-abcdef';
const OVERRIDE = '/etc/kolla/config/horizon/_9999-custom-settings.py';
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/** A state dir with one run that wrote `records` (default: the deploy host's override, as the run writes it). */
const dirs: string[] = [];
test.after.always(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function stateWith(records: Partial<FileRecord | RestartRecord>[] = [{}], id = RUN): string {
  const dir = mkdtempSync(join(tmpdir(), 'rollback-test-'));
  dirs.push(dir);
  const journal = Journal.create(journalFile(dir, id));
  journal.append({ type: 'header', version: 1, runId: id, startedAt: '2026-01-01T12:00:00Z', by: 'op@laptop', inventory: { path: '/inv.yaml', sha256: null }, backend: 'redis', where: 'Redis', playbook: 'redis.yaml', hosts: ['dash1', 'dash2'] });
  for (const r of records) {
    if (r.type === 'restart') journal.append(r as RestartRecord);
    else journal.append({ type: 'file', host: 'dash1', role: 'deploy-override', path: OVERRIDE, backup: backupPath(id, OVERRIDE), before: sha('old'), after: sha('new'), ...r } as FileRecord);
  }
  journal.append({ type: 'outcome', outcome: 'applied', endedAt: '2026-01-01T12:01:00Z' });
  return dir;
}

/** Roll back over fake hosts where every file, at any path, has the run's bytes and every backup, anywhere, the old ones. */
async function rollBack(stateDir: string, log: string[]) {
  const anyPath = new Proxy({} as Record<string, string>, { get: (_, p) => (typeof p === 'string' ? 'new' : undefined), has: () => true });
  const anyBackup = new Proxy({} as Record<string, string | null>, { get: (_, p) => (typeof p === 'string' ? 'old' : undefined), has: () => true });
  const inv = inventory(2, 'kolla: { deploy_host: dash1, config_dir: /etc/kolla/config }');
  return rollback(inv, {
    stateDir,
    force: false,
    ssh: { acceptNewHostKeys: false },
    healthTimeout: 5,
    confirm: async () => true,
    log: () => undefined,
    connections: fakeConnections({ dash1: { files: anyPath, backups: anyBackup }, dash2: { files: anyPath, backups: anyBackup } }, log),
  });
}

const FORGED: [string, Partial<FileRecord | RestartRecord>, RegExp][] = [
  ['a path it never patches', { path: '/etc/shadow', backup: backupPath(RUN, '/etc/shadow') }, /:2: \/etc\/shadow is not an override sessionctl writes on the deploy host/],
  ['a settings path outside config_dir', { role: 'settings', host: 'dash2', path: '/root/.ssh/authorized_keys', backup: backupPath(RUN, '/root/.ssh/authorized_keys') }, /:2: \/root\/.ssh\/authorized_keys is not a settings file sessionctl patches on dash2 \(\/etc\/kolla\/horizon\/_9999-custom-settings.py, \/etc\/kolla\/horizon\/custom_local_settings\)/],
  ["a path with '..'", { path: '/etc/kolla/config/horizon/../../../etc/shadow' }, /:2: the path "\/etc\/kolla\/config\/horizon\/..\/..\/..\/etc\/shadow" is not a plain absolute path/],
  ["a backup outside the run's folder", { backup: '/tmp/planted' }, /:2: the backup \/tmp\/planted is outside this run's backup folder \/var\/lib\/sessionctl\/backups\/20260101T120000-abcdef\//],
  ["a backup with '..'", { backup: `/var/lib/sessionctl/backups/${RUN}/../20251231T000000-aaaaaa/x` }, /:2: the backup .* is not a plain absolute path \(no '.' or '..' parts\)/],
  ["another file's backup", { backup: `/var/lib/sessionctl/backups/${RUN}/%etc%shadow` }, /:2: the backup .*%etc%shadow is not the one this run makes of \/etc\/kolla\/config\/horizon\/_9999-custom-settings.py/],
  ['an override on a host that is not the deploy host', { host: 'dash2' }, /:2: a deploy host override on dash2, but the deploy host is dash1/],
  ["a restart of another container", { type: 'restart', host: 'dash1', container: 'mariadb', stage: 'apply' }, /:2: a restart of container 'mariadb' on dash1, whose Horizon container is 'horizon'/],
];

for (const [what, record, message] of FORGED) {
  test(`a forged record (${what}) is refused with its line, nothing restored (the record as written is restored)`, async (t) => {
    const log: string[] = [];
    await t.throwsAsync(rollBack(stateWith(record.type === 'restart' ? [record, {}] : [record]), log), { instanceOf: JournalError, message });
    t.deepEqual(log.filter((l) => /^(restore|write)/.test(l)), []);
    const { report } = await rollBack(stateWith(), log);
    t.is(report.outcome, 'rolled-back');
    t.deepEqual(log.filter((l) => l.startsWith('restore')), [`restore dash1 ${OVERRIDE}`]);
  });
}

test('a settings file outside config_dir is looked for where the container mounts Kolla\'s config from, and refused when it is not there', async (t) => {
  const log: string[] = [];
  const path = '/srv/elsewhere/_9999-custom-settings.py';
  await t.throwsAsync(rollBack(stateWith([{ role: 'settings', host: 'dash2', path, backup: backupPath(RUN, path) }]), log), {
    instanceOf: JournalError,
    message: /:2: \/srv\/elsewhere\/_9999-custom-settings.py is not a settings file sessionctl patches on dash2 \(.*, the container mounting \/etc\/kolla\/horizon\)/,
  });
  t.deepEqual(log.filter((l) => /^(restore|write)/.test(l)), []);
});

const SPOILED: [string, (dir: string) => void, RegExp][] = [
  ['a symlinked runs/', (dir) => {
    renameSync(join(dir, 'runs'), join(dir, 'elsewhere'));
    symlinkSync(join(dir, 'elsewhere'), join(dir, 'runs'));
  }, /the state dir's runs folder .*\/runs is a symlink: a journal there may not be sessionctl's own, so rollback will not act on it/],
  ['a world-writable state dir', (dir) => chmodSync(dir, 0o777), /the state dir .* is writable by its group and others \(mode 0777\).*chmod go-w/],
  ['a group-writable runs/', (dir) => chmodSync(join(dir, 'runs'), 0o770), /runs folder .* is writable by its group \(mode 0770\)/],
  ['a FIFO in runs/', (dir) => execFileSync('mkfifo', [journalFile(dir, '20260102T120000-ffffff')]), /20260102T120000-ffffff\.jsonl is a FIFO \(named pipe\), not a regular file/],
];

for (const [what, spoil, message] of SPOILED) {
  test(`${what} is refused before any journal is read or host touched`, async (t) => {
    const dir = stateWith();
    spoil(dir);
    const log: string[] = [];
    await t.throwsAsync(rollBack(dir, log), { instanceOf: ConfigError, message });
    t.deepEqual(log, []);
  });
}

test('the --json rollback reports validate against rollback.schema.json (rolled back; nothing to roll back)', async (t) => {
  const { report } = await rollBack(stateWith(), []);
  t.is(report.outcome, 'rolled-back');
  t.true(report.files.length > 0);
  t.deepEqual(schemaProblems('rollback', versioned(report)), []);
  const empty = mkdtempSync(join(tmpdir(), 'rollback-test-'));
  dirs.push(empty);
  const { report: none } = await rollBack(empty, []);
  t.is(none.outcome, 'nothing-to-roll-back');
  t.deepEqual(schemaProblems('rollback', versioned(none)), []);
});
