import { hostname, userInfo } from 'node:os';
import { detailFor } from '../errors.js';
import type { HostConfig } from '../inventory/types.js';
import type { Connections } from '../transport/fleet.js';
import { HOST_BACKUPS_DIR, HostFiles, type LockAndRead, type LockHolder } from '../transport/hostfs.js';

/** Who is running sessionctl, for locks and journals. */
export function operator(): string {
  return `${userInfo().username}@${hostname()}`;
}

export function lockHolder(id: string): LockHolder {
  return { run: id, by: operator(), pid: process.pid, since: new Date().toISOString() };
}

/**
 * `asked`: a lock request reached the host (apply), so the caller releases it whatever the answer
 * said: an answer that cannot be read may hide a lock that was taken (unlock only removes this run's).
 */
export type LockAnswer = { held: boolean; asked?: boolean; holder?: Record<string, unknown> | null; error?: string; read?: Omit<LockAndRead, 'lock'> };

/** `<host> is locked by run ... (by, pid, since)` for refusals and notes. */
export function whoHolds(host: string, holder: Record<string, unknown>): string {
  return `${host} is locked by run ${String(holder.run)} (${String(holder.by)}, pid ${String(holder.pid)}, since ${String(holder.since)})`;
}

/**
 * apply and rollback: take the host's lock (the caller releases every lock it got if any host
 * refused); plan: only read who holds it. In the same round trip, under the lock, read `paths`
 * (the files the run may patch) and the room for backups. An unreachable host answers nothing:
 * its facts carry the error.
 */
export async function lockHost(fleet: Connections, host: HostConfig, mode: 'plan' | 'apply', holder: LockHolder, paths: string[] = []): Promise<LockAnswer> {
  let files: HostFiles;
  try {
    files = new HostFiles(await fleet.ssh(host));
  } catch {
    return { held: false };
  }
  const asked = mode === 'apply' ? { asked: true } : {};
  try {
    const { lock, ...read } = await files.lockAndRead(mode === 'apply' ? holder : null, paths, HOST_BACKUPS_DIR);
    return { ...lock, ...asked, read };
  } catch (err) {
    // Never thrown: the other hosts' locks must still be known, to be released.
    return { held: false, ...asked, error: detailFor(err, host.name) };
  }
}
