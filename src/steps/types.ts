/**
 * The step contract. A step reads facts, decides read-only (`plan`), changes (`apply`) and knows how
 * to undo what it changed (`undo`). Data flows forward as named, typed values: a step declares the
 * values it `needs` and the values it `gives`; the runner hands each step exactly what it declared,
 * and the playbook loader refuses an order in which a value is needed before a step gives it.
 */
import type { HostConfig, RolloutConfig } from '../inventory/types.js';
import type { HostFacts } from '../facts/gather.js';
import type { HorizonFacts } from '../facts/horizon.js';
import type { Engine } from '../transport/types.js';
import type { FileSnapshot, HostFiles } from '../transport/hostfs.js';
import type { Desired } from '../backends/types.js';
import type { InstalledLibrary, LibraryAfterRun } from '../backends/libraries.js';
import type { Journal } from '../journal/journal.js';
import type { BeforeBackend, FileRecord, JournalRecord } from '../journal/records.js';
import type { FileAction, HostAction } from '../journal/rollback-plan.js';
import type { CarryCounts, StepPlan, UndoPlan } from '../runner/results.js';
import type { Balancers } from '../facts/balancers.js';

/** How a host loads new settings: a graceful reload of its web server, or a restart of its container. */
export type LoadMethod = 'reload' | 'restart';

/** A Dashboard host's server in one backend of one load balancer, drained around its restart. */
export interface Drain {
  /** The inventory host HAProxy runs on. */
  lb: string;
  backend: string;
  server: string;
}

/** A settings file a step patches: its bytes now and the text it will hold (the same text when nothing changes). */
export interface SettingsChange {
  path: string;
  before: FileSnapshot | null;
  after: string;
  changed: boolean;
}

/** A Dashboard host's settings file, and whether the run switches that host (its Horizon does not run the wanted settings yet). */
export interface HostSettingsChange extends SettingsChange {
  switches: boolean;
}

/**
 * A file on the deploy host that kolla-ansible renders into /etc/kolla/horizon/ of some Dashboard
 * hosts (the first found of `<dir>/<host>/_9999-custom-settings.py` and `<dir>/_9999-custom-settings.py`).
 */
export interface DeployFileChange extends SettingsChange {
  /** 'host': a host's own file, read by that host only; 'shared': read by every host without its own. */
  kind: 'host' | 'shared';
  /** The Dashboard hosts of this run that read it. */
  readBy: string[];
  /** Dashboard hosts of the inventory outside this run that read it too (shared file only). */
  alsoReadBy: string[];
  /** The plan's diff of it, secrets masked ('' when unchanged). */
  diff: string;
}

/** Where live sessions are copied from, when they are (carry-sessions' plan). */
export interface CarryRoute {
  /** The host whose container does the copying. */
  carrier: HostContext;
  /** Its settings file: `before` is the old backend, our block the new one. */
  settings: HostSettingsChange;
  /** The old backend, for messages (no secrets). */
  from: string;
}

/** What the first carry pass did: its counts, and each copy as sha256 of the session key -> the expiry written. */
export interface CarryLedger {
  counts: CarryCounts;
  entries: Record<string, number | null>;
}

/** Values a host step gives to later steps on the same host (and to fleet steps, per host). */
export interface HostValues {
  /** patch-settings (plan): the settings file of this host, its text after the run, and whether the host switches. */
  settings: HostSettingsChange;
  /** restart (plan): how this host loads the new settings in this run (then it is gated, verified and proven), or false. */
  method: LoadMethod | false;
  /** restart (plan): where the host is drained around its restart (none: a reload, no load balancer, or no drain possible). */
  drain: Drain[];
  /** health-gate (apply): what Django resolves in the container once the settings are loaded, read right after the 200. */
  restarted: HorizonFacts;
  /** install-client-library (plan): the target backend's client libraries after the run: from the image or only the container layer. */
  libraries: LibraryAfterRun[];
  /** install-client-library (apply): what imports after its install. */
  installed: InstalledLibrary;
  /** backend-reachable (plan): what the operator is told about the target before confirming (sessions lost when it restarts), or null. */
  backendWarning: string | null;
}

