import type { StepResult } from '../runner/results.js';

/**
 * What a run journal holds, one record per line (see format.ts for the line encoding). Records
 * never carry secret values: the backend is journaled by name and its masked `where` only.
 */
export type JournalRecord =
  | HeaderRecord
  | PlanRecord
  | StepRecord
  | FileRecord
  | PackageRecord
  | RestartRecord
  | OutcomeRecord
  | RollbackBeginRecord
  | RollbackRecord;

export const JOURNAL_VERSION = 1;

export interface HeaderRecord {
  type: 'header';
  version: number;
  runId: string;
  startedAt: string;
  /** user@machine of the operator. */
  by: string;
  inventory: { path: string; sha256: string | null };
  backend: string;
  where: string;
  playbook: string;
  hosts: string[];
}

/** What Django resolved on a host before the run, enough to check it is effective again. */
export interface BeforeBackend {
  /** backendOf(): 'memcached', 'redis', 'database'... */
  name: string;
  sessionEngine: string;
  cacheBackend: string | null;
  /** sha256 of JSON.stringify(LOCATION): comparable without journaling credentials a URL may hold. */
  locationSha256: string;
}

export interface PlanRecord {
  type: 'plan';
  hosts: { host: string; before: BeforeBackend | null; steps: PlannedAction[] }[];
  fleet: PlannedAction[];
}

export interface PlannedAction {
  step: string;
  action: 'change' | 'check' | 'none' | 'failed';
  detail: string;
}

export interface StepRecord {
  type: 'step';
  result: StepResult;
}

/**
 * Written before the remote write it announces: `after` is the sha256 of the bytes about to be
 * written, `before` null when the file did not exist (the host backup then records its absence).
 */
export interface FileRecord {
  type: 'file';
  host: string;
  /** 'settings': a Dashboard host's settings file (its container restarts on rollback); 'deploy-override': the Kolla deploy host's. */
  role: 'settings' | 'deploy-override';
  path: string;
  backup: string;
  before: string | null;
  after: string;
}

export interface PackageRecord {
  type: 'package';
  host: string;
  status: 'installing' | 'installed';
  what: string;
}

export interface RestartRecord {
  type: 'restart';
  host: string;
  container: string;
  stage: 'apply' | 'rollback';
  /** The login page the health gate asked (derived from the web server at the run's start). */
  loginUrl?: string;
  /** A graceful reload (absent: a restart), and the files (names in the Kolla config dir) it copied into the container. */
  method?: 'reload';
  files?: string[];
  /** A restart behind a drain: the load balancers' servers drained first. */
  drains?: { lb: string; backend: string; server: string }[];
}

export interface OutcomeRecord {
  type: 'outcome';
  outcome: string;
  endedAt: string;
  error?: string;
  rolledBack?: string[];
  rollbackFailed?: string[];
}

/** `sessionctl rollback` is about to write: what it will do, by whom. */
export interface RollbackBeginRecord {
  type: 'rollback-begin';
  at: string;
  by: string;
  force: boolean;
  actions: { host: string; path: string; action: string }[];
}

export interface RollbackRecord {
  type: 'rollback';
  at: string;
  outcome: 'rolled-back' | 'rollback-failed';
  files: { host: string; path: string; result: string }[];
  hosts: { host: string; result: string }[];
  error?: string;
}

/** A record as stored: its position in the file, checked by the reader. */
export type Sequenced<R extends JournalRecord = JournalRecord> = R & { seq: number };
