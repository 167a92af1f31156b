import { randomBytes } from 'node:crypto';
import { lstatSync, readdirSync, statSync, type Stats } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { fileKind } from '../util/files.js';
import { an } from '../util/kind.js';

/** `$XDG_STATE_HOME/sessionctl`, else `~/.local/state/sessionctl` (XDG Base Directory spec). */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_STATE_HOME;
  // The spec says a relative XDG_STATE_HOME is invalid and must be ignored.
  return xdg && xdg.startsWith('/') ? join(xdg, 'sessionctl') : join(homedir(), '.local', 'state', 'sessionctl');
}

/**
 * The state directory to use, absolute: `--state-dir` when given, else the default, checked by
 * {@link checkStateDir}.
 *
 * @throws {ConfigError} naming the path
 */
export function stateDirOf(given: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const dir = resolve(given ?? defaultStateDir(env));
  checkStateDir(dir, { what: given !== undefined ? `--state-dir ${dir}` : `the state directory ${dir}` });
  return dir;
}

/**
 * Check the state directory. It need not exist yet (the first apply creates it), but what exists
 * must be a directory, runs/ and facts/ inside it too: a file there would end a run half-way,
 * after its hosts were locked.
 *
 * With `trust` (rollback, which acts on what the journals say), also refuse a state dir that
 * someone else could have written a journal into: the dir and its runs/ must be real directories
 * (no symlink), owned by this user (or root), not writable by group or others, and runs/ must hold
 * regular files only.
 *
 * @throws {ConfigError} naming the path
 */
export function checkStateDir(dir: string, { what = `the state dir ${dir}`, trust = false }: { what?: string; trust?: boolean } = {}): void {
  const uid = process.getuid?.();
  const runs = runsDir(dir);
  let runsExist = false;
  for (const path of [dir, runs, factsDir(dir)]) {
    let st: Stats;
    try {
      st = trust ? lstatSync(path) : statSync(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') continue;
      if (code === 'ENOTDIR') throw new ConfigError(`${what}: ${path} is below a file, not a directory`);
      throw new ConfigError(`${what}: cannot read ${path}: ${(err as Error).message}`);
    }
    const trusted = trust && path !== factsDir(dir);
    const label = path === dir ? what : `the state dir's runs folder ${path}`;
    const refuse = (why: string) => new ConfigError(`${label} ${why}: a journal there may not be sessionctl's own, so rollback will not act on it; ${fixOf(path, st)}`);
    if (trusted && st.isSymbolicLink()) throw refuse('is a symlink');
    if (!st.isDirectory()) throw new ConfigError(path === dir ? `${what} is not a directory` : `${what}: ${path} is not a directory`);
    if (!trusted) continue;
    if (uid !== undefined && st.uid !== uid && st.uid !== 0) throw refuse(`is owned by uid ${st.uid}, not by you (uid ${uid})`);
    const writers = [st.mode & 0o020 && 'its group', st.mode & 0o002 && 'others'].filter(Boolean);
    if (writers.length) throw refuse(`is writable by ${writers.join(' and ')} (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')})`);
    if (path === runs) runsExist = true;
  }
  if (!runsExist) return;
  for (const entry of readdirSync(runs, { withFileTypes: true })) {
    if (!entry.isFile()) {
      const kind = entry.isSymbolicLink() ? 'symbolic link' : fileKind(lstatSync(join(runs, entry.name)));
      throw new ConfigError(`${join(runs, entry.name)} is ${an(kind)}, not a regular file: a journal folder holds journals only, so rollback will not act on it; remove it`);
    }
  }
}

function fixOf(dir: string, st: Stats): string {
  if (st.isSymbolicLink() || !st.isDirectory()) return `use a real directory of your own (--state-dir)`;
  return `check who else could have written there, then run: chmod go-w ${dir}${st.uid !== process.getuid?.() ? ` (and chown it to yourself)` : ''}`;
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
