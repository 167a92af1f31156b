import { randomBytes } from 'node:crypto';
import { statSync, type Stats } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError } from '../errors.js';

/** `$XDG_STATE_HOME/sessionctl`, else `~/.local/state/sessionctl` (XDG Base Directory spec). */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_STATE_HOME;
  // The spec says a relative XDG_STATE_HOME is invalid and must be ignored.
  return xdg && xdg.startsWith('/') ? join(xdg, 'sessionctl') : join(homedir(), '.local', 'state', 'sessionctl');
}

/**
 * The state directory to use, absolute: `--state-dir` when given, else the default. It need not
 * exist yet (the first apply creates it), but what exists must be a directory, runs/ and facts/
 * inside it too: a file there would end a run half-way, after its hosts were locked.
 *
 * @throws {ConfigError} naming the path
 */
export function stateDirOf(given: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const dir = resolve(given ?? defaultStateDir(env));
  const what = given !== undefined ? `--state-dir ${dir}` : `the state directory ${dir}`;
  for (const path of [dir, runsDir(dir), factsDir(dir)]) {
    let st: Stats;
    try {
      st = statSync(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') continue;
      if (code === 'ENOTDIR') throw new ConfigError(`${what}: ${path} is below a file, not a directory`);
      throw new ConfigError(`${what}: cannot read ${path}: ${(err as Error).message}`);
    }
    if (!st.isDirectory()) throw new ConfigError(path === dir ? `${what} is not a directory` : `${what}: ${path} is not a directory`);
  }
  return dir;
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
