import { listRuns, readRunById } from '../journal/read.js';
import { summarize, touchedFiles, type RunJournal } from '../journal/run.js';
import type { HistoryList, RunDetail } from '../report/types.js';

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
