/** `sessionctl history` from journals on disk: summaries, newest first, a corrupt journal listed with its error. */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { history, runDetail } from '../../../src/commands/history.js';
import { Journal } from '../../../src/journal/journal.js';
import { journalFile } from '../../../src/journal/paths.js';
import { renderHistory, renderRunDetail } from '../../../src/report/history.js';
import { ConfigError, JournalError } from '../../../src/errors.js';
import { versioned } from '../../../src/report/json.js';
import { schemaProblems } from '../../schemas.js';

function stateWithRuns(): string {
  const dir = mkdtempSync(join(tmpdir(), 'history-test-'));
  const header = (runId: string) => ({ type: 'header' as const, version: 1, runId, startedAt: '2026-01-01T12:00:00.000Z', by: 'op@laptop', inventory: { path: '/inv.yaml', sha256: null }, backend: 'redis', where: 'Redis at redis://10.0.0.5:6379/0', playbook: 'redis.yaml', hosts: ['dash1', 'dash2'] });
  const a = Journal.create(journalFile(dir, '20260101T120000-aaaaaa'));
  a.append(header('20260101T120000-aaaaaa'));
  a.append({ type: 'file', host: 'dash2', role: 'settings', path: '/etc/kolla/horizon/_9999-custom-settings.py', backup: '/var/lib/sessionctl/backups/b', before: '0'.repeat(64), after: '1'.repeat(64) });
  a.append({ type: 'file', host: 'dash1', role: 'settings', path: '/etc/kolla/horizon/_9999-custom-settings.py', backup: '/var/lib/sessionctl/backups/a', before: null, after: '1'.repeat(64) });
  a.append({ type: 'outcome', outcome: 'applied', endedAt: '2026-01-01T12:01:00.000Z' });
  a.append({ type: 'rollback-begin', at: '2026-01-02T09:00:00.000Z', by: 'op@laptop', force: false, actions: [] });
  a.append({ type: 'rollback', at: '2026-01-02T09:01:00.000Z', outcome: 'rolled-back', files: [], hosts: [] });
  const b = Journal.create(journalFile(dir, '20260103T120000-bbbbbb'));
  b.append(header('20260103T120000-bbbbbb'));
  writeFileSync(b.file, 'x', { flag: 'a' });
  return dir;
}

test('the list: newest first, hosts in run order, rolled back shown, a damaged journal with file:line', (t) => {
  const list = history(stateWithRuns());
  t.deepEqual(list.runs.map((r) => r.id), ['20260103T120000-bbbbbb', '20260101T120000-aaaaaa']);
  const [bad, good] = list.runs;
  t.true(bad && 'error' in bad && /20260103T120000-bbbbbb\.jsonl:2: truncated/.test(bad.error));
  t.true(good && !('error' in good) && good.hostsTouched.join() === 'dash1,dash2' && good.rolledBack?.at === '2026-01-02T09:01:00.000Z');
  const text = renderHistory(list);
  t.regex(text, /20260101T120000-aaaaaa .*applied; rolled back\s+dash1,dash2/);
  t.regex(text, /20260103T120000-bbbbbb .*UNREADABLE: .*:2: truncated/);
});

test('one run: files with backup and hashes; a damaged or unknown run is an error naming the file', (t) => {
  const dir = stateWithRuns();
  const text = renderRunDetail(runDetail(dir, '20260101T120000-aaaaaa'));
  t.regex(text, /dash1:\/etc\/kolla\/horizon\/_9999-custom-settings.py\n\s+backup \/var\/lib\/sessionctl\/backups\/a\n\s+absent -> 1{64}/);
  t.regex(text, /rollback by op@laptop at 2026-01-02T09:00:00.000Z: rolled-back/);
  t.throws(() => runDetail(dir, '20260103T120000-bbbbbb'), { instanceOf: JournalError, message: /\.jsonl:2: truncated/ });
});

test('a malformed or unknown --run is bad input (exit 5), naming the value, not an unreadable journal (exit 1)', (t) => {
  const dir = stateWithRuns();
  const bad = t.throws(() => runDetail(dir, '../../etc/passwd'), { instanceOf: ConfigError });
  t.is(bad?.message, '"../../etc/passwd" is not a run id: expected YYYYMMDDTHHMMSS-xxxxxx, as `sessionctl history` lists them');
  t.is(bad?.exitCode, 5);
  const unknown = t.throws(() => runDetail(dir, '20260109T120000-cccccc'), { instanceOf: ConfigError });
  t.is(unknown?.message, `no run 20260109T120000-cccccc under ${join(dir, 'runs')} (as \`sessionctl history\` lists them)`);
});

test('a FIFO or a symlink named like a journal is listed as unreadable, never opened (a FIFO would block the read for ever)', (t) => {
  const dir = stateWithRuns();
  execFileSync('mkfifo', [journalFile(dir, '20260104T120000-cccccc')]);
  symlinkSync(journalFile(dir, '20260101T120000-aaaaaa'), journalFile(dir, '20260105T120000-dddddd'));
  const errors = Object.fromEntries(history(dir).runs.map((r) => [r.id, 'error' in r ? r.error : 'read']));
  t.regex(errors['20260104T120000-cccccc']!, /20260104T120000-cccccc\.jsonl: a FIFO \(named pipe\), not a regular file: refusing to read it as a run journal$/);
  t.regex(errors['20260105T120000-dddddd']!, /20260105T120000-dddddd\.jsonl: a symlink, not a regular file/);
  t.is(errors['20260101T120000-aaaaaa'], 'read');
});

test('the --json reports of history and history --run validate against their schemas', (t) => {
  const dir = stateWithRuns();
  t.deepEqual(schemaProblems('history', versioned(history(dir))), []);
  t.deepEqual(schemaProblems('history-run', versioned(runDetail(dir, '20260101T120000-aaaaaa'))), []);
});
