/**
 * The journal's line format: one JSON object per line, `seq` counting from 1, and as its last key
 * `sha256`, the hash of the line's own JSON without that key. The reader checks the exact bytes,
 * so a flipped byte, a lost line or a cut-off last write is found, with its file:line.
 */
import { JournalError } from '../errors.js';
import { sha256 } from '../transport/hostfs.js';
import { masker } from '../util/secret.js';
import type { JournalRecord, PlannedAction, Sequenced } from './records.js';

const TRAILER = /,"sha256":"([0-9a-f]{64})"\}$/;

/** Pure: one record as a journal line (newline included). Known secret values are masked first, in its free text only. */
export function encodeRecord(record: JournalRecord, seq: number): string {
  const body = JSON.stringify({ seq, ...maskText(record) });
  return `${body.slice(0, -1)},"sha256":"${sha256(body)}"}\n`;
}

/**
 * The record with its free text (details, results, errors) masked. Names, paths, hashes and the
 * backend stay exact: rollback compares them, and a password that is a common word ('redis',
 * 'file') masked there would change what the record says, or its keys.
 */
function maskText(r: JournalRecord): JournalRecord {
  const m = (text: string) => masker.mask(text);
  const action = (a: PlannedAction): PlannedAction => ({ ...a, detail: m(a.detail) });
  switch (r.type) {
    case 'header':
      return { ...r, where: m(r.where) };
    case 'plan':
      return { ...r, hosts: r.hosts.map((h) => ({ ...h, steps: h.steps.map(action) })), fleet: r.fleet.map(action) };
    case 'step':
      return { ...r, result: { ...r.result, detail: m(r.result.detail) } };
    case 'package':
      return { ...r, what: m(r.what) };
    case 'outcome':
      return r.error === undefined ? r : { ...r, error: m(r.error) };
    case 'rollback':
      return {
        ...r,
        files: r.files.map((f) => ({ ...f, result: m(f.result) })),
        hosts: r.hosts.map((h) => ({ ...h, result: m(h.result) })),
        ...(r.error === undefined ? {} : { error: m(r.error) }),
      };
    case 'file':
    case 'restart':
    case 'rollback-begin':
      return r;
  }
}

/** Pure: every record of a journal's text, or a JournalError naming the first bad line. */
export function decodeJournal(text: string, file: string): Sequenced[] {
  if (text.length === 0) throw new JournalError(file, 1, 'empty journal: no header record');
  const lines = text.split('\n');
  const last = lines.pop();
  // Every write ends with a newline: anything after the last one is a write cut short.
  if (last !== '') throw new JournalError(file, lines.length + 1, 'truncated: the last record is incomplete (the run was cut off mid-write, or the file was cut)');
  const records: Sequenced[] = [];
  lines.forEach((line, i) => {
    const at = i + 1;
    const m = TRAILER.exec(line);
    if (!m) throw new JournalError(file, at, 'not a journal record (no sha256 at the end of the line)');
    const body = `${line.slice(0, m.index)}}`;
    if (sha256(body) !== m[1]) throw new JournalError(file, at, 'corrupt: the record does not match its sha256');
    let record: Sequenced;
    try {
      record = JSON.parse(body) as Sequenced;
    } catch {
      throw new JournalError(file, at, 'corrupt: not valid JSON');
    }
    if (at === 1 && record.type !== 'header') throw new JournalError(file, 1, 'no header record: this is not the start of a run journal (its first line is missing?)');
    if (record.seq !== at) throw new JournalError(file, at, `record ${String(record.seq)} where record ${at} belongs (a line is missing or out of order)`);
    if (at > 1 && record.type === 'header') throw new JournalError(file, at, 'a second header record');
    records.push(record);
  });
  return records;
}
