import { listRuns, readRunById } from '../journal/read.js';
import { summarize, touchedFiles, type RunJournal, type RunSummary } from '../journal/run.js';

/** `history`: every journaled run, newest first; a journal that cannot be trusted is listed with its error. */
export interface HistoryList {
  stateDir: string;
  runs: (RunSummary | { id: string; file: string; error: string })[];
}

/** `history --run ID`: one run in detail. */
export interface RunDetail {
  summary: RunSummary;
  file: string;
  header: RunJournal['header'];
  plan: RunJournal['plan'] | null;
  files: ReturnType<typeof touchedFiles>;
  packages: RunJournal['packages'];
  restarts: RunJournal['restarts'];
  steps: RunJournal['steps'];
  outcome: RunJournal['outcome'] | null;
  rollbacks: RunJournal['rollbackAttempts'];
}

export function history(stateDir: string): HistoryList {
  return {
    stateDir,
    runs: listRuns(stateDir).map((e) => (e.run ? summarize(e.run) : { id: e.id, file: e.file, error: e.error!.message })),
  };
}

export function runDetail(stateDir: string, runId: string): RunDetail {
  const run = readRunById(stateDir, runId);
  return {
    summary: summarize(run),
    file: run.file,
    header: run.header,
    plan: run.plan ?? null,
    files: touchedFiles(run),
    packages: run.packages,
    restarts: run.restarts,
    steps: run.steps,
    outcome: run.outcome ?? null,
    rollbacks: run.rollbackAttempts,
  };
}
