import { ExitCode, type ExitCodeValue } from '../errors.js';
import type { HostConfig, Inventory } from '../inventory/types.js';
import { Fleet } from '../transport/fleet.js';
import { HostFiles, sha256 } from '../transport/hostfs.js';
import type { SshOptions } from '../transport/ssh.js';
import type { Engine } from '../transport/types.js';
import { gatherHostFacts } from '../facts/gather.js';
import { backendOf } from '../facts/horizon.js';
import { loadPlaybook } from '../playbook/load.js';
import { STEPS } from '../steps/index.js';
import { cannotCarry } from '../steps/carry.js';
import { locateChecks } from '../steps/settings.js';
import { Runner, RunFailed, type ApplyResult, type RunEvent, type RunPlan } from '../runner/runner.js';
import type { CarryCounts, HostContext, RunContext, StepResult } from '../runner/types.js';
import { resolveDesired, type BackendFlags } from '../backends/desired.js';
import { Journal } from '../journal/journal.js';
import { journalFile, newRunId } from '../journal/paths.js';
import type { BeforeBackend, PlanRecord } from '../journal/records.js';
import type { EffectiveSettings } from '../facts/horizon.js';
import { lockHost, lockHolder, operator, whoHolds } from './lock.js';

export interface SwitchOptions extends BackendFlags {
  mode: 'plan' | 'apply';
  ssh: SshOptions;
  /** Asked once the plan is shown; false = stop with nothing changed. */
  confirm: (planned: SwitchReport, warning: string) => Promise<boolean>;
  onEvent: (e: RunEvent) => void;
  healthTimeout?: number;
  /** apply journals the run under <stateDir>/runs/<runId>.jsonl (absent: no journal, e.g. in tests). */
  stateDir?: string;
}

/** The JSON report of a plan or apply run (also what the text renderers read). */
export interface SwitchReport {
  runId: string;
  mode: 'plan' | 'apply';
  backend: string;
  playbook: string;
  outcome: 'planned' | 'no-change' | 'applied' | 'refused' | 'declined' | 'failed' | 'rolled-back' | 'rollback-failed';
  hosts: { host: string; before: string; after: string; steps: StepResult[]; diff?: string }[];
  fleet: StepResult[];
  warnings: string[];
  /** Live sessions copied into the new backend, per pass (counts only). */
  sessionsCarried?: CarryCounts[];
  /** The settings diff on the Kolla deploy host, when the inventory names one. */
  deployDiff?: string;
  error?: string;
  rolledBack?: string[];
  rollbackFailed?: string[];
  /** apply: the run's journal on this machine (`sessionctl history --run ID` reads it). */
  journal?: string;
}

export const LOGOUT_WARNING = 'Switching the session backend logs every Horizon user out (their sessions stay in the old backend).';
export const CARRY_NOTE = 'Live sessions are copied into the new backend, so users stay logged in (a session whose copy fails is logged out).';

/** Pure: what the operator is told before confirming: are users logged out, and if so why. */
export function sessionWarning(plan: RunPlan): string {
  const carry = plan.fleet.find((p) => p.step === 'carry-sessions')?.plan;
  if (carry?.action === 'change') return CARRY_NOTE;
  const why = cannotCarry(carry);
  return why ? `${LOGOUT_WARNING} Sessions are not carried over: ${why}.` : LOGOUT_WARNING;
}

