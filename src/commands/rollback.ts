import { ConfigError, ExitCode, HostUnreachableError, SessionctlError, detailFor, type ExitCodeValue } from '../errors.js';
import type { HostConfig, Inventory } from '../inventory/types.js';
import { Fleet } from '../transport/fleet.js';
import { HostFiles, sha256 } from '../transport/hostfs.js';
import type { SshOptions } from '../transport/ssh.js';
import type { Engine } from '../transport/types.js';
import { probeHorizon } from '../facts/horizon.js';
import { mismatches } from '../steps/settings.js';
import { restartOnPrevious } from '../steps/rollout.js';
import { Journal } from '../journal/journal.js';
import { newRunId } from '../journal/paths.js';
import { listRuns, readRunById } from '../journal/read.js';
import { rolledBack, type RunJournal } from '../journal/run.js';
import { hasWork, pickRun, planRollback, type FileAction, type HostAction } from '../journal/rollback-plan.js';
import type { BeforeBackend } from '../journal/records.js';
import { beforeBackend } from './apply.js';
import { lockHost, lockHolder, operator, whoHolds } from './lock.js';

export interface RollbackOptions {
  stateDir: string;
  /** Default: the newest run with file writes not yet rolled back. */
  runId?: string;
  force: boolean;
  ssh: SshOptions;
  healthTimeout: number;
  /** Asked once the plan is shown; false = stop with nothing changed. */
  confirm: (planned: RollbackReport) => Promise<boolean>;
  log: (host: string | null, line: string) => void;
}

/** The JSON report of `sessionctl rollback` (also what the text renderer reads). */
export interface RollbackReport {
  runId: string | null;
  journal: string | null;
  outcome: 'nothing-to-roll-back' | 'already-rolled-back' | 'nothing-to-do' | 'refused' | 'declined' | 'planned' | 'rolled-back' | 'rollback-failed';
  message: string;
  files: (FileAction & { result?: string; ok?: boolean })[];
  hosts: (HostAction & { result?: string; ok?: boolean })[];
  refusals: string[];
}

/** A touched host during the rollback: what restoring and restarting it needs. */
interface Target {
  host: HostConfig;
  files: HostFiles;
  engine?: Engine;
  run: { timeouts: { health: number }; journal?: Journal };
}

