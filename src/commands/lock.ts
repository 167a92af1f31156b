import { hostname, userInfo } from 'node:os';
import { detailFor } from '../errors.js';
import type { HostConfig } from '../inventory/types.js';
import type { Fleet } from '../transport/fleet.js';
import { HostFiles } from '../transport/hostfs.js';

/** Who is running sessionctl, for locks and journals. */
export function operator(): string {
  return `${userInfo().username}@${hostname()}`;
}

export interface LockHolder {
  run: string;
  by: string;
  pid: number;
  since: string;
}

export function lockHolder(id: string): LockHolder {
  return { run: id, by: operator(), pid: process.pid, since: new Date().toISOString() };
}

export type LockAnswer = { held: boolean; holder?: Record<string, unknown> | null; error?: string };

/** `<host> is locked by run ... (by, pid, since)` for refusals and notes. */
export function whoHolds(host: string, holder: Record<string, unknown>): string {
  return `${host} is locked by run ${String(holder.run)} (${String(holder.by)}, pid ${String(holder.pid)}, since ${String(holder.since)})`;
}

/**
 * apply and rollback: take the host's lock (the caller releases every lock it got if any host
 * refused); plan: only read who holds it. An unreachable host answers nothing: its facts carry the error.
 */
export async function lockHost(fleet: Fleet, host: HostConfig, mode: 'plan' | 'apply', holder: LockHolder): Promise<LockAnswer> {
  let files: HostFiles;
  try {
    files = new HostFiles(await fleet.ssh(host));
  } catch {
    return { held: false };
  }
  try {
    if (mode === 'plan') return { held: false, holder: await files.lockHolder() };
    return await files.lock(holder);
  } catch (err) {
    // Never thrown: the other hosts' locks must still be known, to be released.
    return { held: false, error: detailFor(err, host.name) };
  }
}
