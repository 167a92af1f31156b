/**
 * The journal masks known secrets in its free text only: a password that is a common word must not
 * change the backend, the keys, the paths or the hashes a record holds (rollback compares them).
 * Its own file: the secrets registered here are process-wide.
 */
import test from 'ava';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal } from '../../../src/journal/journal.js';
import { journalFile } from '../../../src/journal/paths.js';
import { readRun } from '../../../src/journal/read.js';
import type { BeforeBackend, JournalRecord } from '../../../src/journal/records.js';
import { backendDifferences } from '../../../src/journal/rollback-plan.js';
import { Secret } from '../../../src/util/secret.js';

const RUN = '20260101T120000-abcdef';
const BEFORE: BeforeBackend = { name: 'redis', sessionEngine: 'django.contrib.sessions.backends.cache', cacheBackend: 'django_redis.cache.RedisCache', locationSha256: 'b'.repeat(64) };
const FILE = { type: 'file', host: 'dash1', role: 'settings', path: '/etc/kolla/horizon/_9999-custom-settings.py', backup: '/var/lib/sessionctl/backups/x', before: null, after: 'c'.repeat(64) } as const;

function records(word: string): JournalRecord[] {
  return [
    { type: 'header', version: 1, runId: RUN, startedAt: '2026-01-01T12:00:00.000Z', by: 'op@laptop', inventory: { path: '/inv.yaml', sha256: 'a'.repeat(64) }, backend: 'redis', where: 'Redis at redis://10.0.0.5:6379/0', playbook: 'redis.yaml', hosts: ['dash1'] },
    { type: 'plan', hosts: [{ host: 'dash1', before: BEFORE, steps: [{ step: 'patch-settings', action: 'change', detail: `password ${word} in the block` }] }], fleet: [] },
    FILE,
    { type: 'step', result: { stage: 'apply', phase: 'switch', step: 'patch-settings', host: 'dash1', outcome: 'changed', detail: `wrote password ${word}`, durationMs: 5 } },
    { type: 'outcome', outcome: 'failed', endedAt: '2026-01-01T12:01:00.000Z', error: `AUTH ${word} refused` },
  ];
}

// Each a password that is also a word of the records: a value, a record type, a key.
for (const word of ['redis', 'file', 'sha256', 'horizon', 'settings']) {
  test(`a password '${word}': the journal keeps every name, path and hash exact and masks it in the free text`, (t) => {
    new Secret(word);
    const j = Journal.create(journalFile(mkdtempSync(join(tmpdir(), 'journal-mask-')), RUN));
    for (const r of records(word)) j.append(r);
    const run = readRun(j.file);
    t.is(run.header.backend, 'redis');
    t.deepEqual(run.header.inventory, { path: '/inv.yaml', sha256: 'a'.repeat(64) });
    t.deepEqual(run.plan?.hosts[0]?.before, BEFORE);
    t.deepEqual(backendDifferences(run.plan!.hosts[0]!.before!, BEFORE), [], "rollback's check: the previous backend is back");
    t.deepEqual(run.files, [{ seq: 3, ...FILE }]);
    t.is(run.plan?.hosts[0]?.steps[0]?.detail, 'password *** in the block');
    t.is(run.steps[0]?.detail, 'wrote password ***');
    t.is(run.outcome?.error, 'AUTH *** refused');
  });
}
