import { createHash } from 'node:crypto';
import { HostError } from '../errors.js';
import { asset } from '../util/assets.js';
import { tail } from './ssh.js';
import type { Shell } from './types.js';

/** A file's exact state on a host. */
export interface FileSnapshot {
  path: string;
  sha256: string;
  mode: number;
  uid: number;
  gid: number;
  content: Buffer;
}

/** Where sessionctl keeps its own state on a host: outside every folder Horizon loads settings from. */
export const HOST_STATE_DIR = '/var/lib/sessionctl';

/**
 * File operations on a host through its python3 (sudo -n when the host has `become`), one JSON
 * request on stdin each: exact bytes, atomic writes that keep owner and mode, sha256-guarded.
 */
export class HostFiles {
  constructor(private readonly shell: Shell) {}

  private async call<T>(request: Record<string, unknown>): Promise<T> {
    const res = await this.shell.exec(['python3', '-c', asset('src/transport/python/hostfile.py')], {
      sudo: true,
      stdin: JSON.stringify(request),
    });
    if (res.code !== 0) {
      throw new HostError(this.shell.name, `file operation '${String(request.op)}' failed (exit ${res.code}):\n${tail(res.stderr)}`);
    }
    const answer = JSON.parse(res.stdout.toString('utf8')) as T & { error?: string; message?: string };
    if (answer.error) throw new HostError(this.shell.name, answer.message ?? answer.error);
    return answer;
  }

  async read(path: string): Promise<FileSnapshot | null> {
    return (await this.readAll([path])).get(path) ?? null;
  }

  /** Several files in one round trip (absent ones map to null). */
  async readAll(paths: string[]): Promise<Map<string, FileSnapshot | null>> {
    const { files } = await this.call<{ files: Record<string, { sha256: string; mode: number; uid: number; gid: number; content: string } | null> }>({
      op: 'read',
      paths,
    });
    return new Map(
      paths.map((path) => {
        const f = files[path];
        if (!f) return [path, null];
        const content = Buffer.from(f.content, 'base64');
        if (sha256(content) !== f.sha256) throw new HostError(this.shell.name, `reading ${path} returned corrupted bytes`);
        return [path, { path, sha256: f.sha256, mode: f.mode, uid: f.uid, gid: f.gid, content }];
      }),
    );
  }

  /** The names of the folders in `dir` that hold a file `name` (e.g. Kolla's per-host overrides). */
  async holders(dir: string, name: string): Promise<string[]> {
    return (await this.call<{ names: string[] }>({ op: 'holders', dir, name })).names;
  }

  /**
   * Atomic write, refused when the file's sha256 is no longer `expect` (null: must not exist).
   * `parents` creates missing folders (0755) for a new file.
   */
  async write(path: string, content: Buffer, expect: string | null, opts: { mode?: number; parents?: boolean } = {}): Promise<string> {
    const { sha256: written } = await this.call<{ sha256: string }>({
      op: 'write',
      path,
      content: content.toString('base64'),
      expect,
      mode: opts.mode ?? 0o640,
      parents: Boolean(opts.parents),
    });
    return written;
  }

  /** Copy a file (or record that it does not exist) to a 0600 backup. */
  async backup(path: string, dest: string): Promise<{ exists: boolean; sha256?: string }> {
    return this.call({ op: 'backup', path, dest });
  }

  /** Restore a file to its backup's exact bytes, mode and owner; returns the sha256 now on disk. */
  async restore(path: string, backup: string): Promise<string | null> {
    const { sha256: now } = await this.call<{ sha256: string | null }>({ op: 'restore', path, backup });
    return now;
  }

  async freeBytes(path: string): Promise<number> {
    return (await this.call<{ free: number }>({ op: 'df', path })).free;
  }

  /** Take the host lock; returns the current holder when someone else has it. */
  async lock(holder: { run: string; by: string; pid: number; since: string }): Promise<{ held: boolean; holder?: Record<string, unknown> }> {
    return this.call({ op: 'lock', path: `${HOST_STATE_DIR}/lock`, holder });
  }

  async unlock(run: string): Promise<void> {
    await this.call({ op: 'unlock', path: `${HOST_STATE_DIR}/lock`, run });
  }

  /** Who holds the lock, without taking it. */
  async lockHolder(): Promise<Record<string, unknown> | null> {
    const snap = await this.read(`${HOST_STATE_DIR}/lock`);
    if (!snap) return null;
    try {
      return JSON.parse(snap.content.toString('utf8')) as Record<string, unknown>;
    } catch {
      return { run: 'unknown (unreadable lock file)' };
    }
  }
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}