/** Values a fleet step gives to later fleet steps. */
export interface FleetValues {
  /** kolla-override (plan): each deploy-host file some host of the run reads, written or not (no deploy host: none). */
  deployFile: DeployFileChange[];
  /** carry-sessions (plan): where sessions are copied from (route null: they are not, and why when it was asked). */
  carry: { route: CarryRoute | null; cannot?: string };
  /** carry-sessions (apply): the copies the first pass made. */
  carried: CarryLedger;
  /** carry-sessions-again (apply): what the second pass copied. */
  carriedAgain: CarryCounts;
}

export type HostKey = keyof HostValues;
export type FleetKey = keyof FleetValues;
export type ValueKey = HostKey | FleetKey;
export type Values = HostValues & FleetValues;

/** Values given by a step's apply; every other value is given by its plan. */
export type ApplyKey = 'restarted' | 'installed' | 'carried' | 'carriedAgain';

/** Each value's scope and the stage that gives it: what the playbook loader checks an order against. */
export const VALUES: Record<ValueKey, { scope: 'host' | 'fleet'; stage: 'plan' | 'apply' }> = {
  settings: { scope: 'host', stage: 'plan' },
  method: { scope: 'host', stage: 'plan' },
  drain: { scope: 'host', stage: 'plan' },
  restarted: { scope: 'host', stage: 'apply' },
  libraries: { scope: 'host', stage: 'plan' },
  installed: { scope: 'host', stage: 'apply' },
  backendWarning: { scope: 'host', stage: 'plan' },
  deployFile: { scope: 'fleet', stage: 'plan' },
  carry: { scope: 'fleet', stage: 'plan' },
  carried: { scope: 'fleet', stage: 'apply' },
  carriedAgain: { scope: 'fleet', stage: 'apply' },
};

/** The run as every step sees it: read-only. */
export interface RunInfo {
  id: string;
  mode: 'plan' | 'apply';
  desired: Desired;
  rollout: RolloutConfig;
  log(host: string | null, line: string): void;
  /** Per-step waits (seconds), overridable for slow hosts. */
  timeouts: { health: number };
  /** The inventory's load balancers as read at the start (absent: none in the inventory). */
  balancers?: Balancers;
  /** apply: the run journal; the runner journals each undo record before the change it announces. */
  journal?: Journal;
}

/** What loading settings into one host and gating it needs: a step's HostContext and an undo's target both fit. */
export interface RestartTarget {
  host: HostConfig;
  engine: Engine;
  run: Pick<RunInfo, 'timeouts' | 'journal' | 'balancers'>;
  /** Horizon's login page as the container's web server serves it (see loginUrl). */
  loginUrl: string;
}

/** Everything a step may use on one host. Steps never open connections. */
export interface HostContext {
  run: RunInfo;
  host: HostConfig;
  facts: HostFacts;
  engine: Engine;
  files: HostFiles;
}

/** The Kolla deploy host, whose overrides survive `kolla-ansible reconfigure`. */
export interface DeployHost {
  name: string;
  files: HostFiles;
  /** <kolla.config_dir>/horizon there: the folder of the shared override and of the per-host ones. */
  dir: string;
  /** Every Dashboard host of the inventory, in this run or not (kolla-ansible's inventory_hostname). */
  dashboards: string[];
}

export interface FleetContext {
  run: RunInfo;
  hosts: HostContext[];
  deploy?: DeployHost;
}

/** Where an undo runs: a host's files and, for a Dashboard host, its container engine. */
export interface UndoTarget {
  name: string;
  host?: HostConfig;
  files?: HostFiles;
  engine?: Engine;
}

/** What every undo may use: the target, the run's waits and journal, whether --force was given, and whether --restart was (restart instead of reload). */
export interface UndoContext {
  target: UndoTarget;
  run: Pick<RunInfo, 'timeouts' | 'journal' | 'balancers'> & { id: string; force: boolean; restart?: boolean };
}

/** A change recorded by a step's apply before it made it: what its undo needs. */
export interface UndoEntry<R = unknown> {
  target: UndoTarget;
  step: string;
  record: R;
}

/** How a step undoes a change: decide read-only first (so a later rollback can show and confirm it), then act. */
export interface Undo<R> {
  /**
   * The journal record announcing the change (fsync'd before it), from which a later `sessionctl
   * rollback` rebuilds this undo. Absent: the record lives in memory only and undoes within the run.
   */
  journal?(record: R, target: string): JournalRecord;
  plan(ctx: UndoContext, record: R): Promise<PlannedUndo>;
  apply(ctx: UndoContext, record: R, plan: PlannedUndo): Promise<string>;
}

