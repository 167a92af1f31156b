import { gatherBalancers } from '../facts/balancers.js';
import { ConfigError, ExitCode, HostUnreachableError, SessionctlError, type ExitCodeValue } from '../errors.js';
import type { HostConfig, Inventory } from '../inventory/types.js';
import { hostsToConnect } from '../inventory/load.js';
import { Fleet, type Connections } from '../transport/fleet.js';
import { HostFiles } from '../transport/hostfs.js';
import type { SshOptions } from '../transport/ssh.js';
import { Journal } from '../journal/journal.js';
import { checkStateDir, newRunId } from '../journal/paths.js';
import { listRuns, readRunById } from '../journal/read.js';
import { rolledBack } from '../journal/run.js';
import { pickRun } from '../journal/rollback-plan.js';
import { loadPlaybook } from '../playbook/load.js';
import { STEPS } from '../steps/index.js';
import { doubtError, journalDoubts, undoEntriesOf } from '../steps/journaled.js';
import { KOLLA_CONFIG_MOUNT } from '../facts/horizon.js';
import type { UndoEntry, UndoTarget } from '../steps/types.js';
import type { FileRecord } from '../journal/records.js';
import { applyUndo, planUndo, type UndoPlanned, type UndoRun } from '../runner/undo.js';
import type { RollbackReport } from '../report/types.js';
import { lockHost, lockHolder, operator, whoHolds } from './lock.js';

export interface RollbackOptions {
  stateDir: string;
  /** Default: the newest run with file writes not yet rolled back. */
  runId?: string;
  force: boolean;
  ssh: SshOptions;
  healthTimeout: number;
  /** Restart the hosts the run reloaded, instead of reloading them. */
  restart?: boolean;
  /** Asked once the plan is shown; false = stop with nothing changed. */
  confirm: (planned: RollbackReport) => Promise<boolean>;
  log: (host: string | null, line: string) => void;
  /** The hosts' connections (default: SSH to the inventory's hosts; unit tests hand in fake hosts). */
  connections?: Connections;
}

/**
 * facts (journal + hosts) -> plan -> confirm -> undo one host at a time -> report (and journal).
 * The undo is the runner's own (runner/undo.ts), fed from the journal instead of the run's memory.
 */