/** plan and apply: facts -> plan -> (confirm) -> apply -> report. Never throws for host-level failures. */
export async function switchBackend(inventory: Inventory, hosts: HostConfig[], opts: SwitchOptions): Promise<{ report: SwitchReport; exitCode: ExitCodeValue }> {
  const desired = await resolveDesired(inventory, opts);
  const playbook = await loadPlaybook(desired.target.name, STEPS);
  const runId = newRunId();
  const fleet = new Fleet(inventory, opts.ssh);
  const results: StepResult[] = [];
  const journal = opts.mode === 'apply' && opts.stateDir ? Journal.create(journalFile(opts.stateDir, runId)) : undefined;
  journal?.append({
    type: 'header',
    version: 1,
    runId,
    startedAt: new Date().toISOString(),
    by: operator(),
    inventory: { path: inventory.file, sha256: inventory.digest ?? null },
    backend: desired.target.name,
    where: desired.target.where,
    playbook: playbook.file,
    hosts: hosts.map((h) => h.name),
  });
  let journalWarned = false;
  const emit = (e: RunEvent) => {
    if (e.type === 'step') {
      results.push(e.result);
      // Plan-stage results are in the plan record; a journal that cannot take a step outcome must not stop a rollback.
      if (journal && e.result.stage !== 'plan') {
        try {
          journal.append({ type: 'step', result: e.result });
        } catch (err) {
          if (!journalWarned) opts.onEvent({ type: 'log', host: null, line: `warning: could not write the journal ${journal.file}: ${(err as Error).message}` });
          journalWarned = true;
        }
      }
    }
    opts.onEvent(e);
  };
  const run: RunContext = {
    id: runId,
    mode: opts.mode,
    desired,
    rollout: inventory.rollout,
    hosts: [],
    log: (host, line) => emit({ type: 'log', host, line }),
    timeouts: { health: opts.healthTimeout ?? 300 },
    ...(journal ? { journal } : {}),
  };
  const report: SwitchReport = { runId, mode: opts.mode, backend: desired.target.name, playbook: playbook.file, outcome: 'planned', hosts: [], fleet: [], warnings: [...desired.warnings], ...(journal ? { journal: journal.file } : {}) };
  const locked: HostConfig[] = [];
  let exitCode: ExitCodeValue = ExitCode.ok;
  // apply holds the hosts' locks from before the plan: a Ctrl-C (or hangup) while planning must not
  // kill the process with the locks still taken. It stops the run at the next safe point instead.
  let interrupted: string | undefined;
  let runner: Runner | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupted ??= `interrupted by ${sig}`;
    runner?.requestStop(interrupted);
  };
  const signals: NodeJS.Signals[] = opts.mode === 'apply' ? ['SIGINT', 'SIGTERM', 'SIGHUP'] : [];
  for (const sig of signals) process.on(sig, onSignal);
  try {
    // The lock is asked for while the facts are read (same connection, both read-only until
    // granted); nothing is planned before every host's lock is held, so what we plan is what we change.
    const holder = lockHolder(runId);
    // The backend's check and the parse of the files we patch run in the facts probe's process;
    // the preflight and patch steps use their answers.
    const also = [...(desired.target.reachCheck ? [desired.target.reachCheck] : []), ...locateChecks(desired.owned)];
    const gathered = await Promise.all(hosts.map((h) => Promise.all([gatherHostFacts(fleet, h, also), lockHost(fleet, h, opts.mode, holder)])));
    const holders: string[] = [];
    for (const [f, lock] of gathered) {
      if (lock.held) locked.push(f.host);
      if (lock.error) holders.push(`${f.host.name}: could not take the lock: ${lock.error}`);
      if (lock.holder) {
        const who = whoHolds(f.host.name, lock.holder);
        if (opts.mode === 'plan') run.log(f.host.name, `note: ${who.replace(`${f.host.name} is `, '')}`);
        else holders.push(who);
      }
    }
    if (holders.length) {
      report.outcome = 'refused';
      report.error = `not locked, nothing changed: ${holders.join('; ')}`;
      return { report, exitCode: ExitCode.hostFailed };
    }
    const deployName = inventory.kolla?.deployHost;
    if (deployName) {
      const deployHost = inventory.hosts.find((h) => h.name === deployName)!;
      run.deploy = {
        name: deployName,
        files: new HostFiles(await fleet.ssh(deployHost)),
        path: `${inventory.kolla!.configDir}/horizon/_9999-custom-settings.py`,
      };
    }
    run.hosts = await Promise.all(
      gathered.map(async ([f]): Promise<HostContext> => {
        // A host whose facts failed fails at its first step (container-healthy) and is never
        // touched again, so it needs no connection, engine or files here.
        const ssh = f.reachable ? await fleet.ssh(f.host) : (undefined as never);
        const engine: Engine = f.engineVia ? await fleet.engine(f.host) : (undefined as never);
        const files = f.reachable ? new HostFiles(ssh) : (undefined as never);
        return { run, host: f.host, ssh, engine, files, state: { facts: f, restarted: false, changes: [] } };
      }),
    );

    runner = new Runner(playbook, STEPS, run, emit);
    const plan = await runner.plan();
    journal?.append(planRecord(run, plan));
    fillHosts(report, run, plan, results);
    report.fleet = results.filter((r) => r.host === null);
    const override = plan.fleet.find((p) => p.step === 'kolla-override')?.plan;
    if (override?.action === 'change' && override.diff) report.deployDiff = override.diff;
    if (plan.failed.length) {
      report.outcome = 'failed';
      report.error = `preflight failed, nothing changed: ${plan.failed.map((f) => `${f.host ?? 'fleet'}: ${f.message}`).join('; ')}`;
      const unreachable = run.hosts.some((h) => h.state.facts.error?.kind === 'unreachable');
      return { report, exitCode: unreachable ? ExitCode.hostUnreachable : ExitCode.hostFailed };
    }
    const changing = run.hosts.filter((h) => h.state.changes.length || h.state.needsRestart);
    if (changing.length === 0) {
      report.outcome = 'no-change';
      return { report, exitCode };
    }
    const warning = sessionWarning(plan);
    report.warnings.unshift(warning);
    if (opts.mode === 'plan') return { report, exitCode };
    if (interrupted || !(await opts.confirm(report, warning))) {
      report.outcome = 'declined';
      if (interrupted) report.error = `${interrupted} before the confirmation: nothing changed`;
      return { report, exitCode: ExitCode.error };
    }

    let applied: ApplyResult;
    results.length = 0;
    try {
      applied = await runner.apply();
      report.outcome = 'applied';
      if (applied.failedHosts.length) {
        // Within rollout.max_fail: the others are switched, the failed ones were put back.
        report.error = `${applied.failedHosts.join(', ')} failed (within rollout.max_fail) and ${applied.rollbackFailed.length ? `the rollback failed on ${applied.rollbackFailed.join(', ')}` : 'were rolled back'}`;
        exitCode = ExitCode.hostFailed;
      }
    } catch (err) {
      if (!(err instanceof RunFailed)) throw err;
      applied = err.result;
      report.error = err.message;
      report.outcome = applied.rollbackFailed.length ? 'rollback-failed' : 'rolled-back';
      exitCode = ExitCode.hostFailed;
    }
    if (run.carry?.passes.length) report.sessionsCarried = run.carry.passes;
    report.rolledBack = applied.rolledBack;
    report.rollbackFailed = applied.rollbackFailed;
    fillHosts(report, run, plan, applied.results);
    report.fleet = applied.results.filter((r) => r.host === null);
    return { report, exitCode };
  } catch (err) {
    report.outcome = 'failed';
    report.error = (err as Error)?.message ?? String(err);
    throw err;
  } finally {
    for (const sig of signals) process.off(sig, onSignal);
    journal?.append({
      type: 'outcome',
      outcome: report.outcome,
      endedAt: new Date().toISOString(),
      ...(report.error ? { error: report.error } : {}),
      ...(report.rolledBack ? { rolledBack: report.rolledBack } : {}),
      ...(report.rollbackFailed ? { rollbackFailed: report.rollbackFailed } : {}),
    });
    await Promise.allSettled(locked.map(async (h) => new HostFiles(await fleet.ssh(h)).unlock(runId)));
    await fleet.close();
  }
}

