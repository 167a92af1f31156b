import { SessionctlError, ExitCode, InternalError, detailFor } from '../errors.js';
import type { Playbook } from '../playbook/load.js';
import { VALUES, type FleetContext, type FleetStep, type FleetValues, type HostContext, type HostStep, type HostValues, type Step, type UndoEntry, type UndoTarget } from '../steps/types.js';
import { describePlan, type Outcome, type StepPlan, type StepResult } from './results.js';
import { planUndo, applyUndo, type UndoRun } from './undo.js';

/** Events the runner emits; renderers (TTY, plain, JSON) subscribe, the runner prints nothing. */
export type RunEvent =
  | { type: 'stage'; stage: 'plan' | 'apply' | 'rollback' }
  | { type: 'phase'; phase: string; stage: 'plan' | 'apply' | 'rollback' }
  | { type: 'step'; result: StepResult }
  /** A step that changes something starts applying (its result follows as a 'step' event): renderers show how long it has taken. */
  | { type: 'start'; stage: 'apply' | 'rollback'; phase: string; step: string; host: string | null; title: string }
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
  /** Some step plans a change (false: the run has nothing to do). */
  changes: boolean;
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
  constructor(
    message: string,
    readonly result: ApplyResult,
  ) {
    super(message, ExitCode.hostFailed);
  }
}

/** The target of fleet-wide undos that belong to no host (e.g. the carried sessions). */
const FLEET: UndoTarget = { name: 'fleet' };

/**
 * Executes a playbook: every step's plan first (read-only), then apply phase by phase with the
 * playbook's host ordering, then the undo of every recorded change when something fails.
 * Values flow as the steps declare them: what a plan gives is kept per host (or for the fleet) and
 * handed to the later steps that need it; nothing else passes between steps.
 */
export class Runner {
  private readonly results: StepResult[] = [];
  private planned: RunPlan | undefined;
  private readonly hostValues = new Map<string, Partial<HostValues>>();
  private readonly fleetValues: Partial<FleetValues> = {};
  /** Every change applied so far, with what undoes it, in the order they were made. */
  private readonly undos: UndoEntry[] = [];
  private stopRequested: string | undefined;
  private stage: StepResult['stage'] = 'plan';

  constructor(
    private readonly playbook: Playbook,
    private readonly steps: Record<string, Step>,
    private readonly ctx: FleetContext,
    private readonly emit: (e: RunEvent) => void,
  ) {
    for (const h of ctx.hosts) this.hostValues.set(h.host.name, {});
  }

  /** A fleet value a step gave (for the report and the confirmation), once its step planned or applied. */
  value<K extends keyof FleetValues>(key: K): FleetValues[K] | undefined {
    return this.fleetValues[key];
  }

  /** A host value a step gave (for the report and the confirmation), once its step planned or applied. */
  hostValue<K extends keyof HostValues>(host: string, key: K): HostValues[K] | undefined {
    return this.hostValues.get(host)?.[key];
  }

  /** Ask the runner to stop at the next step boundary (Ctrl-C, SIGTERM) and roll back. */
  requestStop(reason: string): void {
    this.stopRequested ??= reason;
  }