export async function rollback(inventory: Inventory, opts: RollbackOptions): Promise<{ report: RollbackReport; exitCode: ExitCodeValue }> {
  checkStateDir(opts.stateDir, { trust: true });
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

  // Nothing a journal names is touched before it is known to be what this inventory's run could write.
  const doubts = journalDoubts(run, inventory);
  if (doubts.some((d) => !d.askMount)) throw doubtError(run, doubts.filter((d) => !d.askMount));

  const hosts = [...new Set(run.files.map((f) => f.host))].map((name) => {
    const h = inventory.hosts.find((c) => c.name === name);
    if (!h) throw new ConfigError(`run ${run.header.runId} touched host '${name}', which is not in ${inventory.file}; use the inventory of that run (${run.header.inventory.path})`);
    return h;
  });
  const playbook = await loadPlaybook(run.header.backend, STEPS);
  const fleet = opts.connections ?? new Fleet(inventory.hosts, opts.ssh);
  const lockId = newRunId();
  const locked: HostConfig[] = [];
  try {
    await fleet.readLocalFiles(hostsToConnect(inventory, hosts));
    const targets = new Map<string, UndoTarget>();
    const settingsHosts = new Set(run.files.filter((f) => f.role === 'settings').map((f) => f.host));
    for (const host of hosts) {
      const files = new HostFiles(await fleet.ssh(host));
      targets.set(host.name, { name: host.name, host, files, ...(settingsHosts.has(host.name) ? { engine: await fleet.engine(host) } : {}) });
    }
    if (doubts.length) {
      // A settings file outside config_dir: the patch step writes where the container mounts Kolla's config from.
      const mounts = new Map<string, string | null>();
      for (const name of new Set(doubts.map((d) => d.askMount!))) {
        const t = targets.get(name)!;
        const info = await t.engine!.inspect(t.host!.container);
        mounts.set(name, info?.mounts.find((m) => m.destination === KOLLA_CONFIG_MOUNT)?.source ?? null);
      }
      const left = journalDoubts(run, inventory, mounts);
      if (left.length) throw doubtError(run, left);
    }
    // A run that lost a host mid-way could not release that host's lock; once the run has ended
    // (its outcome is journaled) that lock is stale. unlock() only removes a lock this run holds.
    if (run.outcome) await Promise.all([...targets.values()].map((t) => t.files!.unlock(run.header.runId)));
    const holder = lockHolder(lockId);
    const holders: string[] = [];
    for (const [i, lock] of (await Promise.all(hosts.map((h) => lockHost(fleet, h, 'apply', holder)))).entries()) {
      const name = hosts[i]!.name;
      if (lock.asked) locked.push(hosts[i]!);
      if (!lock.held) holders.push(lock.holder ? whoHolds(name, lock.holder) : `${name}: could not take the lock${lock.error ? `: ${lock.error}` : ''}`);
    }
    if (holders.length) throw new SessionctlError(`not locked, nothing changed: ${holders.join('; ')}`, ExitCode.hostFailed);

    // Hosts the run restarted behind a drain are drained again around their restart and set ready.
    const drained = run.restarts.some((r) => r.drains?.length);
    const balancers = drained && inventory.loadbalancer ? await gatherBalancers(inventory.loadbalancer, (name) => fleet.engine(name)) : undefined;
    const results = new Map<string, { outcome: string; detail: string }>();
    const undo: UndoRun = {
      steps: STEPS,
      order: playbook.phases.flatMap((p) => p.steps.map((s) => ({ phase: p.name, step: s }))),
      ctx: { id: lockId, force: opts.force, timeouts: { health: opts.healthTimeout }, restart: Boolean(opts.restart), ...(balancers ? { balancers } : {}) },
      record: (_phase, step, _host, outcome, detail, _t0, entry) => {
        results.set(resultKey(entry), { outcome, detail });
        opts.log(entry.target.name, `${step}: ${detail}`);
      },
    };
    const planned = await planUndo(undo, undoEntriesOf(run, (host) => targets.get(host)!));
    const failedToPlan = planned.flat().filter((p) => p.error !== undefined);
    if (failedToPlan.length) {
      const unreachable = failedToPlan.some((p) => p.cause instanceof HostUnreachableError);
      throw new SessionctlError(`could not read what to undo, nothing changed: ${failedToPlan.map((p) => `${p.entry.target.name}: ${p.error}`).join('; ')}`, unreachable ? ExitCode.hostUnreachable : ExitCode.hostFailed);
    }
    Object.assign(report, viewOf(planned));
    if (report.refusals.length) {
      report.outcome = 'refused';
      report.message = `refused, nothing changed: ${report.refusals.length} file(s) changed since run ${run.header.runId}`;
      return { report, exitCode: ExitCode.hostFailed };
    }
    const journal = Journal.reopen(run.file, run.records);
    if (!planned.flat().some((p) => p.plan!.action === 'undo')) {
      report.outcome = 'nothing-to-do';
      report.message = `every file run ${run.header.runId} wrote has its original bytes and Horizon runs the previous backend: nothing to do (recorded as rolled back)`;
      journal.append({ type: 'rollback-begin', at: new Date().toISOString(), by: operator(), force: opts.force, actions: [] });
      journal.append({ type: 'rollback', at: new Date().toISOString(), outcome: 'rolled-back', files: report.files.map((f) => ({ host: f.host, path: f.path, result: f.reason })), hosts: [] });
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
      actions: [...report.files.filter((f) => f.action === 'restore').map((f) => ({ host: f.host, path: f.path, action: f.forced ? 'restore (forced)' : 'restore' })), ...report.hosts.filter((h) => h.restart).map((h) => ({ host: h.host, path: '', action: 'restart' }))],
    });
    undo.ctx.journal = journal;
    const undone = await applyUndo(undo, planned);
    for (const f of report.files) {
      const r = results.get(`${f.host}\0${f.path}`);
      f.ok = r?.outcome === 'rolled-back';
      f.result = r?.detail ?? 'not restored: the host failed first';
    }
    for (const h of report.hosts) {
      const r = results.get(`${h.host}\0restart`);
      h.ok = undone.targets.find((x) => x.name === h.host)?.ok ?? false;
      h.result = r?.detail ?? (h.ok ? h.reason : 'not restarted: undoing its files failed first');
    }
    const failed = report.hosts.filter((h) => !h.ok);
    report.outcome = failed.length ? 'rollback-failed' : 'rolled-back';
    report.message = failed.length
      ? `the rollback of run ${run.header.runId} failed on ${failed.map((h) => h.host).join(', ')}; fix what the messages say, then run 'sessionctl rollback --run ${run.header.runId}' again (it only redoes what is left)`
      : `run ${run.header.runId} rolled back: ${report.files.filter((f) => f.action === 'restore').length} file(s) restored, ${report.hosts.filter((h) => h.restart).length} host(s) reloaded or restarted on the previous backend`;
    journal.append({
      type: 'rollback',
      at: new Date().toISOString(),
      outcome: report.outcome,
      files: report.files.map((f) => ({ host: f.host, path: f.path, result: f.result ?? '' })),
      hosts: report.hosts.map((h) => ({ host: h.host, result: h.result ?? '' })),
      ...(failed.length ? { error: report.message } : {}),
    });
    return { report, exitCode: failed.length ? (undone.unreachable ? ExitCode.hostUnreachable : ExitCode.hostFailed) : ExitCode.ok };
  } finally {
    await Promise.allSettled(locked.map(async (h) => new HostFiles(await fleet.ssh(h)).unlock(lockId)));
    await fleet.close();
  }
}

/**
 * Pure: where an undo's result is kept for the report: a file's by host and path (a host may have
 * several, e.g. the deploy host's overrides), anything else by host and step.
 */
export function resultKey(entry: UndoEntry): string {
  const record = entry.record as Partial<FileRecord>;
  return record.type === 'file' ? `${entry.target.name}\0${record.path}` : `${entry.target.name}\0${entry.step}`;
}

/** Pure: the report's view of the undo plans: each file's action, each host's restart, the refusals. */
export function viewOf(planned: UndoPlanned[][]): Pick<RollbackReport, 'files' | 'hosts' | 'refusals'> {
  const files = planned.flat().flatMap((p) => (p.plan?.file ? [p.plan.file] : []));
  const hosts = planned.map((group) => {
    const restart = group.find((p) => p.plan?.restart)?.plan?.restart;
    const name = group[0]!.entry.target.name;
    return restart ?? { host: name, before: null, restart: false, reason: 'no settings file of a Dashboard host here (deploy-host override only): nothing to restart' };
  });
  return { files, hosts, refusals: files.filter((f) => f.action === 'refuse').map((f) => f.reason) };
}
