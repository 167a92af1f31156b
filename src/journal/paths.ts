import { randomBytes } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** `$XDG_STATE_HOME/sessionctl`, else `~/.local/state/sessionctl` (XDG Base Directory spec). */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_STATE_HOME;
  // The spec says a relative XDG_STATE_HOME is invalid and must be ignored.
  return xdg && xdg.startsWith('/') ? join(xdg, 'sessionctl') : join(homedir(), '.local', 'state', 'sessionctl');
}

export function runsDir(stateDir: string): string {
  return join(stateDir, 'runs');
}

/** Django's answers from earlier runs, per host (facts/cache.ts). */
export function factsDir(stateDir: string): string {
  return join(stateDir, 'facts');
}

export function journalFile(stateDir: string, runId: string): string {
  return join(runsDir(stateDir), `${runId}.jsonl`);
}

/** A new run id: its UTC start time (so names sort by time) and 3 random bytes. */
export function newRunId(now = new Date()): string {
  return `${now.toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}-${randomBytes(3).toString('hex')}`;
}

/** Run ids are `YYYYMMDDTHHMMSS-xxxxxx`: the only names accepted for --run, so no path escapes. */
export const RUN_ID = /^\d{8}T\d{6}-[0-9a-f]{6}$/;
