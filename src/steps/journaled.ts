import { inRunOrder, touchedFiles, type RunJournal } from '../journal/run.js';
import type { FileRecord } from '../journal/records.js';
import type { RestartUndo, UndoEntry, UndoTarget } from './types.js';

/** The step whose undo restores a journaled file. */
export function stepOfFile(role: FileRecord['role']): 'patch-settings' | 'kolla-override' {
  return role === 'settings' ? 'patch-settings' : 'kolla-override';
}

/**
 * The undo entries of a journaled run, for `sessionctl rollback`: the records the run's own
 * rollback would have used, rebuilt from the journal (each was fsync'd before its change). Files
 * belong to the step that wrote them; every Dashboard host whose settings the run wrote gets the
 * restart's undo, which restarts it when the run did (and no rollback restarted it since) or when
 * its Horizon does not resolve the previous backend.
 */
export function undoEntriesOf(run: RunJournal, targetOf: (host: string) => UndoTarget): UndoEntry[] {
  const files = touchedFiles(run);
  const beforeOf = new Map((run.plan?.hosts ?? []).map((h) => [h.host, h.before]));
  return inRunOrder(run, files.map((f) => f.host)).flatMap((host) => {
    const target = targetOf(host);
    const mine = files.filter((f) => f.host === host);
    const entries: UndoEntry[] = mine.map((f) => ({ target, step: stepOfFile(f.role), record: f }));
    if (mine.some((f) => f.role === 'settings')) {
      const restarts = run.restarts.filter((r) => r.host === host);
      const last = restarts.at(-1);
      const loginUrl = restarts.filter((r) => r.loginUrl).at(-1)?.loginUrl;
      // The rollback loads the restored settings the way the run loaded the new ones.
      const loaded = restarts.filter((r) => r.stage === 'apply').at(-1);
      const record: RestartUndo = {
        container: last?.container ?? target.host!.container,
        before: beforeOf.get(host) ?? null,
        restarted: last?.stage === 'apply',
        ...(loginUrl ? { loginUrl } : {}),
        ...(loaded?.method === 'reload' && loaded.files ? { method: 'reload' as const, files: loaded.files } : {}),
        ...(loaded?.drains?.length ? { drains: loaded.drains } : {}),
      };
      entries.push({ target, step: 'restart', record });
    }
    return entries;
  });
}
