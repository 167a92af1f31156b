import { HostError, InternalError } from '../errors.js';
import { HOST_BACKUPS_DIR, sha256, type FileSnapshot, type HostFiles } from '../transport/hostfs.js';
import { fileAction } from '../journal/rollback-plan.js';
import type { FileRecord } from '../journal/records.js';
import type { Undo } from './types.js';

/** Where a run keeps the host backup of a file it writes. */
export function backupPath(runId: string, path: string): string {
  return `${HOST_BACKUPS_DIR}/${runId}/${path.replace(/\//g, '%')}`;
}

/**
 * Write a file the way every step does: announce it (`remember`: journaled before the write), back
 * it up on the host, then an atomic write refused when the file changed since it was read.
 */
export async function writeWithBackup(
  files: HostFiles,
  record: { runId: string; host: string; role: FileRecord['role']; path: string; before: FileSnapshot | null; text: string },
  remember: (r: FileRecord) => void,
  opts: { parents?: boolean } = {},
): Promise<string> {
  const backup = backupPath(record.runId, record.path);
  const content = Buffer.from(record.text, 'utf8');
  remember({ type: 'file', host: record.host, role: record.role, path: record.path, backup, before: record.before?.sha256 ?? null, after: sha256(content) });
  const expect = record.before?.sha256 ?? null;
  await files.backup(record.path, backup, expect);
  await files.write(record.path, content, expect, opts);
  return `wrote ${record.path} (backup ${backup})`;
}

/**
 * The undo of a file write, for the automatic rollback and `sessionctl rollback` alike: the
 * original bytes -> nothing to do; the run's bytes -> restored from the backup (a file that did not
 * exist is removed) and checked; anything else -> refused, unless --force.
 */
export const fileUndo: Undo<FileRecord> = {
  journal: (record) => record,
  async plan(ctx, record) {
    const files = ctx.target.files;
    if (!files) throw new InternalError(`no file access to ${ctx.target.name}`);
    const file = fileAction(record, (await files.read(record.path))?.sha256 ?? null, ctx.run.force);
    const action = file.action === 'restore' ? 'undo' : file.action;
    return action === 'undo' ? { action, summary: file.reason, file } : { action, reason: file.reason, file };
  },
  async apply(ctx, record, plan) {
    if (!plan.file) throw new InternalError(`no plan for the undo of ${record.path}`);
    const restored = await ctx.target.files!.restore(record.path, record.backup, plan.file.now);
    if (restored !== record.before) {
      throw new HostError(ctx.target.name, `restoring ${record.path} from ${record.backup} gave sha256 ${restored ?? 'absent'}, expected ${record.before ?? 'absent'}`);
    }
    return record.before === null ? `removed ${record.path} (it did not exist before the run)` : `restored ${record.path} to its exact bytes (sha256 ${record.before.slice(0, 12)})`;
  },
};
