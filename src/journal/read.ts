import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readFileSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, JournalError } from '../errors.js';
import { an } from '../util/kind.js';
import { decodeJournal } from './format.js';
import { RUN_ID, journalFile, runsDir } from './paths.js';
import { parseRun, type RunJournal } from './run.js';

/** One journal file; a symlink, FIFO or anything but a regular file is refused, never opened for reading (a FIFO would block). */
export function readRun(file: string): RunJournal {
  let text: string;
  let fd: number | undefined;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    const kind = kindOf(fstatSync(fd));
    if (kind !== 'regular file') throw new JournalError(file, 0, `${an(kind)}, not a regular file: refusing to read it as a run journal`);
    text = readFileSync(fd, 'utf8');
  } catch (err) {
    if (err instanceof JournalError) throw err;
    const why = (err as NodeJS.ErrnoException).code === 'ELOOP' ? 'a symlink, not a regular file: refusing to read it as a run journal' : `cannot read: ${(err as Error).message}`;
    throw new JournalError(file, 0, why);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  return parseRun(decodeJournal(text, file), file);
}

/**
 * Refuse a state dir that someone else could have written a journal into: the dir and its runs/
 * must be real directories (no symlink), owned by this user (or root), not writable by group or
 * others, and runs/ must hold regular files only. `rollback` acts on what the journals say.
 */
export function checkStateDir(stateDir: string): void {
  const uid = process.getuid?.();
  for (const [dir, label] of [[stateDir, `the state dir ${stateDir}`], [runsDir(stateDir), `the state dir's runs folder ${runsDir(stateDir)}`]] as const) {
    let st: Stats;
    try {
      st = lstatSync(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new ConfigError(`cannot check ${label}: ${(err as Error).message}`);
    }
    const refuse = (why: string) => new ConfigError(`${label} ${why}: a journal there may not be sessionctl's own, so rollback will not act on it; ${fixOf(dir, st)}`);
    if (st.isSymbolicLink()) throw refuse('is a symlink');
    if (!st.isDirectory()) throw refuse(`is ${an(kindOf(st))}, not a directory`);
    if (uid !== undefined && st.uid !== uid && st.uid !== 0) throw refuse(`is owned by uid ${st.uid}, not by you (uid ${uid})`);
    const writers = [st.mode & 0o020 && 'its group', st.mode & 0o002 && 'others'].filter(Boolean);
    if (writers.length) throw refuse(`is writable by ${writers.join(' and ')} (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')})`);
  }
  const runs = runsDir(stateDir);
  for (const entry of readdirSync(runs, { withFileTypes: true })) {
    if (!entry.isFile()) {
      const kind = entry.isSymbolicLink() ? 'symbolic link' : kindOf(lstatSync(join(runs, entry.name)));
      throw new ConfigError(`${join(runs, entry.name)} is ${an(kind)}, not a regular file: a journal folder holds journals only, so rollback will not act on it; remove it`);
    }
  }
}

function fixOf(dir: string, st: Stats): string {
  if (st.isSymbolicLink() || !st.isDirectory()) return `use a real directory of your own (--state-dir)`;
  return `check who else could have written there, then run: chmod go-w ${dir}${st.uid !== process.getuid?.() ? ` (and chown it to yourself)` : ''}`;
}

/** What a file system entry is, for messages. */
function kindOf(st: Stats): string {
  if (st.isFile()) return 'regular file';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symbolic link';
  if (st.isFIFO()) return 'FIFO (named pipe)';
  if (st.isSocket()) return 'socket';
  return 'device';
}

/** One run by id under the state dir. */
export function readRunById(stateDir: string, runId: string): RunJournal {
  if (!RUN_ID.test(runId)) throw new JournalError(runId, 0, 'not a run id (expected YYYYMMDDTHHMMSS-xxxxxx, as `sessionctl history` lists them)');
  return readRun(journalFile(stateDir, runId));
}

/** Every journal under the state dir, newest first; a journal that cannot be trusted comes with its error. */
export function listRuns(stateDir: string): { id: string; file: string; run?: RunJournal; error?: JournalError }[] {
  let names: string[];
  try {
    names = readdirSync(runsDir(stateDir));
  } catch {
    return [];
  }
  return names
    .filter((n) => n.endsWith('.jsonl'))
    .map((n) => n.slice(0, -'.jsonl'.length))
    // Run ids start with their UTC start time: the name order is the time order.
    .sort()
    .reverse()
    .map((id) => {
      const file = join(runsDir(stateDir), `${id}.jsonl`);
      try {
        return { id, file, run: readRun(file) };
      } catch (err) {
        if (!(err instanceof JournalError)) throw err;
        return { id, file, error: err };
      }
    });
}
