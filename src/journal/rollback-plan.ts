/**
 * Pure: the decisions behind every undo (the automatic rollback's and `sessionctl rollback`'s), from
 * what a run recorded and what a host holds now. Imports no transport: the undo reads, this decides.
 */
import { JournalError } from '../errors.js';
import type { BeforeBackend, FileRecord } from './records.js';
import { rolledBack, touchedFiles, type RunJournal } from './run.js';

export interface FileAction {
  host: string;
  role: FileRecord['role'];
  path: string;
  backup: string;
  before: string | null;
  after: string;
  /** sha256 on the host now (null: the file does not exist). */
  now: string | null;
  /** none: already has its original bytes; restore: back to the backup (remove when it did not exist); refuse: changed since the run. */
  action: 'none' | 'restore' | 'refuse';
  /** The restore overrides a change made after the run (--force). */
  forced?: boolean;
  reason: string;
}

export interface HostAction {
  host: string;
  /** The backend Django resolved before the run. */
  before: BeforeBackend | null;
  restart: boolean;
  reason: string;
}

const short = (sha: string | null) => (sha ? sha.slice(0, 12) : 'absent');

/** One written file: the original bytes -> nothing; the run's bytes -> restore; anything else -> refuse (or restore with --force). */
export function fileAction(f: FileRecord, now: string | null, force: boolean): FileAction {
  const base = { host: f.host, role: f.role, path: f.path, backup: f.backup, before: f.before, after: f.after, now };
  if (now === f.before) return { ...base, action: 'none', reason: `already has its original bytes (sha256 ${short(f.before)})` };
  const undo = f.before === null ? `remove it (it did not exist before the run; backup ${f.backup})` : `restore it from ${f.backup}`;
  if (now === f.after) return { ...base, action: 'restore', reason: `has the run's bytes: ${undo}` };
  const changed = `${f.host}:${f.path} changed since the run: sha256 now ${now ?? 'absent (file removed)'}, the run wrote ${f.after}, before the run ${f.before ?? 'absent'}`;
  if (force) return { ...base, action: 'restore', forced: true, reason: `${changed}; --force: ${undo}, discarding that change` };
  return { ...base, action: 'refuse', reason: `${changed}; not overwriting it (compare it with the backup ${f.backup}, then rerun with --force to restore the backup anyway)` };
}

/**
 * One Dashboard host's container: reloaded or restarted (`method`, as the run loaded its settings) on
 * the restored settings when the run loaded them there, or when Django there does not resolve the
 * previous backend (`running`; null: could not be asked).
 * `running` is not asked (undefined) when the run restarted it.
 */
export function restartAction(host: string, before: BeforeBackend | null, running: BeforeBackend | null | undefined, restarted: boolean, method: 'reload' | 'restart' = 'restart'): HostAction {
  const load = method === 'reload' ? 'reload its web server gracefully' : 'restart it';
  if (restarted) return { host, before, restart: true, reason: `${load} on the restored settings, health gate, check the previous backend is effective` };
  if (!running) return { host, before, restart: true, reason: `Horizon's effective backend could not be read: ${load} on the original settings and check it` };
  if (before && backendDifferences(before, running).length) return { host, before, restart: true, reason: `the running Horizon still uses ${running.name}: ${load} on the original settings` };
  return { host, before, restart: false, reason: `nothing to do: Horizon runs ${running.name}` };
}

/** The one definition of "the previous backend is back": no difference from what Django resolved before the run. */
export function backendDifferences(before: BeforeBackend, now: BeforeBackend): string[] {
  const wrong: string[] = [];
  if (now.sessionEngine !== before.sessionEngine) wrong.push(`SESSION_ENGINE is ${now.sessionEngine}, not ${before.sessionEngine}`);
  if (now.cacheBackend !== before.cacheBackend) wrong.push(`CACHES['default'] BACKEND is ${now.cacheBackend}, not ${before.cacheBackend}`);
  if (now.locationSha256 !== before.locationSha256) wrong.push("CACHES['default'] LOCATION differs from the one before the run");
  return wrong;
}

/**
 * The run `rollback` undoes by default: the newest one with file writes not yet rolled back. A
 * newer journal that cannot be read stops the choice (an older run would be the wrong one).
 */
export function pickRun(runs: { id: string; run?: RunJournal; error?: JournalError }[]): RunJournal | undefined {
  for (const entry of runs) {
    if (entry.error) {
      throw new JournalError(entry.error.file, entry.error.line, `${entry.error.reason}; refusing to guess which run to roll back (pass --run ID to pick one, see 'sessionctl history')`);
    }
    const run = entry.run!;
    if (touchedFiles(run).length && !rolledBack(run)) return run;
  }
  return undefined;
}
