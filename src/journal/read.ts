import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { JournalError } from '../errors.js';
import { decodeJournal } from './format.js';
import { RUN_ID, journalFile, runsDir } from './paths.js';
import { parseRun, type RunJournal } from './run.js';

export function readRun(file: string): RunJournal {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new JournalError(file, 0, `cannot read: ${(err as Error).message}`);
  }
  return parseRun(decodeJournal(text, file), file);
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
