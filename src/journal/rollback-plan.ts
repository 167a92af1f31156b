/**
 * Pure: what `sessionctl rollback` will do, from a run's journal and what the hosts hold now.
 * Imports no transport: the command reads the hosts, this decides, the command acts.
 */
import { JournalError } from '../errors.js';
import type { BeforeBackend, FileRecord } from './records.js';
import { inRunOrder, rolledBack, touchedFiles, type RunJournal } from './run.js';

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
  /** The backend Django resolved before the run (from the journal's plan). */
  before: BeforeBackend | null;
  restart: boolean;
  reason: string;
}

export interface RollbackPlan {
  files: FileAction[];
  /** Every touched host in the run's host order (its rolling order; others last): the order of the rollback, one at a time. */
  hosts: HostAction[];
  refusals: string[];
}

const short = (sha: string | null) => (sha ? sha.slice(0, 12) : 'absent');

/**
 * `now`: sha256 per file on the host (key `host\0path`); `running`: what Django resolves now on the
 * Dashboard hosts whose settings the run wrote (null: could not be asked, e.g. container down).
 */
export function planRollback(run: RunJournal, now: Map<string, string | null>, running: Map<string, BeforeBackend | null>, force: boolean): RollbackPlan {
  const files: FileAction[] = touchedFiles(run).map((f) => {
    const key = `${f.host}\0${f.path}`;
    if (!now.has(key)) throw new Error(`no current sha256 for ${f.host}:${f.path}`);
    const current = now.get(key)!;
    const base = { host: f.host, role: f.role, path: f.path, backup: f.backup, before: f.before, after: f.after, now: current };
    if (current === f.before) return { ...base, action: 'none', reason: `already has its original bytes (sha256 ${short(f.before)})` };
    const undo = f.before === null ? `remove it (it did not exist before the run; backup ${f.backup})` : `restore it from ${f.backup}`;
    if (current === f.after) return { ...base, action: 'restore', reason: `has the run's bytes: ${undo}` };
    const changed = `changed since the run: sha256 now ${current ?? 'absent (file removed)'}, the run wrote ${f.after}, before the run ${f.before ?? 'absent'}`;
    if (force) return { ...base, action: 'restore', forced: true, reason: `${changed}; --force: ${undo}, discarding that change` };
    return { ...base, action: 'refuse', reason: changed };
  });
  const beforeOf = new Map((run.plan?.hosts ?? []).map((h) => [h.host, h.before]));
  const order = inRunOrder(run, files.map((f) => f.host));
  files.sort((a, b) => order.indexOf(a.host) - order.indexOf(b.host));
  const hosts: HostAction[] = order.map((host) => {
    const before = beforeOf.get(host) ?? null;
    const settings = files.filter((f) => f.host === host && f.role === 'settings');
    if (settings.length === 0) return { host, before, restart: false, reason: 'no settings file of a Dashboard host here (deploy-host override only): nothing to restart' };
    if (settings.some((f) => f.action === 'restore')) return { host, before, restart: true, reason: 'restart horizon on the restored settings, health gate, check the previous backend is effective' };
    if (settings.some((f) => f.action === 'refuse')) return { host, before, restart: false, reason: 'refused: nothing will be restarted' };
    const live = running.get(host);
    if (live === undefined || live === null) return { host, before, restart: true, reason: "the file is original but Horizon's effective backend could not be read: restart and check it" };
    if (before && !sameBackend(live, before)) return { host, before, restart: true, reason: `the file is original but the running Horizon still uses ${live.name}: restart it on the original settings` };
    return { host, before, restart: false, reason: `nothing to do: original file, Horizon runs ${live.name}` };
  });
  const refusals = files
    .filter((f) => f.action === 'refuse')
    .map((f) => `${f.host}:${f.path} ${f.reason}; not overwriting it (compare it with the backup ${f.backup}, then rerun with --force to restore the backup anyway)`);
  return { files, hosts, refusals };
}

/** Hosts once each, in the order of the run's header (hosts not there, e.g. a separate deploy host, last). */

export function sameBackend(a: BeforeBackend, b: BeforeBackend): boolean {
  return a.sessionEngine === b.sessionEngine && a.cacheBackend === b.cacheBackend && a.locationSha256 === b.locationSha256;
}

/** Does the plan change anything on a host? */
export function hasWork(plan: RollbackPlan): boolean {
  return plan.files.some((f) => f.action === 'restore') || plan.hosts.some((h) => h.restart);
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
