/**
 * The one undo engine. The automatic rollback of a failed run and a later `sessionctl rollback`
 * both drive the steps' own undos through it: read-only plans first (what each undo would do now,
 * or why it must not), then one target at a time, each target's undos in playbook order.
 * They differ only in where the records come from: the run's memory, or its journal.
 */
import { HostUnreachableError, detailFor } from '../errors.js';
import type { Outcome } from './results.js';
import type { PlannedUndo, Step, UndoContext, UndoEntry } from '../steps/types.js';

export interface UndoRun {
  steps: Record<string, Step>;
  /** Every step of the playbook in order, with its phase. */
  order: { phase: string; step: string }[];
  ctx: UndoContext['run'];
  /** `host`: the result's host (null for a fleet step's undo); `entry`: the change it undid (its target, its record). */
  record(phase: string, step: string, host: string | null, outcome: Outcome, detail: string, t0: number, entry: UndoEntry): void;
}

export interface UndoPlanned {
  entry: UndoEntry;
  phase: string;
  plan?: PlannedUndo;
  error?: string;
  /** The error itself, for its class (an unreachable host is exit 4). */
  cause?: unknown;
}

export interface Undone {
  /** Per target, in the order undone: did every undo succeed, and the first that failed. */
  targets: { name: string; ok: boolean; failedStep?: string; fleetOnly: boolean }[];
  /** Some undo failed because its host could not be reached. */
  unreachable: boolean;
}

/** Pure: entries grouped by target (in the order the targets were first changed), each group in playbook order. */
export function undoOrder(entries: UndoEntry[], order: UndoRun['order']): UndoEntry[][] {
  const rank = (step: string) => order.findIndex((o) => o.step === step);
  const groups = new Map<string, UndoEntry[]>();
  for (const e of entries) groups.set(e.target.name, [...(groups.get(e.target.name) ?? []), e]);
  return [...groups.values()].map((g) => [...g].sort((a, b) => rank(a.step) - rank(b.step)));
}

/** Read-only: what every undo would do now; targets are asked at once. */
export async function planUndo(run: UndoRun, entries: UndoEntry[]): Promise<UndoPlanned[][]> {
  return Promise.all(
    undoOrder(entries, run.order).map(async (group) => {
      const planned: UndoPlanned[] = [];
      for (const entry of group) {
        const phase = run.order.find((o) => o.step === entry.step)?.phase ?? 'rollback';
        try {
          planned.push({ entry, phase, plan: await run.steps[entry.step]!.undo!.plan({ target: entry.target, run: run.ctx }, entry.record) });
        } catch (err) {
          planned.push({ entry, phase, error: detailFor(err, entry.target.name), cause: err });
        }
      }
      return planned;
    }),
  );
}

/**
 * Undo, one target at a time. A refused or failed undo stops that target's later undos (a restart
 * on a file that could not be restored would load the wrong settings); the other targets go on.
 */
export async function applyUndo(run: UndoRun, planned: UndoPlanned[][]): Promise<Undone> {
  const out: Undone = { targets: [], unreachable: false };
  for (const group of planned) {
    const name = group[0]!.entry.target.name;
    let failed: string | undefined;
    for (const { entry, phase, plan, error, cause } of group) {
      const t0 = Date.now();
      // A fleet step's undo is the fleet's result (e.g. the deploy host's override), named by its host.
      const fleet = run.steps[entry.step]!.scope === 'fleet';
      const host = fleet ? null : name;
      const label = (detail: string) => (fleet && entry.target.files ? `${name}: ${detail}` : detail);
      const fail = (detail: string, err?: unknown) => {
        if (err instanceof HostUnreachableError) out.unreachable = true;
        failed ??= entry.step;
        run.record(phase, entry.step, host, 'rollback-failed', label(detail), t0, entry);
      };
      if (failed) fail(`not undone: undoing ${failed} failed first`);
      else if (error !== undefined) fail(error, cause);
      else if (plan!.action === 'refuse') fail(plan!.reason);
      else if (plan!.action === 'none') run.record(phase, entry.step, host, 'rolled-back', label(plan!.reason), t0, entry);
      else {
        try {
          run.record(phase, entry.step, host, 'rolled-back', label(await run.steps[entry.step]!.undo!.apply({ target: entry.target, run: run.ctx }, entry.record, plan!)), t0, entry);
        } catch (err) {
          fail(detailFor(err, name), err);
        }
      }
    }
    const fleetOnly = group.every((p) => run.steps[p.entry.step]!.scope === 'fleet');
    out.targets.push({ name, ok: !failed, fleetOnly, ...(failed ? { failedStep: failed } : {}) });
  }
  return out;
}
