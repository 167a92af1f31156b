/**
 * What steps decide and what the runner reports: plain data shared by the runner, the journal and
 * the renderers. A leaf module (imports nothing), so every layer can name these types.
 */

/** One outcome type for every step (STYLE.md principle 7). */
export type Outcome = 'changed' | 'unchanged' | 'skipped' | 'failed' | 'rolled-back' | 'rollback-failed';

/** What a step would do on a host, decided read-only. */
export type StepPlan =
  | { action: 'change'; summary: string; diff?: string }
  | { action: 'check'; summary: string }
  | { action: 'none'; reason: string };

/** What undoing one recorded change would do now, decided read-only (refuse: it cannot be undone safely). */
export type UndoPlan =
  | { action: 'undo'; summary: string }
  | { action: 'none'; reason: string }
  | { action: 'refuse'; reason: string };

/** A step's result on a host (or fleet-wide when host is null), for renderers and the JSON report. */
export interface StepResult {
  /** plan: what would happen (changed = would change); apply and rollback: what happened. */
  stage: 'plan' | 'apply' | 'rollback';
  phase: string;
  step: string;
  host: string | null;
  outcome: Outcome;
  detail: string;
  durationMs: number;
}

/** Sessions copied from the old backend in one pass (counts only, never a key). */
export interface CarryCounts {
  pass: 1 | 2;
  live: number;
  carried: number;
  unchanged: number;
  newer: number;
  expired: number;
  failed: number;
  /** Copies dropped because the user logged out of the old backend meanwhile (pass 2). */
  forgotten: number;
  seconds: number;
}

/** The text a plan shows for a step. */
export function describePlan(p: StepPlan | UndoPlan): string {
  if (p.action === 'none' || p.action === 'refuse') return p.reason;
  return p.action === 'check' ? `will check: ${p.summary}` : p.summary;
}
