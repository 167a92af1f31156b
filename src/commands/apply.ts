import { ExitCode, HostError, type ExitCodeValue } from '../errors.js';
import type { HostConfig, Inventory } from '../inventory/types.js';
import { hostsToConnect, selectHosts } from '../inventory/load.js';
import { Fleet, type Connections } from '../transport/fleet.js';
import { HostFiles } from '../transport/hostfs.js';
import type { SshOptions } from '../transport/ssh.js';
import type { Engine, Shell } from '../transport/types.js';
import { factsCache, type FactsCache } from '../facts/cache.js';
import { gatherHostFacts, settingsCandidates, type HostFacts } from '../facts/gather.js';
import { backendOf } from '../facts/horizon.js';
import { loadPlaybook, type Playbook } from '../playbook/load.js';
import { STEPS } from '../steps/index.js';
import { locateChecks } from '../steps/settings.js';
import { deployWarnings } from '../steps/kolla-override.js';
import type { DeployHost, FleetContext, FleetValues, HostContext, RunInfo } from '../steps/types.js';
import { Runner, RunFailed, type ApplyResult, type RunEvent, type RunPlan } from '../runner/runner.js';
import type { StepResult } from '../runner/results.js';
import { resolveDesired, type BackendFlags } from '../backends/desired.js';
import { beforeBackend } from '../backends/effective.js';
import type { Desired } from '../backends/types.js';
import { libraryDurability, pin, type LibraryDurability } from '../backends/libraries.js';
import { Journal } from '../journal/journal.js';
import { gatherBalancers } from '../facts/balancers.js';
import { factsDir, journalFile, newRunId } from '../journal/paths.js';
import type { PlanRecord } from '../journal/records.js';
import type { SwitchReport } from '../report/types.js';
import { lockHost, lockHolder, operator, whoHolds } from './lock.js';
import { kollaSection } from '../report/kolla.js';

export interface SwitchOptions extends BackendFlags {
  mode: 'plan' | 'apply';
  ssh: SshOptions;
  /** Asked once the plan is shown; false = stop with nothing changed. */
  confirm: (planned: SwitchReport, warning: string) => Promise<boolean>;
  onEvent: (e: RunEvent) => void;
  healthTimeout?: number;
  /** --restart: restart every host instead of reloading (overrides rollout.method). */
  restart?: boolean;
  /** Read every host's settings afresh instead of reusing an earlier run's answer (facts/cache.ts). */
  freshFacts?: boolean;
  /** apply journals the run under <stateDir>/runs/<runId>.jsonl (absent: no journal, e.g. in tests). */
  stateDir?: string;
  /** The hosts' connections (default: SSH to the inventory's hosts; unit tests hand in fake hosts). */
  connections?: Connections;
}

export const LOGOUT_WARNING = 'Switching the session backend logs every Horizon user out (their sessions stay in the old backend).';
export const CARRY_NOTE = 'Live sessions are copied into the new backend, so users stay logged in (a session whose copy fails is logged out).';

/** Pure: what the operator is told before confirming: are users logged out, and if so why. */
export function sessionWarning(carry: FleetValues['carry'] | undefined): string {
  if (carry?.route) return CARRY_NOTE;
  return carry?.cannot ? `${LOGOUT_WARNING} Sessions are not carried over: ${carry.cannot}.` : LOGOUT_WARNING;
}

/**
 * plan and apply: facts -> plan -> (confirm) -> apply -> report. Never throws for host-level
 * failures. The stages, in order: open the run (desired state, playbook, journal), lock the hosts
 * while reading their facts, connect the step contexts, plan, confirm, apply; the journal's outcome
 * and the locks' release close every path.
 */