/** facts (journal + hosts) -> plan -> confirm -> restore one host at a time -> report (and journal). */
export async function rollback(inventory: Inventory, opts: RollbackOptions): Promise<{ report: RollbackReport; exitCode: ExitCodeValue }> {
  const run = opts.runId ? readRunById(opts.stateDir, opts.runId) : pickRun(listRuns(opts.stateDir));
  const report: RollbackReport = { runId: run?.header.runId ?? null, journal: run?.file ?? null, outcome: 'nothing-to-roll-back', message: '', files: [], hosts: [], refusals: [] };
  if (!run) {
    report.message = `nothing to roll back: no run under ${opts.stateDir} has file writes that are not rolled back already`;
    return { report, exitCode: ExitCode.ok };
  }
  const done = rolledBack(run);
  if (done) {
    report.outcome = 'already-rolled-back';
    report.message = `run ${run.header.runId} was already rolled back (by ${done.by} at ${done.at}); nothing to do`;
    return { report, exitCode: ExitCode.ok };
  }

  const names = [...new Set(run.files.map((f) => f.host))];
  const hosts = names.map((name) => {
    const h = inventory.hosts.find((c) => c.name === name);
    if (!h) throw new ConfigError(`run ${run.header.runId} touched host '${name}', which is not in ${inventory.file}; use the inventory of that run (${run.header.inventory.path})`);
    return h;
  });
  const fleet = new Fleet(inventory, opts.ssh);
  const lockId = newRunId();
  const targets: Target[] = [];
  const locked: HostConfig[] = [];
  try {
    for (const host of hosts) targets.push({ host, files: new HostFiles(await fleet.ssh(host)), run: { timeouts: { health: opts.healthTimeout } } });
    // A run that lost a host mid-way could not release that host's lock; once the run has ended
    // (its outcome is journaled) that lock is stale. unlock() only removes a lock this run holds.
    if (run.outcome) await Promise.all(targets.map((t) => t.files.unlock(run.header.runId)));
    const holder = lockHolder(lockId);
    const holders: string[] = [];
    for (const [i, lock] of (await Promise.all(hosts.map((h) => lockHost(fleet, h, 'apply', holder)))).entries()) {
      const name = hosts[i]!.name;
      if (lock.held) locked.push(hosts[i]!);
      else holders.push(lock.holder ? whoHolds(name, lock.holder) : `${name}: could not take the lock${lock.error ? `: ${lock.error}` : ''}`);
    }
    if (holders.length) throw new SessionctlError(`not locked, nothing changed: ${holders.join('; ')}`, ExitCode.hostFailed);

    // Facts: each file's sha256 now, and what Django resolves on hosts whose settings the run wrote.
    const now = new Map<string, string | null>();
    const running = new Map<string, BeforeBackend | null>();
    await Promise.all(
      targets.map(async (t) => {
        for (const f of run.files.filter((f) => f.host === t.host.name)) now.set(`${f.host}\0${f.path}`, (await t.files.read(f.path))?.sha256 ?? null);
        if (!run.files.some((f) => f.host === t.host.name && f.role === 'settings')) return;
        t.engine = await fleet.engine(t.host);
        running.set(t.host.name, await effective(t));
      }),
    );
    const plan = planRollback(run, now, running, opts.force);
    Object.assign(report, { files: plan.files, hosts: plan.hosts, refusals: plan.refusals });
    if (plan.refusals.length) {
      report.outcome = 'refused';
      report.message = `refused, nothing changed: ${plan.refusals.length} file(s) changed since run ${run.header.runId}`;
      return { report, exitCode: ExitCode.hostFailed };
    }
    const journal = Journal.reopen(run.file, run.records);
    if (!hasWork(plan)) {
      report.outcome = 'nothing-to-do';
      report.message = `every file run ${run.header.runId} wrote has its original bytes and Horizon runs the previous backend: nothing to do (recorded as rolled back)`;
      journal.append({ type: 'rollback-begin', at: new Date().toISOString(), by: operator(), force: opts.force, actions: [] });
      journal.append({ type: 'rollback', at: new Date().toISOString(), outcome: 'rolled-back', files: plan.files.map((f) => ({ host: f.host, path: f.path, result: f.reason })), hosts: [] });
      return { report, exitCode: ExitCode.ok };
    }
    report.outcome = 'planned';
    if (!(await opts.confirm(report))) {
      report.outcome = 'declined';
      report.message = 'not confirmed: nothing was changed';
      return { report, exitCode: ExitCode.error };
    }

    journal.append({
      type: 'rollback-begin',
      at: new Date().toISOString(),
      by: operator(),
      force: opts.force,
      actions: [...plan.files.filter((f) => f.action === 'restore').map((f) => ({ host: f.host, path: f.path, action: f.forced ? 'restore (forced)' : 'restore' })), ...plan.hosts.filter((h) => h.restart).map((h) => ({ host: h.host, path: '', action: 'restart' }))],
    });
    let unreachable = false;
    // One host at a time, in the order the run touched them: files first, then its restart.
    for (const h of report.hosts) {
      const t = targets.find((x) => x.host.name === h.host)!;
      t.run.journal = journal;
      const files = report.files.filter((f) => f.host === h.host);
      try {
        for (const f of files) {
          if (f.action !== 'restore') {
            f.ok = true;
            f.result = f.reason;
            continue;
          }
          const restored = await t.files.restore(f.path, f.backup);
          if (restored !== f.before) throw new SessionctlError(`${h.host}: restoring ${f.path} from ${f.backup} gave sha256 ${restored ?? 'absent'}, expected ${f.before ?? 'absent'}`, ExitCode.hostFailed);
          f.ok = true;
          f.result = f.before === null ? 'removed (did not exist before the run)' : `restored to its exact bytes (sha256 ${f.before.slice(0, 12)})`;
          opts.log(h.host, `${f.path}: ${f.result}`);
        }
        if (h.restart) {
          h.result = await restartOnPrevious(t as Required<Target>, (facts) => (h.before ? previousMismatches(h.before, facts) : []));
          opts.log(h.host, h.result);
        } else h.result = h.reason;
        h.ok = true;
      } catch (err) {
        if (!(err instanceof SessionctlError)) throw err;
        if (err instanceof HostUnreachableError) unreachable = true;
        h.ok = false;
        h.result = detailFor(err, h.host);
        for (const f of files.filter((x) => x.ok === undefined)) {
          f.ok = false;
          f.result = 'not restored: the host failed first';
        }
        opts.log(h.host, `rollback failed: ${h.result}`);
      }
    }
    const failed = report.hosts.filter((h) => !h.ok);
    report.outcome = failed.length ? 'rollback-failed' : 'rolled-back';
    report.message = failed.length
      ? `the rollback of run ${run.header.runId} failed on ${failed.map((h) => h.host).join(', ')}; fix what the messages say, then run 'sessionctl rollback --run ${run.header.runId}' again (it only redoes what is left)`
      : `run ${run.header.runId} rolled back: ${report.files.filter((f) => f.action === 'restore').length} file(s) restored, ${report.hosts.filter((h) => h.restart).length} host(s) restarted on the previous backend`;
    journal.append({
      type: 'rollback',
      at: new Date().toISOString(),
      outcome: report.outcome,
      files: report.files.map((f) => ({ host: f.host, path: f.path, result: f.result ?? '' })),
      hosts: report.hosts.map((h) => ({ host: h.host, result: h.result ?? '' })),
      ...(failed.length ? { error: report.message } : {}),
    });
    return { report, exitCode: failed.length ? (unreachable ? ExitCode.hostUnreachable : ExitCode.hostFailed) : ExitCode.ok };
  } finally {
    await Promise.allSettled(locked.map(async (h) => new HostFiles(await fleet.ssh(h)).unlock(lockId)));
    await fleet.close();
  }
}

/** What Django resolves now on a host, or null when it cannot be asked (container down, settings broken). */
async function effective(t: Target): Promise<BeforeBackend | null> {
  try {
    const facts = await probeHorizon(t.host.name, t.engine!, t.host.container);
    return facts.settings ? beforeBackend(facts.settings) : null;
  } catch (err) {
    if (err instanceof HostUnreachableError || !(err instanceof SessionctlError)) throw err;
    return null;
  }
}

/** Differences between what Django resolves after the restart and the journal's "before". */
function previousMismatches(before: BeforeBackend, facts: Parameters<typeof mismatches>[1]): string[] {
  const wrong = mismatches({ sessionEngine: before.sessionEngine, ...(before.cacheBackend ? { cacheBackend: before.cacheBackend } : {}) }, facts);
  const location = facts.settings ? sha256(JSON.stringify(facts.settings.cache.location ?? null)) : null;
  if (facts.settings && location !== before.locationSha256) wrong.push(`CACHES['default'] LOCATION differs from the one before the run`);
  return wrong;
}
