import { SessionctlError, ExitCode, detailFor } from '../errors.js';
import type { Playbook } from '../playbook/load.js';
import type { FleetStep, HostContext, RunContext, Step, StepPlan, StepResult, Outcome } from './types.js';

/** Events the runner emits; renderers (TTY, plain, JSON) subscribe, the runner prints nothing. */
export type RunEvent =
  | { type: 'stage'; stage: 'plan' | 'apply' | 'rollback' }
  | { type: 'phase'; phase: string; stage: 'plan' | 'apply' | 'rollback' }
  | { type: 'step'; result: StepResult }
  | { type: 'log'; host: string | null; line: string };

export interface PlannedStep {
  phase: string;
  step: string;
  title: string;
  plan?: StepPlan;
  error?: string;
}

/** The printable plan: per host (and fleet-wide) what each step would do, or why it cannot. */
export interface RunPlan {
  hosts: Record<string, PlannedStep[]>;
  fleet: PlannedStep[];
  failed: { host: string | null; step: string; message: string }[];
}

export interface ApplyResult {
  ok: boolean;
  results: StepResult[];
  failedHosts: string[];
  rolledBack: string[];
  rollbackFailed: string[];
  error?: string;
}

/** Raised when the run stops; the apply result is attached for the report. */
export class RunFailed extends SessionctlError {
  constructor(message: string, readonly result: ApplyResult) {
    super(message, ExitCode.hostFailed);
  }
}

/**
 * Executes a playbook: every step's plan first (read-only), then apply phase by phase with the
 * playbook's host ordering, then a rollback of every changed host when something fails.
 */
export class Runner {
  private readonly results: StepResult[] = [];
  private planned: RunPlan | undefined;
  /** Hosts in the order they were first changed; rollback walks them in that order. */
  private readonly touched: HostContext[] = [];
  private readonly applied = new Map<string, Set<string>>();
  private readonly appliedFleet: { phase: string; step: string }[] = [];
  private stopRequested: string | undefined;
  private stage: StepResult['stage'] = 'plan';

  constructor(
    private readonly playbook: Playbook,
    private readonly steps: Record<string, Step>,
    private readonly ctx: RunContext,
    private readonly emit: (e: RunEvent) => void,
  ) {}

  /** Ask the runner to stop at the next step boundary (Ctrl-C, SIGTERM) and roll back. */
  requestStop(reason: string): void {
    this.stopRequested ??= reason;
  }

  async plan(): Promise<RunPlan> {
    const plan: RunPlan = { hosts: {}, fleet: [], failed: [] };
    for (const h of this.ctx.hosts) plan.hosts[h.host.name] = [];
    const broken = new Set<string>();
    // Read-only plans of independent phases start on every host at once: the slow ones (a check
    // inside the container, a file read) overlap instead of adding up. A host that fails an
    // earlier step still reports the later ones as skipped; their early answers are dropped.
    const early = new Map<HostContext, Map<string, Promise<Settled>>>();
    for (const h of this.ctx.hosts) {
      const started = new Map<string, Promise<Settled>>();
      for (const phase of this.playbook.phases.filter((p) => p.independent)) {
        for (const name of phase.steps) {
          const step = this.steps[name]!;
          if (step.scope === 'host') started.set(`${phase.name}/${name}`, settle(() => step.plan(h)));
        }
      }
      early.set(h, started);
    }
    this.stage = 'plan';
    this.emit({ type: 'stage', stage: 'plan' });
    for (const phase of this.playbook.phases) {
      this.emit({ type: 'phase', phase: phase.name, stage: 'plan' });
      if (phase.hosts === 'fleet') {
        for (const name of phase.steps) {
          const step = this.steps[name]!;
          if (step.scope !== 'fleet') continue;
          const entry: PlannedStep = { phase: phase.name, step: name, title: step.title };
          const t0 = Date.now();
          try {
            // A fleet step over hosts that already failed would only repeat their errors.
            if (broken.size) entry.plan = { action: 'none', reason: 'skipped: a host failed earlier' };
            else entry.plan = await step.plan(this.ctx);
            this.record(phase.name, name, null, entry.plan.action === 'change' ? 'changed' : 'unchanged', describe(entry.plan), t0);
          } catch (err) {
            entry.error = detailFor(err);
            plan.failed.push({ host: null, step: name, message: entry.error });
            this.record(phase.name, name, null, 'failed', entry.error, t0);
          }
          plan.fleet.push(entry);
        }
        continue;
      }
      await Promise.all(
        this.ctx.hosts.map(async (h) => {
          for (const name of phase.steps) {
            const step = this.steps[name]!;
            if (step.scope !== 'host') continue;
            const entry: PlannedStep = { phase: phase.name, step: name, title: step.title };
            plan.hosts[h.host.name]!.push(entry);
            const t0 = Date.now();
            if (broken.has(h.host.name)) {
              entry.plan = { action: 'none', reason: 'skipped: an earlier step failed on this host' };
              this.record(phase.name, name, h.host.name, 'skipped', entry.plan.reason, t0);
              continue;
            }
            const ahead = early.get(h)?.get(`${phase.name}/${name}`);
            const outcome = ahead ? await ahead : await settle(() => step.plan(h));
            const took = Date.now() - outcome.ms; // the step's own time, not its wait for its turn
            if ('plan' in outcome) {
              entry.plan = outcome.plan;
              if (entry.plan.action === 'change') h.state.changes.push(name);
              this.record(phase.name, name, h.host.name, entry.plan.action === 'change' ? 'changed' : 'unchanged', describe(entry.plan), took);
            } else {
              entry.error = detailFor(outcome.error, h.host.name);
              broken.add(h.host.name);
              plan.failed.push({ host: h.host.name, step: name, message: entry.error });
              this.record(phase.name, name, h.host.name, 'failed', entry.error, took);
            }
          }
        }),
      );
    }
    this.planned = plan;
    return plan;
  }