export async function switchBackend(inventory: Inventory, hosts: HostConfig[], opts: SwitchOptions): Promise<{ report: SwitchReport; exitCode: ExitCodeValue }> {
  const desired = await resolveDesired(inventory, opts);
  const playbook = await loadPlaybook(desired.target.name, STEPS);
  const fleet = opts.connections ?? new Fleet(inventory.hosts, opts.ssh);
  // Keys and known_hosts first: a bad one stops the run before any connection or journal.
  await fleet.readLocalFiles(hostsToConnect(inventory, hosts));
  const run = openRun(inventory, hosts, desired, playbook, opts);
  const { report, journal } = run;
  const locked: HostConfig[] = [];
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
    const cache = opts.stateDir && !opts.freshFacts ? factsCache(factsDir(opts.stateDir)) : undefined;
    const gathered = await lockAndGather(fleet, hosts, desired, run.info, locked, cache);
    if (gathered.refusals.length) {
      report.outcome = 'refused';
      report.error = `not locked, nothing changed: ${gathered.refusals.join('; ')}`;
      return { report, exitCode: ExitCode.hostFailed };
    }
    const ctx = await connect(fleet, inventory, gathered.facts, run.info);
    runner = new Runner(playbook, STEPS, ctx, run.emit);

    const plan = await runner.plan();
    journal?.append(planRecord(ctx, plan));
    reportPlan(report, ctx, plan, run.results, runner.value('deployFile'));
    if (plan.failed.length) {
      report.outcome = 'failed';
      report.error = `preflight failed, nothing changed: ${plan.failed.map((f) => `${f.host ?? 'fleet'}: ${f.message}`).join('; ')}`;
      const unreachable = ctx.hosts.some((h) => h.facts.error?.kind === 'unreachable');
      return { report, exitCode: unreachable ? ExitCode.hostUnreachable : ExitCode.hostFailed };
    }
    // Told also when nothing changes: a library already only in the container layer is lost all the same.
    const libraries = reportLibraries(report, libraryDurabilityOf(runner, ctx));
    if (!plan.changes) {
      report.outcome = 'no-change';
      return { report, exitCode: ExitCode.ok };
    }
    const warning = sessionWarning(runner.value('carry'));
    report.warnings.unshift(warning);
    report.warnings.push(...deployWarnings(runner.value('deployFile') ?? []));
    // Every host asks the same server: one warning, however many hosts saw it.
    report.warnings.push(...new Set(ctx.hosts.map((h) => runner!.hostValue(h.host.name, 'backendWarning')).filter((w): w is string => Boolean(w))));
    if (opts.mode === 'plan') return { report, exitCode: ExitCode.ok };
    if (interrupted || !(await opts.confirm(report, warning))) {
      report.outcome = 'declined';
      if (interrupted) report.error = `${interrupted} before the confirmation: nothing changed`;
      return { report, exitCode: ExitCode.error };
    }

    run.results.length = 0;
    const exitCode = await applyPlan(runner, report);
    const carried = runner.value('carried');
    const again = runner.value('carriedAgain');
    if (carried) report.sessionsCarried = [carried.counts, ...(again ? [again] : [])];
    // What the install put there is now known exactly: the override pins it.
    if (report.outcome === 'applied') reportLibraries(report, libraryDurabilityOf(runner, ctx, true), libraries);
    reportPlan(report, ctx, plan, run.results, runner.value('deployFile'));
    return { report, exitCode };
  } catch (err) {
    report.outcome = 'failed';
    report.error = (err as Error)?.message ?? String(err);
    throw err;
  } finally {
    for (const sig of signals) process.off(sig, onSignal);
    try {
      journal?.append({
        type: 'outcome',
        outcome: report.outcome,
        endedAt: new Date().toISOString(),
        ...(report.error ? { error: report.error } : {}),
        ...(report.rolledBack ? { rolledBack: report.rolledBack } : {}),
        ...(report.rollbackFailed ? { rollbackFailed: report.rollbackFailed } : {}),
      });
    } finally {
      // Even when the journal cannot be written (disk full): a lock left behind refuses the next run.
      await Promise.allSettled(locked.map(async (h) => new HostFiles(await fleet.ssh(h)).unlock(run.info.id)));
      await fleet.close();
    }
  }
}

/**
 * What the operator is told about the target's client libraries and the container layer, from each
 * host's libraries as install-client-library planned them; `installed`: with the versions its apply
 * installed (then the override pins exactly what the containers have).
 */
export function libraryDurabilityOf(runner: Pick<Runner, 'hostValue'>, ctx: FleetContext, installed = false): LibraryDurability {
  return libraryDurability(
    ctx.hosts.map((h) => {
      const done = installed ? runner.hostValue(h.host.name, 'installed') : undefined;
      const libraries = (runner.hostValue(h.host.name, 'libraries') ?? []).map((l) => {
        if (!done || done.module !== l.module || !l.installs) return l;
        const exact = done.dist ? pin(done.dist.name, done.dist.version, 'installed') : l.pin && pin(l.pin.package, done.version, 'installed');
        return exact ? { ...l, pin: exact } : l;
      });
      return { host: h.host.name, libraries };
    }),
  );
}

