import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { encodeRecord } from './format.js';
import type { JournalRecord } from './records.js';

/**
 * One run's journal on the operator's machine, append-only. Every record is on disk (fsync) when
 * append returns, so it is written before the remote change it announces; synchronous on purpose:
 * parallel hosts cannot interleave half records, and the sequence stays the order of events.
 */
export class Journal {
  private seq: number;

  private constructor(
    readonly file: string,
    seq: number,
  ) {
    this.seq = seq;
  }

  /** A new journal (the file must not exist yet). */
  static create(file: string): Journal {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    closeSync(openSync(file, 'wx', 0o600));
    fsyncDir(dirname(file));
    return new Journal(file, 0);
  }

  /** Continue an existing, already verified journal of `records` records (rollback appends to it). */
  static reopen(file: string, records: number): Journal {
    return new Journal(file, records);
  }

  append(record: JournalRecord): void {
    const line = encodeRecord(record, this.seq + 1);
    const fd = openSync(this.file, 'a');
    try {
      writeSync(fd, line);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.seq += 1;
  }
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