  /** Execute a plan that had no failures. Rolls back and throws RunFailed when a step fails. */
  async apply(): Promise<ApplyResult> {
    const plan = this.planned;
    if (!plan || plan.failed.length) throw new Error('apply needs a successful plan first');
    this.results.length = 0;
    this.stage = 'apply';
    this.emit({ type: 'stage', stage: 'apply' });
    const failedHosts: string[] = [];
    const partial = { rolledBack: [] as string[], rollbackFailed: [] as string[] };
    let error: string | undefined;
    for (const phase of this.playbook.phases) {
      if (error) break;
      this.emit({ type: 'phase', phase: phase.name, stage: 'apply' });
      if (phase.hosts === 'fleet') {
        const entries = plan.fleet.filter((e) => e.phase === phase.name && this.steps[e.step]!.scope === 'fleet');
        if (phase.concurrent) {
          error = (await Promise.all(entries.map((e) => this.applyFleet(phase.name, e)))).find((e) => e !== undefined);
        } else {
          for (const entry of entries) if ((error = await this.applyFleet(phase.name, entry))) break;
        }
        continue;
      }
      const batches = phase.hosts === 'rolling' ? chunk(this.ctx.hosts, this.ctx.rollout.serial) : [this.ctx.hosts];
      for (const batch of batches) {
        if (this.stopRequested) {
          error = `stopped: ${this.stopRequested}`;
          break;
        }
        const outcomes = await Promise.all(batch.map((h) => this.applyHost(h, phase.name)));
        const failed = batch.filter((_, i) => outcomes[i] !== undefined);
        failedHosts.push(...failed.map((h) => h.host.name));
        if (failed.length === 0) continue;
        const first = outcomes.find((o) => o !== undefined)!;
        // Before the rollout every failure stops; during it, max_fail decides, and a whole failed batch always stops.
        if (phase.hosts !== 'rolling' || failedHosts.length > this.ctx.rollout.maxFail || failed.length === batch.length) {
          error = first;
          break;
        }
        // Within max_fail the rollout goes on, but no host stays half-switched: undo the failed ones now.
        this.ctx.log(null, `continuing: ${failedHosts.length} host(s) failed, rollout.max_fail is ${this.ctx.rollout.maxFail}; rolling back ${failed.map((h) => h.host.name).join(', ')}`);
        await this.rollbackHosts(failed, partial);
      }
      if (!error && this.stopRequested) error = `stopped: ${this.stopRequested}`;
    }
    const result: ApplyResult = { ok: !error, results: [...this.results], failedHosts, ...partial };
    if (error) {
      result.error = error;
      await this.rollbackHosts(this.touched.filter((h) => !partial.rolledBack.includes(h.host.name) && !partial.rollbackFailed.includes(h.host.name)), result);
      await this.rollbackFleet(result);
      result.results = [...this.results];
      throw new RunFailed(error, result);
    }
    return result;
  }

  /** Run one fleet step; returns an error message or undefined. */
  private async applyFleet(phaseName: string, entry: PlannedStep): Promise<string | undefined> {
    const step = this.steps[entry.step] as FleetStep; // the caller passes fleet steps only
    const t0 = Date.now();
    if (entry.plan!.action === 'none' || !step.apply) {
      this.record(phaseName, entry.step, null, 'unchanged', describe(entry.plan!), t0);
      return undefined;
    }
    try {
      // Recorded before the step runs, like host steps: a half-done fleet step is undone too.
      this.appliedFleet.push({ phase: phaseName, step: entry.step });
      const note = await step.apply(this.ctx, entry.plan!);
      this.record(phaseName, entry.step, null, entry.plan!.action === 'change' ? 'changed' : 'unchanged', note || describe(entry.plan!), t0);
      return undefined;
    } catch (err) {
      const error = detailFor(err);
      this.record(phaseName, entry.step, null, 'failed', error, t0);
      return error;
    }
  }

