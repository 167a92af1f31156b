/**
 * The one error tree. The CLI (src/cli.ts) is the only place that catches these and maps them to
 * exit codes; everything else throws.
 */

import { visible } from './util/controls.js';

/** Exit codes are part of the CLI contract (README, issue 2). */
export const ExitCode = {
  ok: 0,
  error: 1,
  hostFailed: 2,
  hostUnreachable: 4,
  badInput: 5,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** Base: an expected stop whose message is meant for the operator. */
export class SessionctlError extends Error {
  readonly exitCode: ExitCodeValue;
  constructor(message: string, exitCode: ExitCodeValue = ExitCode.error, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.exitCode = exitCode;
  }
}

/** Where in a source file a value came from (1-based line and column). */
export interface SourcePos {
  file: string;
  line: number;
  col: number;
  /** The text of that line, shown under the message (secrets masked, a long line cut around `col`). */
  lineText?: string;
  /** Column of the caret under `lineText`, where masking or cutting moved it from `col`. */
  caret?: number;
}

/** Bad inventory or options: exit 5, before any connection is made. */
export class ConfigError extends SessionctlError {
  readonly pos: SourcePos | undefined;
  constructor(message: string, pos?: SourcePos) {
    super(message, ExitCode.badInput);
    this.pos = pos;
  }
  /**
   * `file:line:col: message` followed by the offending line and a caret. Both quote the file (key
   * names, its text): control characters are shown as escapes, the caret still under its column.
   */
  format(): string {
    if (!this.pos) return visible(this.message);
    const { file, line, col, lineText, caret = col } = this.pos;
    let out = visible(`${file}:${line}:${col}: ${this.message}`);
    if (lineText !== undefined) {
      const before = visible(lineText.slice(0, Math.max(0, caret - 1))).length;
      out += `\n  ${String(line).padStart(4)} | ${visible(lineText)}\n       | ${' '.repeat(before)}^`;
    }
    return out;
  }
}

/** Several config errors found in one pass: report them all, exit 5. */
export class ConfigErrors extends SessionctlError {
  readonly errors: ConfigError[];
  constructor(errors: ConfigError[]) {
    super(errors.map((e) => e.format()).join('\n'), ExitCode.badInput);
    this.errors = errors;
  }
}

/**
 * An error about one host: the message starts with the host's name, `detail` is the same text
 * without it, for places (tables, per-host reports) that already show the host.
 */
export abstract class HostScopedError extends SessionctlError {
  constructor(
    readonly host: string,
    readonly detail: string,
    exitCode: ExitCodeValue,
    options?: { cause?: unknown },
  ) {
    super(`${host}: ${detail}`, exitCode, options);
  }
}

/** The text to show next to `host`: without the host's name when the error is about that host. */
export function detailFor(err: unknown, host?: string): string {
  if (err instanceof HostScopedError && err.host === host) return err.detail;
  return err instanceof Error ? err.message : String(err);
}

/** A host could not be reached (connect, auth, host key, dropped connection): exit 4. */
export class HostUnreachableError extends HostScopedError {
  constructor(host: string, message: string, options?: { cause?: unknown }) {
    super(host, message, ExitCode.hostUnreachable, options);
  }
}

/** A command on a host failed. `argv` is already masked; never put secrets here. */
export class CommandError extends HostScopedError {
  constructor(
    host: string,
    readonly argv: string,
    readonly code: number | null,
    readonly stderrTail: string,
    what = 'command failed',
  ) {
    super(host, `${what} (exit ${code ?? 'signal'}): ${argv}${stderrTail ? `\n${indent(stderrTail)}` : ''}`, ExitCode.hostFailed);
  }
}

/** A host-level step failed for a domain reason (container missing, probe failed...): exit 2. */
export class HostError extends HostScopedError {
  constructor(host: string, message: string, options?: { cause?: unknown }) {
    super(host, message, ExitCode.hostFailed, options);
  }
}

/** A run journal that cannot be trusted (corrupt, truncated, not a journal): names file:line (line 0: the whole file). */
export class JournalError extends SessionctlError {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(line > 0 ? `${file}:${line}: ${reason}` : `${file}: ${reason}`, ExitCode.error);
  }
}

/** A bug: never expected; the CLI prints a stack with --verbose. */
export class InternalError extends Error {
  override name = 'InternalError';
}

function indent(s: string): string {
  return s
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}
