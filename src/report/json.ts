/**
 * What `--json` prints: each report with `schemaVersion` first. The JSON Schemas in
 * src/report/schemas/ are generated from the types below (`npm run schemas`).
 *
 * Versioning: adding a field keeps the version; removing, renaming or changing the meaning or type
 * of one bumps it.
 */
import type { ExitCodeValue } from '../errors.js';
import type { HistoryList, RollbackReport, RunDetail, StatusReport, SwitchReport } from './types.js';

/** The shape version of every --json report. */
export const SCHEMA_VERSION = 1;

/** Every --json report carries it. */
export interface Versioned {
  /** The shape version of this report (README: JSON reports). */
  schemaVersion: typeof SCHEMA_VERSION;
}

/** `sessionctl status --json`. */
export interface StatusJson extends Versioned, StatusReport {}
/** `sessionctl plan --json` and `sessionctl apply --json`. */
export interface SwitchJson extends Versioned, SwitchReport {}
/** `sessionctl rollback --json`. */
export interface RollbackJson extends Versioned, RollbackReport {}
/** `sessionctl history --json`. */
export interface HistoryJson extends Versioned, HistoryList {}
/** `sessionctl history --run ID --json`. */
export interface RunDetailJson extends Versioned, RunDetail {}
/** What any command prints on stdout with --json when it stops on an error. */
export interface ErrorJson extends Versioned {
  error: {
    /** The same text as on stderr (after `sessionctl: `). */
    message: string;
    /** The process's exit code. */
    exitCode: ExitCodeValue;
  };
}

/** Each report's type and schema file (src/report/schemas/NAME.schema.json). */
export const REPORT_SCHEMAS = {
  status: 'StatusJson',
  switch: 'SwitchJson',
  rollback: 'RollbackJson',
  history: 'HistoryJson',
  'history-run': 'RunDetailJson',
  error: 'ErrorJson',
} as const;
export type ReportName = keyof typeof REPORT_SCHEMAS;

/** A report as --json prints it. */
export function versioned<T extends object>(report: T): Versioned & T {
  return { schemaVersion: SCHEMA_VERSION, ...report };
}
