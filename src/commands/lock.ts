import { hostname, userInfo } from 'node:os';
import type { HostFiles } from '../transport/hostfs.js';

/** Who is running sessionctl, for locks and journals. */
export function operator(): string {
  return `${userInfo().username}@${hostname()}`;
}

/** A host whose lock can be taken: the runner's HostContext and `sessionctl rollback`'s both fit. */
export interface Lockable {
  host: { name: string };
  files: HostFiles;
}

/**
 * Take every host's lock, all or none (apply and rollback); `plan` only reports holders through
 * `log`. Returns why hosts refused; the ones taken are pushed to `locked` for the caller to release.
 */
export async function lockAll<H extends Lockable>(hosts: H[], id: string, mode: 'plan' | 'apply', locked: H[], log: (host: string, line: string) => void): Promise<string[]> {
  const holder = { run: id, by: operator(), pid: process.pid, since: new Date().toISOString() };
  const refused: string[] = [];
  await Promise.all(
    hosts.map(async (h) => {
      if (mode === 'plan') {
        const current = await h.files.lockHolder();
        if (current) log(h.host.name, `note: locked by run ${String(current.run)} (${String(current.by)}) since ${String(current.since)}`);
        return;
      }
      const res = await h.files.lock(holder);
      if (res.held) locked.push(h);
      else refused.push(`${h.host.name} is locked by run ${String(res.holder?.run)} (${String(res.holder?.by)}, pid ${String(res.holder?.pid)}, since ${String(res.holder?.since)})`);
    }),
  );
  if (refused.length) {
    await Promise.allSettled(locked.map((h) => h.files.unlock(id)));
    locked.length = 0;
  }
  return refused;
}
