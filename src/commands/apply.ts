import { randomBytes } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { ExitCode, type ExitCodeValue } from '../errors.js';
import type { HostConfig, Inventory } from '../inventory/types.js';
import { Fleet } from '../transport/fleet.js';
import { HostFiles } from '../transport/hostfs.js';
import type { SshOptions } from '../transport/ssh.js';
import type { Engine } from '../transport/types.js';
import { gatherHostFacts } from '../facts/gather.js';
import { backendOf } from '../facts/horizon.js';
import { loadPlaybook } from '../playbook/load.js';
import { STEPS } from '../steps/index.js';
import { Runner, RunFailed, type ApplyResult, type RunEvent, type RunPlan } from '../runner/runner.js';
import type { HostContext, RunContext, StepResult } from '../runner/types.js';
import { resolveDesired, type BackendFlags } from '../backends/desired.js';

export interface SwitchOptions extends BackendFlags {
  mode: 'plan' | 'apply';
  ssh: SshOptions;
  /** Asked once the plan is shown; false = stop with nothing changed. */
  confirm: (planned: SwitchReport, warning: string) => Promise<boolean>;
  onEvent: (e: RunEvent) => void;
  healthTimeout?: number;
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
  /** The settings diff on the Kolla deploy host, when the inventory names one. */
  deployDiff?: string;
  error?: string;
  rolledBack?: string[];
  rollbackFailed?: string[];
}

export const LOGOUT_WARNING = 'Switching the session backend logs every Horizon user out (their sessions stay in the old backend).';

/** plan and apply: facts -> plan -> (confirm) -> apply -> report. Never throws for host-level failures. */
export async function switchBackend(inventory: Inventory, hosts: HostConfig[], opts: SwitchOptions): Promise<{ report: SwitchReport; exitCode: ExitCodeValue }> {
  const desired = await resolveDesired(inventory, opts);
  const playbook = await loadPlaybook(desired.target.name, STEPS);
  const runId = `${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}-${randomBytes(3).toString('hex')}`;
  const fleet = new Fleet(inventory, opts.ssh);
  const results: StepResult[] = [];
  const emit = (e: RunEvent) => {
    if (e.type === 'step') results.push(e.result);
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
  };
  const report: SwitchReport = { runId, mode: opts.mode, backend: desired.target.name, playbook: playbook.file, outcome: 'planned', hosts: [], fleet: [], warnings: [...desired.warnings] };
  const locked: HostContext[] = [];
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
    const facts = await Promise.all(hosts.map((h) => gatherHostFacts(fleet, h)));
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
      facts.map(async (f): Promise<HostContext> => {
        // A host whose facts failed fails at its first step (container-healthy) and is never
        // touched again, so it needs no connection, engine or files here.
        const ssh = f.reachable ? await fleet.ssh(f.host) : (undefined as never);
        const engine: Engine = f.engineVia ? await fleet.engine(f.host) : (undefined as never);
        const files = f.reachable ? new HostFiles(ssh) : (undefined as never);
        return { run, host: f.host, ssh, engine, files, state: { facts: f, restarted: false, changes: [] } };
      }),
    );

    // The lock comes first in apply, so what we plan is what we change.
    const holders = await lockAll(run, opts.mode, locked);
    if (holders.length) {
      report.outcome = 'refused';
      report.error = `another sessionctl run holds the lock: ${holders.join('; ')}`;
      return { report, exitCode: ExitCode.hostFailed };
    }

    runner = new Runner(playbook, STEPS, run, emit);
    const plan = await runner.plan();
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
    report.warnings.unshift(LOGOUT_WARNING);
    if (opts.mode === 'plan') return { report, exitCode };
    if (interrupted || !(await opts.confirm(report, LOGOUT_WARNING))) {
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
    report.rolledBack = applied.rolledBack;
    report.rollbackFailed = applied.rollbackFailed;
    fillHosts(report, run, plan, applied.results);
    report.fleet = applied.results.filter((r) => r.host === null);
    return { report, exitCode };
  } finally {
    for (const sig of signals) process.off(sig, onSignal);
    await Promise.allSettled(locked.map((h) => h.files.unlock(runId)));
    await fleet.close();
  }
}

/** apply: take every host's lock (all or none); plan: only report holders. Returns holders that refused. */
async function lockAll(run: RunContext, mode: 'plan' | 'apply', locked: HostContext[]): Promise<string[]> {
  const reachable = run.hosts.filter((h) => !h.state.facts.error);
  const holder = { run: run.id, by: `${userInfo().username}@${hostname()}`, pid: process.pid, since: new Date().toISOString() };
  const refused: string[] = [];
  await Promise.all(
    reachable.map(async (h) => {
      if (mode === 'plan') {
        const current = await h.files.lockHolder();
        if (current) run.log(h.host.name, `note: locked by run ${String(current.run)} (${String(current.by)}) since ${String(current.since)}`);
        return;
      }
      const res = await h.files.lock(holder);
      if (res.held) locked.push(h);
      else refused.push(`${h.host.name} is locked by run ${String(res.holder?.run)} (${String(res.holder?.by)}, pid ${String(res.holder?.pid)}, since ${String(res.holder?.since)})`);
    }),
  );
  if (refused.length) {
    await Promise.allSettled(locked.map((h) => h.files.unlock(run.id)));
    locked.length = 0;
  }
  return refused;
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
