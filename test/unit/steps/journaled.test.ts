/** What a journal may name for an inventory's hosts (the pure part of rollback's refusal of forged records). */
import test from 'ava';
import { parseRun } from '../../../src/journal/run.js';
import type { JournalRecord, Sequenced } from '../../../src/journal/records.js';
import { backupPath } from '../../../src/steps/file-undo.js';
import { journalDoubts } from '../../../src/steps/journaled.js';
import { inventory } from './fakes.js';

const RUN = '20260101T120000-abcdef';

function run(path: string, file = `/state/runs/${RUN}.jsonl`) {
  const records: JournalRecord[] = [
    { type: 'header', version: 1, runId: RUN, startedAt: '2026-01-01T12:00:00Z', by: 'op@laptop', inventory: { path: '/inv.yaml', sha256: null }, backend: 'redis', where: 'Redis', playbook: 'redis.yaml', hosts: ['dash1'] },
    { type: 'file', host: 'dash1', role: 'settings', path, backup: backupPath(RUN, path), before: null, after: 'a'.repeat(64) },
  ];
  return parseRun(records.map((r, i) => ({ ...r, seq: i + 1 }) as Sequenced), file);
}

test("a settings file in the folder the container mounts is the host's; elsewhere it is asked about, then refused", (t) => {
  const inv = inventory(1);
  const path = '/srv/horizon/_9999-custom-settings.py';
  t.deepEqual(journalDoubts(run(path), inv).map((d) => [d.line, d.askMount]), [[2, 'dash1']]);
  t.deepEqual(journalDoubts(run(path), inv, new Map([['dash1', '/srv/horizon']])), []);
  t.deepEqual(journalDoubts(run(path), inv, new Map([['dash1', '/etc/kolla/horizon']])).map((d) => [d.line, d.askMount]), [[2, undefined]]);
  // Only Kolla's own file names are asked about: another file there is refused at once.
  t.deepEqual(journalDoubts(run('/srv/horizon/local_settings.py'), inv).map((d) => d.askMount), [undefined]);
});

test('a journal whose header names another run than its file is refused at line 1', (t) => {
  t.deepEqual(journalDoubts(run('/etc/kolla/horizon/_9999-custom-settings.py', '/state/runs/20260202T000000-ffffff.jsonl'), inventory(1)).map((d) => [d.line, d.reason]), [
    [1, 'the header names run 20260101T120000-abcdef, but the file is 20260202T000000-ffffff.jsonl'],
  ]);
});