/** An undo's plan, with what `sessionctl rollback` shows of it (a file's action, a host's restart). */
export type PlannedUndo = UndoPlan & { file?: FileAction; restart?: HostAction };

/** A host step's plan: its StepPlan, and the values it declared it gives. */
export type Planned<G extends ValueKey> = StepPlan & ([G] extends [never] ? unknown : { gives: Pick<Values, G> });
/** A step's apply: a note for the report, and the values it declared its apply gives. */
export type Applied<G extends ValueKey> = [G] extends [never] ? string | void : { note: string; gives: Pick<Values, G> };

type PlanGives<G extends ValueKey> = Exclude<G, ApplyKey>;
type ApplyGives<G extends ValueKey> = Extract<G, ApplyKey>;

/** What a fleet step gets: its fleet values, and each host's context with that host's values. */
export type FleetInput<N extends ValueKey> = Pick<FleetValues, Extract<N, FleetKey>> & {
  hosts: (Pick<HostValues, Extract<N, HostKey>> & { ctx: HostContext })[];
};

export interface HostStepDef<N extends HostKey, G extends HostKey, R> {
  title: string;
  needs: readonly N[];
  gives: readonly G[];
  /** Read-only; runs in plan and apply. Throws HostError to fail the host. */
  plan(ctx: HostContext, input: Pick<HostValues, Exclude<N, ApplyKey>>): Promise<Planned<PlanGives<G>>>;
  /**
   * Runs in apply for 'change' and 'check' plans. `remember` records what undoes the change (and
   * journals it) before the step makes it: a step that fails halfway is still undone.
   */
  apply?(
    ctx: HostContext,
    input: Pick<HostValues, N | PlanGives<G>> & { plan: StepPlan },
    remember: (record: R) => void,
  ): Promise<Applied<ApplyGives<G>>>;
  undo?: Undo<R>;
}

export interface FleetStepDef<N extends ValueKey, G extends FleetKey, R> {
  title: string;
  needs: readonly N[];
  gives: readonly G[];
  plan(ctx: FleetContext, input: FleetInput<Exclude<N, ApplyKey>>): Promise<Planned<PlanGives<G>>>;
  /** `remember(record, target)`: target defaults to the fleet (no host), e.g. the deploy host's file names its host. */
  apply?(
    ctx: FleetContext,
    input: FleetInput<N> & Pick<FleetValues, PlanGives<G>> & { plan: StepPlan },
    remember: (record: R, target?: UndoTarget) => void,
  ): Promise<Applied<ApplyGives<G>>>;
  undo?: Undo<R>;
}

// The runner handles every step alike, so it sees them with their value types erased: what the
// definitions type statically, the playbook loader checks for an order and the runner at run time.
export type HostStep = HostStepDef<HostKey, HostKey, any> & { scope: 'host' };
export type FleetStep = FleetStepDef<ValueKey, FleetKey, any> & { scope: 'fleet' };
export type Step = HostStep | FleetStep;

/** Define a host step; `needs` and `gives` type its input and its plan's answer. */
export function hostStep<const N extends HostKey = never, const G extends HostKey = never, R = never>(def: HostStepDef<N, G, R>): HostStep {
  return { ...def, scope: 'host' } as unknown as HostStep;
}

/** Define a fleet step; `needs` and `gives` type its input and its plan's answer. */
export function fleetStep<const N extends ValueKey = never, const G extends FleetKey = never, R = never>(def: FleetStepDef<N, G, R>): FleetStep {
  return { ...def, scope: 'fleet' } as unknown as FleetStep;
}

/** The undo record of a settings file write (the journal's file record). */
export type FileUndo = FileRecord;

/** The undo record of loading the settings: the backend that must be effective again afterwards. */
export interface RestartUndo {
  container: string;
  /** What Django resolved before the run (null: unknown; then only health is checked). */
  before: BeforeBackend | null;
  /** The run loaded the new settings into it (and no rollback loaded the old ones since). */
  restarted: boolean;
  /** How the run loaded them (absent in journals older than reloads: restart). */
  method?: LoadMethod;
  /** reload: the files (names in the Kolla config dir) copied into the container. */
  files?: string[];
  /** restart: where it was drained first (the rollback drains it the same way and sets it ready). */
  drains?: Drain[];
  /** The login page the health gate waits for (unset in journals older than this field: the host's default). */
  loginUrl?: string;
}
