import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, JournalError } from '../errors.js';
import { fileKind } from '../util/files.js';
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
    const kind = fileKind(fstatSync(fd));
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
 * One run by id under the state dir.
 *
 * @throws {ConfigError} when `runId` is not a run id, or no run has it (a bad --run: exit 5)
 * @throws {JournalError} when its journal cannot be read or trusted
 */
export function readRunById(stateDir: string, runId: string): RunJournal {
  const listed = 'as `sessionctl history` lists them';
  if (!RUN_ID.test(runId)) {
    const shown = runId.length > 64 ? `${runId.slice(0, 61)}...` : runId;
    throw new ConfigError(`${JSON.stringify(shown)} is not a run id: expected YYYYMMDDTHHMMSS-xxxxxx, ${listed}`);
  }
  const file = journalFile(stateDir, runId);
  if (!entryExists(file)) throw new ConfigError(`no run ${runId} under ${runsDir(stateDir)} (${listed})`);
  return readRun(file);
}

/** lstat, not exists: a symlink (even a dangling one) named like a run is there, and readRun refuses it. */
function entryExists(file: string): boolean {
  try {
    return lstatSync(file, { throwIfNoEntry: false }) !== undefined;
  } catch {
    return false;
  }
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
