import { createHash } from 'node:crypto';
import { HostError } from '../errors.js';
import { asset } from '../util/assets.js';
import { excerpt, tail } from './ssh.js';
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
export const HOST_BACKUPS_DIR = `${HOST_STATE_DIR}/backups`;

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
    let answer: T & { error?: string; message?: string };
    try {
      answer = JSON.parse(res.stdout.toString('utf8')) as T & { error?: string; message?: string };
    } catch (err) {
      throw new HostError(this.shell.name, `file operation '${String(request.op)}' answered no JSON (${(err as Error).message}): ${excerpt(res.stdout.toString('utf8'))}`);
    }
    if (answer === null || typeof answer !== 'object') throw new HostError(this.shell.name, `file operation '${String(request.op)}' answered ${excerpt(res.stdout.toString('utf8'))}, not a JSON object`);
    if (answer.error) throw new HostError(this.shell.name, answer.message ?? answer.error);
    return answer;
  }

  async read(path: string): Promise<FileSnapshot | null> {
    return (await this.readAll([path])).get(path) ?? null;
  }

  /** Several files in one round trip (absent ones map to null). */
  async readAll(paths: string[]): Promise<Map<string, FileSnapshot | null>> {
    return this.snapshots(paths, (await this.call<ReadAnswer>({ op: 'read', paths })).files);
  }

  private snapshots(paths: string[], files: ReadAnswer['files']): Map<string, FileSnapshot | null> {
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
   * Atomic write, refused when the file's sha256 is no longer `expect` (null: must not exist), also
   * when it changes while the write is under way. Through a symlink, the file it names is written
   * (the link stays). `parents` creates missing folders (0755) for a new file.
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

  /**
   * Copy a file (or record that it does not exist) to a 0600 backup: the bytes hashed are the bytes
   * copied. Refused when the file's sha256 is not `expect` (null: must not exist), so the backup
   * holds what the plan read.
   */
  async backup(path: string, dest: string, expect: string | null): Promise<{ exists: boolean; sha256?: string }> {
    return this.call({ op: 'backup', path, dest, expect });
  }

  /**
   * Restore a file to its backup's exact bytes, mode and owner (through a symlink as the write
   * went), refused when its sha256 is no longer `expect` (what the undo's plan saw); returns the
   * sha256 now on disk.
   */
  async restore(path: string, backup: string, expect: string | null): Promise<string | null> {
    const { sha256: now } = await this.call<{ sha256: string | null }>({ op: 'restore', path, backup, expect });
    return now;
  }

  async freeBytes(path: string): Promise<number> {
    return (await this.call<{ free: number }>({ op: 'df', path })).free;
  }

  /**
   * A run's first call, one round trip: take the lock (`take`), or only read who holds it (null);
   * then read `paths` and measure the room in `dfPath`, under the lock just taken. A read or a
   * measure that fails is left out (whoever needs it asks again and reports why); a lock that
   * cannot be taken or read throws.
   */
  async lockAndRead(take: LockHolder | null, paths: string[], dfPath: string): Promise<LockAndRead> {
    type Answer = Partial<ReadAnswer> & { error?: string; message?: string; held?: boolean; holder?: Record<string, unknown>; free?: number };
    const { answers } = await this.call<{ answers: Answer[] }>({
      op: 'batch',
      ops: [take ? { op: 'lock', path: LOCK_PATH, holder: take } : { op: 'read', paths: [LOCK_PATH] }, { op: 'read', paths }, { op: 'df', path: dfPath }],
    });
    const [lock, read, df] = answers;
    if (!lock || lock.error) throw new HostError(this.shell.name, lock?.message ?? lock?.error ?? 'no answer about the lock');
    const holder = take ? lock.holder : holderOf(this.snapshots([LOCK_PATH], lock.files ?? {}).get(LOCK_PATH) ?? null);
    return {
      lock: { held: Boolean(take && lock.held), ...(holder ? { holder } : {}) },
      files: read?.files && !read.error ? this.snapshots(paths, read.files) : new Map(),
      ...(typeof df?.free === 'number' ? { free: df.free } : {}),
    };
  }

  async unlock(run: string): Promise<void> {
    await this.call({ op: 'unlock', path: LOCK_PATH, run });
  }
}

const LOCK_PATH = `${HOST_STATE_DIR}/lock`;

interface ReadAnswer {
  files: Record<string, { sha256: string; mode: number; uid: number; gid: number; content: string } | null>;
}

export interface LockHolder {
  run: string;
  by: string;
  pid: number;
  since: string;
}

/** lockAndRead's answer: the lock, the files read (absent: not read), the bytes free (absent: not measured). */
export interface LockAndRead {
  lock: { held: boolean; holder?: Record<string, unknown> | null };
  files: Map<string, FileSnapshot | null>;
  free?: number;
}

function holderOf(snap: FileSnapshot | null): Record<string, unknown> | null {
  if (!snap) return null;
  try {
    return JSON.parse(snap.content.toString('utf8')) as Record<string, unknown>;
  } catch {
    return { run: 'unknown (unreadable lock file)' };
  }
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}
