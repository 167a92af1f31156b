/**
 * The reports every command produces: plain data, rendered as text or JSON by src/report/. Commands
 * fill them; renderers only read them (so report/ never imports commands/).
 */
import type { CarryCounts, StepResult } from '../runner/results.js';
import type { FileAction, HostAction } from '../journal/rollback-plan.js';
import type { RunJournal, RunSummary } from '../journal/run.js';
import type { FileRecord, Sequenced } from '../journal/records.js';
import type { LibraryFact } from '../facts/libraries.js';
import type { ImageOverride, LayerOnlyLibrary } from '../backends/libraries.js';
import type { KollaDerived } from '../inventory/kolla/derive.js';

/** What was read from kolla-ansible's own files (inventory, globals.yml, passwords.yml), each value with where it came from; no secret values. */
export interface KollaSection {
  inventory: string;
  derived: KollaDerived[];
  notes: string[];
}

/** One row of `sessionctl status`: plain data, rendered as a table or JSON. */
export interface HostStatus {
  host: string;
  address: string;
  reachable: boolean;
  error?: string;
  engine?: 'api' | 'sudo-cli';
  container?: { name: string; state: string; health: string; image: string } | null;
  python?: string;
  django?: string;
  horizon?: string | null;
  layout?: string;
  configDir?: string | null;
  settingsFile?: string | null;
  sessionEngine?: string;
  backend?: string;
  /** Whether the current backend keeps the sessions when it restarts (null: unknown), in words. */
  persistence?: { survives: boolean | null; detail: string };
  cache?: { backend: string | null; location: unknown };
  database?: { engine: string | null; name: string | null; host: string | null } | null;
  security?: Record<string, unknown>;
  imports?: { django_redis: string | null; mysql: string | null; postgresql: string | null; pymemcache: string | null };
  secretKeySha256?: string | null;
  /** The container's web server and the login page its health gate asks (see loginUrl). */
  webServer?: { kind: string; loginUrl: string };
  settingsError?: string;
  /** The client libraries the current session backend imports, and whether a recreated container still has them. */
  libraries?: LibraryFact[];
}

export interface StatusReport {
  hosts: HostStatus[];
  warnings: string[];
  /** When the inventory came from kolla-ansible's files. */
  kolla?: KollaSection;
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
  /** When the inventory came from kolla-ansible's files: the values derived for this backend and where from. */
  kolla?: KollaSection;
  /** Live sessions copied into the new backend, per pass (counts only). */
  sessionsCarried?: CarryCounts[];
  /** The target's client libraries that will be only in the containers' writable layer (lost when a container is recreated). */
  layerOnlyLibraries?: LayerOnlyLibrary[];
  /** The kolla-build --template-override file(s) that bake those libraries into the horizon image. */
  imageOverrides?: ImageOverride[];
  /** The Kolla deploy host's overrides this run writes (when the inventory names one), each with the hosts that read it. */
  deployFiles?: { host: string; path: string; kind: 'host' | 'shared'; readBy: string[]; alsoReadBy: string[]; diff: string }[];
  error?: string;
  rolledBack?: string[];
  rollbackFailed?: string[];
  /** apply: the run's journal on this machine (`sessionctl history --run ID` reads it). */
  journal?: string;
}

/** The JSON report of `sessionctl rollback` (also what the text renderer reads). */
export interface RollbackReport {
  runId: string | null;
  journal: string | null;
  outcome: 'nothing-to-roll-back' | 'already-rolled-back' | 'nothing-to-do' | 'refused' | 'declined' | 'planned' | 'rolled-back' | 'rollback-failed';
  message: string;
  files: (FileAction & { result?: string; ok?: boolean })[];
  hosts: (HostAction & { result?: string; ok?: boolean })[];
  refusals: string[];
}

/** `history`: every journaled run, newest first; a journal that cannot be trusted is listed with its error. */
export interface HistoryList {
  stateDir: string;
  runs: (RunSummary | { id: string; file: string; error: string })[];
}

/** `history --run ID`: one run in detail. */
export interface RunDetail {
  summary: RunSummary;
  file: string;
  header: RunJournal['header'];
  plan: RunJournal['plan'] | null;
  /** Files the run wrote, once each (see touchedFiles). */
  files: Sequenced<FileRecord>[];
  packages: RunJournal['packages'];
  restarts: RunJournal['restarts'];
  steps: RunJournal['steps'];
  outcome: RunJournal['outcome'] | null;
  rollbacks: RunJournal['rollbackAttempts'];
}