  async plan(): Promise<RunPlan> {
    const plan: RunPlan = { hosts: {}, fleet: [], failed: [], changes: false };
    for (const h of this.ctx.hosts) plan.hosts[h.host.name] = [];
    const broken = new Set<string>();
    // Read-only plans of independent phases start on every host at once: the slow ones (a check
    // inside the container, a file read) overlap instead of adding up. They need no value (the
    // loader checks it). A host that fails an earlier step still reports the later ones as skipped.
    const early = new Map<HostContext, Map<string, Promise<Settled>>>();
    for (const h of this.ctx.hosts) {
      const started = new Map<string, Promise<Settled>>();
      for (const phase of this.playbook.phases.filter((p) => p.independent)) {
        for (const name of phase.steps) {
          const step = this.steps[name]!;
          if (step.scope === 'host') started.set(`${phase.name}/${name}`, settle(() => step.plan(h, {} as never)));
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
          const step = this.steps[name] as FleetStep;
          const entry: PlannedStep = { phase: phase.name, step: name, title: step.title };
          plan.fleet.push(entry);
          const t0 = Date.now();
          if (broken.size) {
            // A fleet step over hosts that already failed would only repeat their errors.
            entry.plan = { action: 'none', reason: 'skipped: a host failed earlier' };
            this.record(phase.name, name, null, 'skipped', entry.plan.reason, t0);
            continue;
          }
          const outcome = await settle(() => step.plan(this.ctx, this.fleetInput(step, 'plan') as never));
          try {
            if ('plan' in outcome) entry.plan = this.keep(step, name, outcome.plan, this.fleetValues);
            else throw outcome.error;
          } catch (err) {
            entry.error = detailFor(err);
            broken.add('fleet');
            plan.failed.push({ host: null, step: name, message: entry.error });
            this.record(phase.name, name, null, 'failed', entry.error, t0);
            continue;
          }
          if (entry.plan.action === 'change') plan.changes = true;
          this.record(phase.name, name, null, entry.plan.action === 'change' ? 'changed' : 'unchanged', describePlan(entry.plan), t0);
        }
        continue;
      }
      await Promise.all(
        this.ctx.hosts.map(async (h) => {
          const values = this.hostValues.get(h.host.name)!;
          for (const name of phase.steps) {
            const step = this.steps[name] as HostStep;
            const entry: PlannedStep = { phase: phase.name, step: name, title: step.title };
            plan.hosts[h.host.name]!.push(entry);
            const t0 = Date.now();
            if (broken.has(h.host.name)) {
              entry.plan = { action: 'none', reason: 'skipped: an earlier step failed on this host' };
              this.record(phase.name, name, h.host.name, 'skipped', entry.plan.reason, t0);
              continue;
            }
            const ahead = early.get(h)?.get(`${phase.name}/${name}`);
            const outcome = ahead ? await ahead : await settle(() => step.plan(h, pick(values, planNeeds(step), name) as never));
            const took = Date.now() - outcome.ms; // the step's own time, not its wait for its turn
            if ('plan' in outcome) {
              try {
                entry.plan = this.keep(step, name, outcome.plan, values);
              } catch (err) {
                entry.error = detailFor(err, h.host.name);
              }
            } else {
              entry.error = detailFor(outcome.error, h.host.name);
            }
            if (entry.plan) {
              if (entry.plan.action === 'change') plan.changes = true;
              this.record(phase.name, name, h.host.name, entry.plan.action === 'change' ? 'changed' : 'unchanged', describePlan(entry.plan), took);
            } else {
              broken.add(h.host.name);
              plan.failed.push({ host: h.host.name, step: name, message: entry.error! });
              this.record(phase.name, name, h.host.name, 'failed', entry.error!, took);
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
    if (!plan || plan.failed.length) throw new InternalError('apply needs a successful plan first');
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
        const entries = plan.fleet.filter((e) => e.phase === phase.name);
        if (phase.concurrent) {
          error = (await Promise.all(entries.map((e) => this.applyFleet(phase.name, e)))).find((e) => e !== undefined);
        } else {
          for (const entry of entries) if ((error = await this.applyFleet(phase.name, entry))) break;
        }
        continue;
      }
      const batches = phase.hosts === 'rolling' ? chunk(this.ctx.hosts, this.ctx.run.rollout.serial) : [this.ctx.hosts];
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
        if (phase.hosts !== 'rolling' || failedHosts.length > this.ctx.run.rollout.maxFail || failed.length === batch.length) {
          error = first;
          break;
        }
        // Within max_fail the rollout goes on, but no host stays half-switched: undo the failed ones now.
        this.ctx.run.log(null, `continuing: ${failedHosts.length} host(s) failed, rollout.max_fail is ${this.ctx.run.rollout.maxFail}; rolling back ${failed.map((h) => h.host.name).join(', ')}`);
        await this.rollBack(failed.map((h) => h.host.name), partial);
      }
      if (!error && this.stopRequested) error = `stopped: ${this.stopRequested}`;
    }
    const result: ApplyResult = { ok: !error, results: [...this.results], failedHosts, ...partial };
    if (error) {
      result.error = error;
      const done = new Set([...partial.rolledBack, ...partial.rollbackFailed]);
      await this.rollBack(
        [...new Set(this.undos.map((u) => u.target.name))].filter((name) => !done.has(name)),
        result,
      );
      result.results = [...this.results];
      throw new RunFailed(error, result);
    }
    return result;
  }

  /** Run one fleet step; returns an error message or undefined. */
  private async applyFleet(phaseName: string, entry: PlannedStep): Promise<string | undefined> {
    const step = this.steps[entry.step] as FleetStep;
    const t0 = Date.now();
    const p = entry.plan!;
    if (p.action === 'none' || !step.apply) {
      this.record(phaseName, entry.step, null, 'unchanged', describePlan(p), t0);
      return undefined;
    }
    this.emit({ type: 'start', stage: 'apply', phase: phaseName, step: entry.step, host: null, title: entry.title });
    try {
      const input = { ...this.fleetInput(step, 'apply'), plan: p };
      const done = await step.apply(this.ctx, input as never, (record, target = FLEET) => this.remember(step, entry.step, target, record));
      const note = this.keepApplied(step, entry.step, done, this.fleetValues);
      this.record(phaseName, entry.step, null, p.action === 'change' ? 'changed' : 'unchanged', note || describePlan(p), t0);
      return undefined;
    } catch (err) {
      const error = detailFor(err);
      this.record(phaseName, entry.step, null, 'failed', error, t0);
      return error;
    }
  }

  /** Run one host's steps of a phase; returns an error message or undefined. */
  private async applyHost(h: HostContext, phaseName: string): Promise<string | undefined> {
    const values = this.hostValues.get(h.host.name)!;
    const target: UndoTarget = { name: h.host.name, host: h.host, files: h.files, engine: h.engine };
    for (const entry of this.planned!.hosts[h.host.name]!.filter((e) => e.phase === phaseName)) {
      const step = this.steps[entry.step] as HostStep;
      const t0 = Date.now();
      const p = entry.plan!;
      if (p.action === 'none' || !step.apply) {
        this.record(phaseName, entry.step, h.host.name, 'unchanged', describePlan(p), t0);
        continue;
      }
      if (this.stopRequested) return `stopped: ${this.stopRequested}`;
      this.emit({ type: 'start', stage: 'apply', phase: phaseName, step: entry.step, host: h.host.name, title: entry.title });
      try {
        const input = { ...pick(values, [...step.needs, ...planGives(step)], entry.step), plan: p };
        const done = await step.apply(h, input as never, (record) => this.remember(step, entry.step, target, record));
        const note = this.keepApplied(step, entry.step, done, values);
        this.record(phaseName, entry.step, h.host.name, p.action === 'change' ? 'changed' : 'unchanged', note || describePlan(p), t0);
      } catch (err) {
        const msg = detailFor(err, h.host.name);
        this.record(phaseName, entry.step, h.host.name, 'failed', msg, t0);
        return `${h.host.name}: ${msg}`;
      }
    }
    return undefined;
  }

  /** A step announces a change before making it: journal it (when the step's undo is journaled) and keep its undo. */
  private remember(step: Step, name: string, target: UndoTarget, record: unknown): void {
    if (!step.undo) throw new InternalError(`step ${name} recorded a change but has no undo`);
    const announced = step.undo.journal?.(record, target.name);
    if (announced) this.ctx.run.journal?.append(announced);
    this.undos.push({ target, step: name, record });
  }

  /**
   * Undo the recorded changes of these targets (hosts, the deploy host, the fleet) with the one
   * undo engine `sessionctl rollback` uses: one target at a time, in the order they were first
   * changed, each target's undos in playbook order (files before the restart).
   */
  private async rollBack(targets: string[], result: { rolledBack: string[]; rollbackFailed: string[] }): Promise<void> {
    const entries = this.undos.filter((u) => targets.includes(u.target.name));
    if (entries.length === 0) return;
    const stage = this.stage;
    this.stage = 'rollback';
    this.emit({ type: 'stage', stage: 'rollback' });
    const run: UndoRun = {
      steps: this.steps,
      order: this.playbook.phases.flatMap((p) => p.steps.map((s) => ({ phase: p.name, step: s }))),
      ctx: { id: this.ctx.run.id, force: false, timeouts: this.ctx.run.timeouts, ...(this.ctx.run.journal ? { journal: this.ctx.run.journal } : {}), ...(this.ctx.run.balancers ? { balancers: this.ctx.run.balancers } : {}) },
      record: (phase, step, host, outcome, detail, t0) => this.record(phase, step, host, outcome, detail, t0),
    };
    // Hosts by name; targets with fleet undos only (the deploy host's override, the carried sessions) only when they fail.
    for (const t of (await applyUndo(run, await planUndo(run, entries))).targets) {
      if (!t.ok) result.rollbackFailed.push(t.fleetOnly ? `fleet:${t.failedStep}` : t.name);
      else if (!t.fleetOnly) result.rolledBack.push(t.name);
    }
    this.stage = stage;
    if (stage === 'apply') this.emit({ type: 'stage', stage: 'apply' });
  }

  /** The values a fleet step declared, with every host's. */
  private fleetInput(step: FleetStep, stage: 'plan' | 'apply'): Record<string, unknown> {
    const needs = stage === 'plan' ? planNeeds(step) : step.needs;
    const fleetNeeds = needs.filter((k) => VALUES[k].scope === 'fleet');
    const hostNeeds = needs.filter((k) => VALUES[k].scope === 'host');
    const own = stage === 'apply' ? planGives(step) : [];
    return {
      ...pick(this.fleetValues, [...fleetNeeds, ...own], step.title),
      hosts: this.ctx.hosts.map((h) => ({ ctx: h, ...pick(this.hostValues.get(h.host.name)!, hostNeeds, step.title) })),
    };
  }

  /** Keep the values a plan gives (every one it declared) and return the bare plan. */
  private keep(step: Step, name: string, planned: StepPlan & { gives?: Record<string, unknown> }, into: Record<string, unknown>): StepPlan {
    const { gives, ...plan } = planned;
    for (const key of planGives(step)) {
      if (!gives || !(key in gives)) throw new InternalError(`step ${name} declares it gives '${key}' but its plan did not`);
      into[key] = gives[key];
    }
    return plan as StepPlan;
  }

  /** Keep the values an apply gives and return its note. */
  private keepApplied(step: Step, name: string, done: unknown, into: Record<string, unknown>): string {
    const keys = step.gives.filter((k) => VALUES[k].stage === 'apply');
    if (keys.length === 0) return (done as string | void) || '';
    const { note, gives } = done as { note: string; gives: Record<string, unknown> };
    for (const key of keys) {
      if (!(key in gives)) throw new InternalError(`step ${name} declares its apply gives '${key}' but it did not`);
      into[key] = gives[key];
    }
    return note;
  }

  private record(phase: string, step: string, host: string | null, outcome: Outcome, detail: string, t0: number): void {
    const result: StepResult = { stage: this.stage, phase, step, host, outcome, detail, durationMs: Date.now() - t0 };
    this.results.push(result);
    this.emit({ type: 'step', result });
  }
}

const planNeeds = (step: Step) => step.needs.filter((k) => VALUES[k].stage === 'plan');
const planGives = (step: Step) => step.gives.filter((k) => VALUES[k].stage === 'plan');

/** The declared values, all of them: a missing one is a bug in the playbook check or a step. */
function pick(values: Record<string, unknown>, keys: readonly string[], who: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    if (!(key in values)) throw new InternalError(`step ${who} needs '${key}', which no earlier step gave`);
    out[key] = values[key];
  }
  return out;
}

type Settled = ({ plan: StepPlan & { gives?: Record<string, unknown> } } | { error: unknown }) & { ms: number };

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

function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