/** Put the libraries' warnings and the image override into the report, in place of an earlier version's. */
function reportLibraries(report: SwitchReport, d: LibraryDurability, earlier?: LibraryDurability): LibraryDurability {
  const old = new Set(earlier?.warnings ?? []);
  report.warnings = [...report.warnings.filter((w) => !old.has(w)), ...d.warnings];
  if (d.layerOnly.length) {
    report.layerOnlyLibraries = d.layerOnly;
    report.imageOverrides = d.overrides;
  }
  return d;
}

/** The run's identity, journal (header written), report, and the event stream that journals step outcomes. */
function openRun(inventory: Inventory, hosts: HostConfig[], desired: Desired, playbook: Playbook, opts: SwitchOptions) {
  const id = newRunId();
  const journal = opts.mode === 'apply' && opts.stateDir ? Journal.create(journalFile(opts.stateDir, id)) : undefined;
  journal?.append({
    type: 'header',
    version: 1,
    runId: id,
    startedAt: new Date().toISOString(),
    by: operator(),
    inventory: { path: inventory.file, sha256: inventory.digest ?? null },
    backend: desired.target.name,
    where: desired.target.where,
    playbook: playbook.file,
    hosts: hosts.map((h) => h.name),
  });
  const results: StepResult[] = [];
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
  const info: RunInfo = {
    id,
    mode: opts.mode,
    desired,
    rollout: opts.restart ? { ...inventory.rollout, method: 'restart' } : inventory.rollout,
    log: (host, line) => emit({ type: 'log', host, line }),
    timeouts: { health: opts.healthTimeout ?? 300 },
    ...(journal ? { journal } : {}),
  };
  const kolla = kollaSection(inventory.kolla, desired.target.name);
  const report: SwitchReport = { runId: id, mode: opts.mode, backend: desired.target.name, playbook: playbook.file, outcome: 'planned', hosts: [], fleet: [], warnings: [...desired.warnings], ...(kolla ? { kolla } : {}), ...(journal ? { journal: journal.file } : {}) };
  return { info, journal, emit, results, report };
}

/**
 * Every host's facts, with its lock asked for on the same connection meanwhile (apply takes it,
 * plan only reads who holds it); nothing is planned before every lock is held, so what we plan is
 * what we change. The backend's check and the parse of the files we patch run in the facts probe's
 * process; the preflight and patch steps use their answers. `locked` gets every host asked for its lock.
 */
async function lockAndGather(
  fleet: Connections,
  hosts: HostConfig[],
  desired: Desired,
  run: RunInfo,
  locked: HostConfig[],
  cache?: FactsCache,
): Promise<{ facts: HostFacts[]; refusals: string[] }> {
  const holder = lockHolder(run.id);
  const also = [...(desired.target.reachCheck ? [desired.target.reachCheck] : []), ...locateChecks(desired.owned)];
  // Each asked lock is kept for release as soon as its answer is in, and every answer is awaited
  // before anything is thrown: whatever fails, the caller's finally releases every lock.
  const locks = hosts.map((h) =>
    lockHost(fleet, h, run.mode, holder, settingsCandidates(h)).then((lock) => {
      if (lock.asked) locked.push(h);
      return lock;
    }),
  );
  const facts = await Promise.allSettled(hosts.map((h) => gatherHostFacts(fleet, h, { also, ...(cache ? { cache } : {}) })));
  const answers = await Promise.all(locks);
  for (const f of facts) if (f.status === 'rejected') throw f.reason;
  const gathered = facts.map((f, i) => [(f as PromiseFulfilledResult<HostFacts>).value, answers[i]!] as const);
  const refusals: string[] = [];
  for (const [f, lock] of gathered) {
    if (lock.read && f.reachable) f.readUnderLock = lock.read;
    if (lock.error) refusals.push(`${f.host.name}: could not take the lock: ${lock.error}`);
    if (lock.holder) {
      const who = whoHolds(f.host.name, lock.holder);
      if (run.mode === 'plan') run.log(f.host.name, `note: ${who.replace(`${f.host.name} is `, '')}`);
      else refusals.push(who);
    }
  }
  return { facts: gathered.map(([f]) => f), refusals };
}

