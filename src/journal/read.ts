import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, JournalError } from '../errors.js';
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
  if (!existsSync(file)) throw new ConfigError(`no run ${runId} under ${runsDir(stateDir)} (${listed})`);
  return readRun(file);
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