/** What Django resolved before the run, enough for `sessionctl rollback` to check it is back (no credentials). */
export function beforeBackend(s: EffectiveSettings): BeforeBackend {
  return { name: backendOf(s.sessionEngine, s.cache.backend), sessionEngine: s.sessionEngine, cacheBackend: s.cache.backend, locationSha256: sha256(JSON.stringify(s.cache.location ?? null)) };
}

/** The plan as the journal keeps it: per host each step's action, no diffs (they can be long). */
function planRecord(run: RunContext, plan: RunPlan): PlanRecord {
  const action = (p: RunPlan['fleet'][number]) => ({
    step: p.step,
    action: p.plan?.action ?? ('failed' as const),
    detail: p.error ?? (p.plan?.action === 'none' ? p.plan.reason : (p.plan?.summary ?? '')),
  });
  return {
    type: 'plan',
    hosts: run.hosts.map((h) => {
      const s = h.state.facts.horizon?.settings;
      return { host: h.host.name, before: s ? beforeBackend(s) : null, steps: (plan.hosts[h.host.name] ?? []).map(action) };
    }),
    fleet: plan.fleet.map(action),
  };
}

function fillHosts(report: SwitchReport, run: RunContext, plan: RunPlan, results: StepResult[]): void {
  report.hosts = run.hosts.map((h) => {
    const s = h.state.facts.horizon?.settings;
    const entry: SwitchReport['hosts'][number] = {
      host: h.host.name,
      before: s ? backendOf(s.sessionEngine, s.cache.backend) : 'unknown',
      after:
        report.outcome === 'applied' && !report.rolledBack?.includes(h.host.name) && !report.rollbackFailed?.includes(h.host.name)
          ? run.desired.target.name
          : report.outcome === 'planned'
            ? run.desired.target.name
            : s
              ? backendOf(s.sessionEngine, s.cache.backend)
              : 'unknown',
      steps: results.filter((r) => r.host === h.host.name),
    };
    const diffStep = plan.hosts[h.host.name]?.find((p) => p.plan?.action === 'change' && 'diff' in p.plan && p.plan.diff);
    if (diffStep?.plan && diffStep.plan.action === 'change' && diffStep.plan.diff) entry.diff = diffStep.plan.diff;
    return entry;
  });
}
