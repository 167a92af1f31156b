import { JournalError } from '../errors.js';
import type { FileRecord, HeaderRecord, OutcomeRecord, PackageRecord, PlanRecord, RestartRecord, RollbackBeginRecord, RollbackRecord, Sequenced, StepRecord } from './records.js';

/** One run as its journal tells it. */
export interface RunJournal {
  file: string;
  header: HeaderRecord;
  plan?: PlanRecord;
  steps: StepRecord['result'][];
  /** With their line (`seq`), for errors about them. */
  files: Sequenced<FileRecord>[];
  packages: PackageRecord[];
  restarts: Sequenced<RestartRecord>[];
  /** Missing when the run never finished (killed, machine lost). */
  outcome?: OutcomeRecord;
  rollbackAttempts: { begin: RollbackBeginRecord; end?: RollbackRecord }[];
  /** How many records the file holds (to append after them). */
  records: number;
}

/** Pure: group a journal's verified records. */
export function parseRun(records: Sequenced[], file: string): RunJournal {
  const header = records[0];
  if (!header || header.type !== 'header') throw new JournalError(file, 1, 'no header record');
  const run: RunJournal = { file, header, steps: [], files: [], packages: [], restarts: [], rollbackAttempts: [], records: records.length };
  for (const r of records.slice(1)) {
    switch (r.type) {
      case 'plan':
        run.plan = r;
        break;
      case 'step':
        run.steps.push(r.result);
        break;
      case 'file':
        run.files.push(r);
        break;
      case 'package':
        run.packages.push(r);
        break;
      case 'restart':
        run.restarts.push(r);
        break;
      case 'outcome':
        run.outcome = r;
        break;
      case 'rollback-begin':
        run.rollbackAttempts.push({ begin: r });
        break;
      case 'rollback': {
        const open = run.rollbackAttempts.at(-1);
        if (!open || open.end) throw new JournalError(file, r.seq, 'a rollback result without its rollback-begin record');
        open.end = r;
        break;
      }
      default:
        throw new JournalError(file, (r as Sequenced).seq, `unknown record type '${String((r as { type: unknown }).type)}'`);
    }
  }
  return run;
}

/** Files the run wrote, once each (the first intent holds the original sha256 and the backup). */
export function touchedFiles(run: RunJournal): Sequenced<FileRecord>[] {
  const seen = new Map<string, Sequenced<FileRecord>>();
  for (const f of run.files) if (!seen.has(`${f.host}\0${f.path}`)) seen.set(`${f.host}\0${f.path}`, f);
  return [...seen.values()];
}

/** 'sessionctl rollback' finished it, or the run's own automatic rollback restored everything. */
export function rolledBack(run: RunJournal): { by: string; at: string } | undefined {
  const done = run.rollbackAttempts.find((a) => a.end?.outcome === 'rolled-back');
  if (done) return { by: `sessionctl rollback (${done.begin.by})`, at: done.end!.at };
  if (run.outcome?.outcome === 'rolled-back') return { by: 'the run itself (automatic rollback)', at: run.outcome.endedAt };
  return undefined;
}

/** What `history` lists for a run. */
export interface RunSummary {
  id: string;
  startedAt: string;
  by: string;
  backend: string;
  outcome: string;
  hostsTouched: string[];
  files: number;
  rolledBack?: { by: string; at: string };
}

/** Hosts once each, in the order of the run's header (hosts not there, e.g. a separate deploy host, last). */
export function inRunOrder(run: RunJournal, hosts: string[]): string[] {
  const rank = (h: string) => {
    const i = run.header.hosts.indexOf(h);
    return i < 0 ? run.header.hosts.length : i;
  };
  return [...new Set(hosts)].sort((a, b) => rank(a) - rank(b));
}

export function summarize(run: RunJournal): RunSummary {
  const h = run.header;
  const back = rolledBack(run);
  const lastAttempt = run.rollbackAttempts.at(-1);
  const outcome = run.outcome?.outcome ?? (run.files.length ? 'unfinished (no outcome recorded)' : 'unfinished');
  return {
    id: h.runId,
    startedAt: h.startedAt,
    by: h.by,
    backend: h.backend,
    outcome: lastAttempt && !back ? `${outcome}; rollback ${lastAttempt.end?.outcome ?? 'unfinished'}` : outcome,
    hostsTouched: inRunOrder(run, [...run.files.map((f) => f.host), ...run.restarts.map((r) => r.host)]),
    files: touchedFiles(run).length,
    ...(back ? { rolledBack: back } : {}),
  };
}
