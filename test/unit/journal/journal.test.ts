/** The journal's line format: round trip, and every kind of damage found with its file:line. */
import test from 'ava';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JournalError } from '../../../src/errors.js';
import { Journal } from '../../../src/journal/journal.js';
import { readRun } from '../../../src/journal/read.js';
import { listRuns } from '../../../src/journal/read.js';
import { journalFile } from '../../../src/journal/paths.js';
import type { JournalRecord } from '../../../src/journal/records.js';
import { Secret } from '../../../src/util/secret.js';

const RUN = '20260101T120000-abcdef';

const records: JournalRecord[] = [
  { type: 'header', version: 1, runId: RUN, startedAt: '2026-01-01T12:00:00.000Z', by: 'op@laptop', inventory: { path: '/inv.yaml', sha256: 'a'.repeat(64) }, backend: 'redis', where: 'Redis at redis://10.0.0.5:6379/0', playbook: 'redis.yaml', hosts: ['dash1', 'dash2'] },
  { type: 'plan', hosts: [{ host: 'dash1', before: { name: 'memcached', sessionEngine: 'django.contrib.sessions.backends.cache', cacheBackend: 'x.PyMemcacheCache', locationSha256: 'b'.repeat(64) }, steps: [{ step: 'patch-settings', action: 'change', detail: 'write the block — ünïcode' }] }], fleet: [] },
  { type: 'file', host: 'dash1', role: 'settings', path: '/etc/kolla/horizon/_9999-custom-settings.py', backup: '/var/lib/sessionctl/backups/x', before: null, after: 'c'.repeat(64) },
  { type: 'outcome', outcome: 'applied', endedAt: '2026-01-01T12:01:00.000Z' },
];

function written(): string {
  const dir = mkdtempSync(join(tmpdir(), 'journal-test-'));
  const j = Journal.create(journalFile(dir, RUN));
  for (const r of records) j.append(r);
  return j.file;
}

function damaged(t: import('ava').ExecutionContext, change: (text: string) => string, line: number, reason: RegExp): void {
  const file = written();
  writeFileSync(file, change(readFileSync(file, 'utf8')));
  const err = t.throws(() => readRun(file), { instanceOf: JournalError });
  t.is(err?.line, line);
  t.true(err!.message.startsWith(`${file}:${line}: `), err?.message);
  t.regex(err!.reason, reason);
}

test('round trip: what was appended is read back, in order, with its sequence number', (t) => {
  const run = readRun(written());
  t.deepEqual(run.header, { seq: 1, ...records[0] } as never);
  t.is(run.plan?.hosts[0]?.steps[0]?.detail, 'write the block — ünïcode');
  t.deepEqual(run.files, [{ seq: 3, ...records[2] }] as never);
  t.is(run.outcome?.outcome, 'applied');
  t.is(run.records, 4);
});

test('a journal is created once: a second create of the same run refuses', (t) => {
  const file = written();
  t.throws(() => Journal.create(file), { code: 'EEXIST' });
});

test('truncated last line: file:line of the cut record', (t) => {
  damaged(t, (text) => text.slice(0, -20), 4, /truncated/);
});

test('a flipped byte: file:line of the damaged record', (t) => {
  damaged(t, (text) => text.replace('"dash1","role"', '"dash2","role"'), 3, /does not match its sha256/);
});

test('a flipped byte in the hash itself is found too', (t) => {
  // The trailer of line 1 (the header also holds the inventory's sha256, which must stay as it is).
  damaged(t, (text) => text.replace(/"sha256":"([0-9a-f])([0-9a-f]{63})"\}$/m, (_m, c: string, rest: string) => `"sha256":"${c === '0' ? '1' : '0'}${rest}"}`), 1, /does not match its sha256/);
});

test('missing header (first line gone): clear error at line 1', (t) => {
  damaged(t, (text) => text.slice(text.indexOf('\n') + 1), 1, /no header record/);
});

test('a line removed in the middle: the sequence gap is found', (t) => {
  damaged(t, (text) => text.split('\n').filter((_, i) => i !== 1).join('\n'), 2, /record 3 where record 2 belongs/);
});

test('not a journal at all, and an empty file', (t) => {
  damaged(t, () => 'hello\n', 1, /not a journal record/);
  damaged(t, () => '', 1, /empty journal/);
});

test('a known secret value never reaches the file', (t) => {
  const secret = new Secret('s3cr3t-value-for-journal');
  const dir = mkdtempSync(join(tmpdir(), 'journal-test-'));
  const j = Journal.create(journalFile(dir, RUN));
  j.append({ ...(records[0] as Extract<JournalRecord, { type: 'header' }>), where: `redis://:${secret.reveal()}@host/0` });
  const text = readFileSync(j.file, 'utf8');
  t.false(text.includes('s3cr3t-value-for-journal'));
  t.notThrows(() => readRun(j.file), 'still a valid record after masking');
});

test('listRuns: newest first, a corrupt journal listed with its error instead of failing the list', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'journal-test-'));
  for (const id of ['20260101T100000-aaaaaa', '20260102T100000-bbbbbb', '20260103T100000-cccccc']) {
    const j = Journal.create(journalFile(dir, id));
    j.append({ ...(records[0] as Extract<JournalRecord, { type: 'header' }>), runId: id });
  }
  writeFileSync(journalFile(dir, '20260102T100000-bbbbbb'), 'garbage');
  const list = listRuns(dir);
  t.deepEqual(list.map((e) => e.id), ['20260103T100000-cccccc', '20260102T100000-bbbbbb', '20260101T100000-aaaaaa']);
  t.truthy(list[1]?.error);
  t.regex(list[1]!.error!.message, /20260102T100000-bbbbbb\.jsonl:1: truncated/);
  t.truthy(list[0]?.run && list[2]?.run);
});
