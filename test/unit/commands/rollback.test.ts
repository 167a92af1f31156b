/** `sessionctl rollback`'s report: each undo's result lands on the file (or restart) it belongs to. */
import test from 'ava';
import { resultKey, viewOf } from '../../../src/commands/rollback.js';
import type { FileRecord } from '../../../src/journal/records.js';
import type { UndoEntry } from '../../../src/steps/types.js';

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
