/**
 * Commands and config values as data: argv arrays become one POSIX `sh` command line, values
 * become Python literals, and neither path lets a value be read as code. Secrets stay masked in
 * everything meant for display.
 */

import { Secret, masker } from './secret.js';
import { pyStringBody } from './pystring.js';

/** One argv element: a plain string, or a {@link Secret} shown as `***`. */
export type Arg = string | Secret;

/** A value {@link pyLiteral} can write; `{ tuple: [...] }` stands for a Python tuple. */
export type PyValue = string | number | boolean | null | PyValue[] | { [k: string]: PyValue } | { tuple: PyValue[] };

const BARE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * Quote one word for POSIX `sh`: bare when it only has characters no shell treats specially,
 * `''` when empty, otherwise single-quoted with each `'` written as `'\''`. Throws on NUL, which
 * no argv element can carry.
 */
export function shellQuote(arg: string): string {
  if (typeof arg !== 'string') throw new TypeError(`shellQuote expects a string, got ${typeof arg}`);
  if (arg.includes('\0')) throw new TypeError('a shell argument cannot contain a NUL byte');
  if (arg === '') return "''";
  if (BARE.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * Join argv into one `sh` command line. `command` has secrets revealed and is only for sending;
 * `display` shows them as `***` (and is passed through {@link masker} too) for logs and dry runs.
 */
export function shellJoin(argv: Arg[]): { command: string; display: string } {
  if (argv.length === 0) throw new TypeError('shellJoin needs at least one argument');
  const command: string[] = [];
  const display: string[] = [];
  argv.forEach((arg, i) => {
    const value = arg instanceof Secret ? arg.reveal() : arg;
    let quoted = shellQuote(value);
    // A bare leading `NAME=value` would be taken as a variable assignment, not as the command.
    if (i === 0 && quoted === value && value.includes('=')) quoted = `'${value}'`;
    command.push(quoted);
    display.push(arg instanceof Secret ? '***' : quoted);
  });
  return { command: command.join(' '), display: masker.mask(display.join(' ')) };
}

/**
 * A Python literal for `value`, safe to splice into a settings `.py` file and always one line of
 * printable ASCII. Strings are single-quoted with `\\`, `'` and every character outside printable
 * ASCII escaped (`\xNN`, `\uNNNN`, `\UNNNNNNNN`), so no newline, NUL or U+2028 can end the line or
 * the literal; a `{` before `{`, `%` or `#` is `\x7b`, so no literal opens Jinja syntax (a dict's
 * `{` is always followed by a quoted key or `}`). Throws TypeError on NaN/Infinity, undefined,
 * functions, symbols, bigints, class instances (including {@link Secret}: reveal it deliberately)
 * and cycles.
 */
export function pyLiteral(value: PyValue): string {
  return lit(value, new Set());
}

function lit(value: unknown, seen: Set<object>): string {
  switch (typeof value) {
    case 'string':
      return pyString(value);
    case 'boolean':
      return value ? 'True' : 'False';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`pyLiteral: ${value} has no Python literal`);
      return Object.is(value, -0) ? '-0.0' : String(value);
    case 'object':
      break;
    default:
      throw new TypeError(`pyLiteral: cannot write a ${typeof value}`);
  }
  if (value === null) return 'None';
  if (seen.has(value)) throw new TypeError('pyLiteral: cyclic value');
  seen.add(value);
  try {
    if (Array.isArray(value)) return `[${items(value, seen).join(', ')}]`;
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      throw new TypeError(`pyLiteral: cannot write a ${value.constructor?.name ?? 'non-plain object'}`);
    }
    const keys = Object.keys(value);
    const tuple = (value as { tuple?: unknown }).tuple;
    if (keys.length === 1 && keys[0] === 'tuple' && Array.isArray(tuple)) {
      const parts = items(tuple, seen);
      return parts.length === 1 ? `(${parts[0]},)` : `(${parts.join(', ')})`;
    }
    if (Object.getOwnPropertySymbols(value).length > 0) throw new TypeError('pyLiteral: symbol keys');
    const rec = value as Record<string, unknown>;
    return `{${keys.map((k) => `${pyString(k)}: ${lit(rec[k], seen)}`).join(', ')}}`;
  } finally {
    seen.delete(value);
  }
}

function items(arr: unknown[], seen: Set<object>): string[] {
  const out: string[] = [];
  // Index loop, not map: map skips holes, and a hole is an undefined that must be rejected.
  for (let i = 0; i < arr.length; i++) out.push(lit(arr[i], seen));
  return out;
}

function pyString(s: string): string {
  return `'${pyStringBody(s)}'`;
}
