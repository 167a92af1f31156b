import type { HostConfig, InstallConfig, RolloutConfig } from '../inventory/types.js';
import type { HostFacts } from '../facts/gather.js';
import type { HorizonFacts } from '../facts/horizon.js';
import type { SshConnection } from '../transport/ssh.js';
import type { Engine } from '../transport/types.js';
import type { HostFiles, FileSnapshot } from '../transport/hostfs.js';
import type { BackendTarget } from '../backends/types.js';
import type { SettingsBlock } from '../settings/block.js';
import type { Journal } from '../journal/journal.js';

/** One outcome type for every step (STYLE.md principle 7). */
export type Outcome = 'changed' | 'unchanged' | 'skipped' | 'failed' | 'rolled-back' | 'rollback-failed';

/** What a step would do on a host, decided read-only. */
export type StepPlan =
  | { action: 'change'; summary: string; diff?: string }
  | { action: 'check'; summary: string }
  | { action: 'none'; reason: string };

/** The backend the run switches to, with everything resolved (secrets included, never logged). */
export interface Desired {
  target: BackendTarget;
  /** Names the managed block owns; earlier assignments of these are neutralised. */
  owned: string[];
  /** Session expiry and cookie settings written in the same block (empty: left as they are). */
  security: SettingsBlock;
  install: InstallConfig;
  /** Told to the operator with the plan (e.g. signed cookies are for development only). */
  warnings: string[];
  /** Copy live sessions from the old backend into the new one (--no-carry-sessions: false). */
  carry: boolean;
}

/** Sessions copied from the old backend, per pass, and what the copies were (for their undo). */
export interface CarryState {
  /** The old backend, for messages (no secrets). */
  from: string;
  passes: CarryCounts[];
  /** sha256 digest of each session key written -> the expiry it was written with (epoch s, null = none). */
  ledger: Record<string, number | null>;
}

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

/** What the run learned and did on one host; the rollback reads it. */
export interface HostState {
  facts: HostFacts;
  /** The settings file we patch: its bytes before and the text we write. */
  settings?: { path: string; before: FileSnapshot | null; after: string; diff: string };
  backup?: string;
  /** sha256 of what we wrote, to check before undoing. */
  written?: string;
  installed?: string;
  restarted: boolean;
  /** What Django resolved in the restarted container, read by the health gate right after the 200. */
  afterRestart?: HorizonFacts;
  /** Already patched (earlier run) but the running Horizon does not use it yet. */
  needsRestart?: boolean;
  /** The step names that planned a change on this host. */
  changes: string[];
}

/** Everything a step may use on one host. Steps never open connections. */
export interface HostContext {
  run: RunContext;
  host: HostConfig;
  ssh: SshConnection;
  engine: Engine;
  files: HostFiles;
  state: HostState;
}

export interface RunContext {
  id: string;
  mode: 'plan' | 'apply';
  desired: Desired;
  rollout: RolloutConfig;
  /** Every Dashboard host's context, for fleet-wide steps. */
  hosts: HostContext[];
  /** Extra files for the wheelhouse install method (local paths). */
  wheelhouse?: string;
  log(host: string | null, line: string): void;
  /** Per-step waits (seconds), overridable for slow hosts. */
  timeouts: { health: number };
  /** Set when the inventory names kolla.deploy_host. */
  deploy?: DeployHost;
  /** apply: the run journal; steps record each remote change in it before making it. */
  journal?: Journal;
  /** Set by the carry-sessions plan when live sessions will be copied. */
  carry?: CarryState;
}

export interface HostStep {
  scope: 'host';
  title: string;
  /** Read-only; runs in plan and apply. Throws HostError to fail the host. */
  plan(ctx: HostContext): Promise<StepPlan>;
  /** Runs in apply for 'change' and 'check' plans. Returns a note for the report. */
  apply?(ctx: HostContext, plan: StepPlan): Promise<string | void>;
  /** Undo what apply did on this host (checked before undoing, run once). */
  rollback?(ctx: HostContext): Promise<string | void>;
}

export interface FleetStep {
  scope: 'fleet';
  title: string;
  plan(ctx: RunContext): Promise<StepPlan>;
  apply?(ctx: RunContext, plan: StepPlan): Promise<string | void>;
  /** Undo apply (after every host was rolled back). */
  rollback?(ctx: RunContext): Promise<string | void>;
}

/** The Kolla deploy host, whose override survives `kolla-ansible reconfigure`. */
export interface DeployHost {
  name: string;
  files: HostFiles;
  /** <kolla.config_dir>/horizon/_9999-custom-settings.py there. */
  path: string;
  /** Filled by the step: what it read, will write, and did write. */
  before?: FileSnapshot | null;
  after?: string;
  backup?: string;
  written?: string;
}

export type Step = HostStep | FleetStep;

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
