/**
 * Which progress display a run gets: live rows with elapsed times (listr2) for a person at a
 * terminal; plain lines, no colour and no cursor movement, for CI, logs, pipes and NO_COLOR; none
 * with --json (stdout holds the report; --verbose adds the plain lines on stderr).
 */

export type ProgressMode = 'live' | 'plain' | 'none';

export interface ProgressContext {
  /** Whether stderr (where progress goes) is a terminal. */
  isTTY: boolean;
  json: boolean;
  verbose: boolean;
  env: NodeJS.ProcessEnv;
}

export function progressMode({ isTTY, json, verbose, env }: ProgressContext): ProgressMode {
  if (json) return verbose ? 'plain' : 'none';
  // https://no-color.org: set and not empty. CI: a log, even when it pretends to be a terminal.
  if (!isTTY || env.CI || env.NO_COLOR) return 'plain';
  return 'live';
}

/** An elapsed time for a person: `7s`, `1m05s`, `1h02m`. */
export function elapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