  /** Run one host's steps of a phase; returns an error message or undefined. */
  private async applyHost(h: HostContext, phaseName: string): Promise<string | undefined> {
    const entries = this.planned!.hosts[h.host.name]!.filter((e) => e.phase === phaseName);
    for (const entry of entries) {
      const step = this.steps[entry.step]!;
      if (step.scope !== 'host') continue;
      const t0 = Date.now();
      const p = entry.plan!;
      if (p.action === 'none' || !step.apply) {
        this.record(phaseName, entry.step, h.host.name, 'unchanged', describe(p), t0);
        continue;
      }
      if (this.stopRequested) return `stopped: ${this.stopRequested}`;
      try {
        if (!this.touched.includes(h)) this.touched.push(h);
        // Recorded before the step runs: a step that fails halfway is still undone.
        const done = this.applied.get(h.host.name) ?? new Set<string>();
        done.add(entry.step);
        this.applied.set(h.host.name, done);
        const note = await step.apply(h, p);
        this.record(phaseName, entry.step, h.host.name, p.action === 'change' ? 'changed' : 'unchanged', note || describe(p), t0);
      } catch (err) {
        const msg = detailFor(err, h.host.name);
        this.record(phaseName, entry.step, h.host.name, 'failed', msg, t0);
        return `${h.host.name}: ${msg}`;
      }
    }
    return undefined;
  }

  /**
   * Undo every changed host, one at a time in the order they were changed. Each host runs its
   * steps' rollbacks in playbook order, so files are restored before the container restarts.
   */
  private async rollbackHosts(hosts: HostContext[], result: { rolledBack: string[]; rollbackFailed: string[] }): Promise<void> {
    if (hosts.length === 0) return;
    const stage = this.stage;
    this.stage = 'rollback';
    this.emit({ type: 'stage', stage: 'rollback' });
    const order = this.playbook.phases.flatMap((p) => p.steps.map((s) => ({ phase: p.name, step: s })));
    for (const h of this.touched.filter((t) => hosts.includes(t))) {
      const done = this.applied.get(h.host.name) ?? new Set();
      let ok = true;
      for (const { phase, step: name } of order) {
        const step = this.steps[name]!;
        if (!done.has(name) || step.scope !== 'host' || !step.rollback) continue;
        const t0 = Date.now();
        try {
          const note = await step.rollback(h);
          this.record(phase, name, h.host.name, 'rolled-back', note || 'restored', t0);
        } catch (err) {
          ok = false;
          this.record(phase, name, h.host.name, 'rollback-failed', detailFor(err, h.host.name), t0);
        }
      }
      (ok ? result.rolledBack : result.rollbackFailed).push(h.host.name);
    }
    this.stage = stage;
    if (stage === 'apply') this.emit({ type: 'stage', stage: 'apply' });
  }

  /** Undo applied fleet steps (newest first), after the hosts. */
  private async rollbackFleet(result: { rolledBack: string[]; rollbackFailed: string[] }): Promise<void> {
    for (const { phase, step: name } of [...this.appliedFleet].reverse()) {
      const step = this.steps[name]!;
      if (step.scope !== 'fleet' || !step.rollback) continue;
      this.stage = 'rollback';
      const t0 = Date.now();
      try {
        const note = await step.rollback(this.ctx);
        this.record(phase, name, null, 'rolled-back', note || 'restored', t0);
      } catch (err) {
        result.rollbackFailed.push(`fleet:${name}`);
        this.record(phase, name, null, 'rollback-failed', detailFor(err), t0);
      }
    }
  }

  private record(phase: string, step: string, host: string | null, outcome: Outcome, detail: string, t0: number): void {
    const result: StepResult = { stage: this.stage, phase, step, host, outcome, detail, durationMs: Date.now() - t0 };
    this.results.push(result);
    this.emit({ type: 'step', result });
  }
}

type Settled = ({ plan: StepPlan } | { error: unknown }) & { ms: number };

/** Run a plan now; its answer or its error, never a rejection (early plans may go unread). */
async function settle(plan: () => Promise<StepPlan>): Promise<Settled> {
  const t0 = Date.now();
  try {
    const p = await plan();
    return { plan: p, ms: Date.now() - t0 };
  } catch (error) {
    return { error, ms: Date.now() - t0 };
  }
}

function describe(p: StepPlan): string {
  return p.action === 'none' ? p.reason : p.action === 'check' ? `will check: ${p.summary}` : p.summary;
}


function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