/** The steps' contexts: each host's facts with its engine and files, and the deploy host when the inventory names one. */
async function connect(fleet: Connections, inventory: Inventory, facts: HostFacts[], info: RunInfo): Promise<FleetContext> {
  const balancers = inventory.loadbalancer && (await gatherBalancers(inventory.loadbalancer, (name) => fleet.engine(name)));
  const run: RunInfo = balancers ? { ...info, balancers } : info;
  const hosts = await Promise.all(
    facts.map(async (f): Promise<HostContext> => {
      // A host whose facts failed fails at its first step (container-healthy) and is never
      // touched again; what it could not connect to fails with the facts' reason if used.
      const none = unavailable(f);
      const engine = f.engineVia ? await fleet.engine(f.host) : none.engine;
      const files = f.reachable ? new HostFiles(await fleet.ssh(f.host)) : none.files;
      return { run, host: f.host, facts: f, engine, files };
    }),
  );
  const deployName = inventory.kolla?.deployHost;
  let deploy: DeployHost | undefined;
  if (deployName) {
    const deployHost = inventory.hosts.find((h) => h.name === deployName)!;
    // Every Dashboard host, not only this run's: who else reads the shared override.
    const dashboards = selectHosts(inventory).map((h) => h.name);
    deploy = { name: deployName, files: new HostFiles(await fleet.ssh(deployHost)), dir: `${inventory.kolla!.configDir}/horizon`, dashboards };
  }
  return { run, hosts, ...(deploy ? { deploy } : {}) };
}

/** The transport of a host whose facts could not be read: every use fails, saying why. */
function unavailable(f: HostFacts): { engine: Engine; files: HostFiles } {
  const fail = async (): Promise<never> => {
    throw new HostError(f.host.name, f.error?.message ?? 'not connected');
  };
  const shell: Shell = { name: f.host.name, exec: fail, run: fail };
  return { engine: { via: 'api', inspect: fail, exec: fail, restart: fail }, files: new HostFiles(shell) };
}

/** Apply, and the report's outcome: applied (maybe with hosts put back within max_fail), rolled back, or a failed rollback. */
async function applyPlan(runner: Runner, report: SwitchReport): Promise<ExitCodeValue> {
  let applied: ApplyResult;
  let exitCode: ExitCodeValue = ExitCode.ok;
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
  return exitCode;
}

/** The plan as the journal keeps it: per host each step's action, no diffs (they can be long). */
function planRecord(ctx: FleetContext, plan: RunPlan): PlanRecord {
  const action = (p: RunPlan['fleet'][number]) => ({
    step: p.step,
    action: p.plan?.action ?? ('failed' as const),
    detail: p.error ?? (p.plan?.action === 'none' ? p.plan.reason : (p.plan?.summary ?? '')),
  });
  return {
    type: 'plan',
    hosts: ctx.hosts.map((h) => {
      const s = h.facts.horizon?.settings;
      return { host: h.host.name, before: s ? beforeBackend(s) : null, steps: (plan.hosts[h.host.name] ?? []).map(action) };
    }),
    fleet: plan.fleet.map(action),
  };
}

/** Per host: the backend before and after, its steps' results and its diff; the fleet's results; the deploy host's files. */
function reportPlan(report: SwitchReport, ctx: FleetContext, plan: RunPlan, results: StepResult[], deployFile: FleetValues['deployFile'] = []): void {
  report.hosts = ctx.hosts.map((h) => {
    const s = h.facts.horizon?.settings;
    const now = s ? backendOf(s.sessionEngine, s.cache.backend) : 'unknown';
    const switched = report.outcome === 'planned' || (report.outcome === 'applied' && !report.rolledBack?.includes(h.host.name) && !report.rollbackFailed?.includes(h.host.name));
    const entry: SwitchReport['hosts'][number] = { host: h.host.name, before: now, after: switched ? ctx.run.desired.target.name : now, steps: results.filter((r) => r.host === h.host.name) };
    const diff = plan.hosts[h.host.name]?.find((p) => p.plan?.action === 'change' && p.plan.diff)?.plan;
    if (diff?.action === 'change' && diff.diff) entry.diff = diff.diff;
    return entry;
  });
  report.fleet = results.filter((r) => r.host === null);
  const changed = deployFile.filter((f) => f.changed);
  if (ctx.deploy && changed.length) {
    report.deployFiles = changed.map((f) => ({ host: ctx.deploy!.name, path: f.path, kind: f.kind, readBy: f.readBy, alsoReadBy: f.alsoReadBy, diff: f.diff }));
  }
}
