/**
 * A small validator for YAML documents that keeps source positions.
 *
 * A section of the inventory is described as a {@link Shape}: a record from YAML key to
 * {@link Field}. {@link readObject} walks a mapping node against a shape (unknown keys,
 * duplicates, merge keys, secrets given twice), {@link finish} applies built-in defaults and
 * required keys and renames snake_case keys to camelCase. Every problem is recorded in the
 * {@link Ctx} instead of thrown, so one pass reports all of them.
 */
import * as net from 'node:net';
import * as path from 'node:path';
import { isAlias, isMap, isScalar, isSeq, visit, type Alias, type Document, type Node, type YAMLMap } from 'yaml';
import { ConfigError, ConfigErrors, type SourcePos } from '../errors.js';
import type { SecretRef } from './types.js';

// ---------------------------------------------------------------------------------------------
// Context: collects problems, turns offsets into positions
// ---------------------------------------------------------------------------------------------

interface Problem {
  offset: number;
  message: string;
  /** Source range of a secret value the problem points at: masked in the quoted line. */
  secret?: readonly [number, number] | undefined;
}

/** Keys an inventory may read beyond those written in it, through aliases and merge keys (a fleet of a thousand hosts merging an anchor of ten keys reads 10,000). */
const EXPANSION = 50_000;
/** Problems shown at most (a file can have one per key), and kept at most. */
const SHOWN = 100;
const RECORDED = 10_000;
/** How deep merge keys may nest (an anchor merging an anchor merging...). */
const MERGE_DEPTH = 32;

/** Where local paths are resolved from. */
export interface PathBase {
  home: string;
  /** Directory of the inventory file: relative paths are resolved against it. */
  dir: string;
}

/** Validation state of one document: the problems found so far and how to locate them. */
export class Ctx {
  private readonly problems: Problem[] = [];
  /** Problems past {@link RECORDED}, only counted. */
  private dropped = 0;
  private readonly lines: string[];
  private readonly starts: number[];
  private readonly offsets = new WeakMap<object, Map<string, number>>();
  /** Each alias's anchor, found in one pass: yaml's `Alias.resolve` walks the whole document for every alias. */
  private readonly aliases = new Map<Alias, Node | undefined>();
  private lexical: Map<number, Array<[number, number]>> | undefined;
  private readonly spans = new Map<number, Array<[number, number]>>();
  /** Source ranges of the values of secret-looking keys: a quoted or block value spans lines. */
  private readonly secrets: Array<[number, number]> = [];
  private secretLines: Map<number, Array<[number, number]>> | undefined;
  /** Keys that may still be read: each written key once, plus {@link EXPANSION} more through aliases and merges. */
  private budget = EXPANSION;
  /** What "did you mean" may still compare (see {@link suggest}). */
  readonly suggestions = { left: SUGGESTION_BUDGET };
  /** Offset of the outermost merge key being expanded, where a blown budget is reported. */
  expanding: number | undefined;

  constructor(
    readonly doc: Document,
    text: string,
    readonly file: string,
    readonly paths: PathBase,
  ) {
    this.lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
    // Line starts from the text itself: yaml's LineCounter misses the newlines inside some broken tokens.
    this.starts = [0];
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) this.starts.push(i + 1);
    // The last anchor of that name before the alias, in document order, as yaml itself resolves it.
    const latest = new Map<string, Node>();
    visit(doc, {
      Pair: (_key, pair) => {
        this.budget++;
        const value = pair.value as Node | null;
        if (isScalar(pair.key) && value?.range && isSecretKey(String(pair.key.value))) this.secrets.push([value.range[0], value.range[1]]);
      },
      Node: (_key, node) => {
        if (isAlias(node)) this.aliases.set(node, latest.get(node.source));
        else if (node.anchor) latest.set(node.anchor, node);
      },
    });
  }

  /**
   * Count `n` keys read. Aliases and merge keys can make a few hundred bytes expand to millions of
   * keys (a YAML alias bomb); past the budget the document is refused at `offset`.
   */
  spend(n: number, offset: number): void {
    this.budget -= n;
    if (this.budget >= 0) return;
    this.fail(this.expanding ?? offset, `aliases and merge keys (<<) here expand to more than ${EXPANSION} keys beyond those written: refused (a YAML alias bomb?)`);
    this.throwIfFailed();
  }

  /** Record a problem at a source offset. */
  fail(offset: number, message: string, secret?: readonly [number, number]): void {
    if (this.problems.length < RECORDED) this.problems.push({ offset, message, secret });
    else this.dropped++;
  }

  get failed(): boolean {
    return this.problems.length > 0;
  }

  /** Throw every recorded problem, in source order, as one {@link ConfigErrors}. */
  throwIfFailed(): void {
    if (!this.failed) return;
    const seen = new Set<string>();
    const errors: ConfigError[] = [];
    // A problem inside an anchor that is merged into several places is found once per use.
    let more = this.dropped;
    for (const p of [...this.problems].sort((a, b) => a.offset - b.offset)) {
      const id = `${p.offset}\0${p.message}`;
      if (seen.has(id)) continue;
      seen.add(id);
      if (errors.length < SHOWN) errors.push(new ConfigError(p.message, this.pos(p.offset, p.secret)));
      else more++;
    }
    if (more > 0) errors.push(new ConfigError(`... and ${more} more problems, not shown: fix these first`));
    throw new ConfigErrors(errors);
  }

  /** The position of an offset, with the line's text (secrets masked; a long line cut around the column). */
  pos(offset: number, secret?: readonly [number, number]): SourcePos {
    const { line, col } = this.linePos(offset);
    const raw = this.lines[line - 1] ?? '';
    const shown = showLine(raw, col, this.lineSpans(line), secret && this.clip(secret, line, raw.length));
    return { file: this.file, line, col, lineText: shown.text, ...(shown.col !== col ? { caret: shown.col } : {}) };
  }

  /** 1-based line and column of a source offset. */
  private linePos(offset: number): { line: number; col: number } {
    let low = 0;
    let high = this.starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (this.starts[mid]! <= offset) low = mid;
      else high = mid - 1;
    }
    return { line: low + 1, col: offset - this.starts[low]! + 1 };
  }

  /** Whether the source range `[from, to)` overlaps a secret value anywhere. */
  touchesSecret(from: number, to: number): boolean {
    const start = this.linePos(from);
    const end = this.linePos(Math.max(from, to - 1));
    for (let line = start.line; line <= end.line; line++) {
      const a = line === start.line ? start.col - 1 : 0;
      const b = line === end.line ? end.col : Infinity;
      if (this.lineSpans(line).some(([s, e]) => s < b && e > a)) return true;
    }
    return false;
  }

  /** The secret spans of a line, sorted and merged: found in the text and in the parsed tree, once per file and line. */
  private lineSpans(line: number): Array<[number, number]> {
    let spans = this.spans.get(line);
    if (!spans) {
      this.lexical ??= lexicalSecrets(this.lines);
      this.secretLines ??= this.secretsByLine();
      this.spans.set(line, (spans = merge([...(this.lexical.get(line) ?? []), ...(this.secretLines.get(line) ?? [])])));
    }
    return spans;
  }

  /** Each secret value's columns on every line it occupies (a line on its own may not look like a secret at all). */
  private secretsByLine(): Map<number, Array<[number, number]>> {
    const byLine = new Map<number, Array<[number, number]>>();
    let covered = -1;
    // A value inside another (a secret-looking key in a secret's mapping) is masked with it.
    for (const [from, to] of [...this.secrets].sort((a, b) => a[0] - b[0])) {
      if (to <= covered) continue;
      const start = this.linePos(Math.max(from, covered));
      covered = to;
      const end = this.linePos(to);
      for (let line = start.line; line <= end.line; line++) {
        const raw = this.lines[line - 1] ?? '';
        // A continuation line keeps its indentation.
        const col = line === start.line ? start.col - 1 : Math.max(0, raw.search(/\S/));
        let spans = byLine.get(line);
        if (!spans) byLine.set(line, (spans = []));
        spans.push([col, line === end.line ? end.col - 1 : raw.length]);
      }
    }
    return byLine;
  }

  /** The part of the source range `[from, to)` on `line`, as columns. */
  private clip([from, to]: readonly [number, number], line: number, length: number): [number, number] | undefined {
    const start = this.linePos(from);
    const end = this.linePos(to);
    if (start.line > line || end.line < line) return undefined;
    return [start.line === line ? start.col - 1 : 0, end.line === line ? end.col - 1 : length];
  }

  /**
   * Follow aliases to the node they name. An unknown anchor is reported here and gives
   * `undefined`, which callers skip (the alias error says it all); no node at all is `null`.
   */
  deref(node: unknown): Node | null | undefined {
    if (!isAlias(node)) return (node as Node | null | undefined) ?? null;
    // An anchor sits on a scalar or collection, never on another alias: one step is enough.
    const target = this.aliases.get(node);
    if (!target) {
      this.fail(offsetOf(node), `unknown alias '*${node.source}': define the anchor '&${node.source}' before using it`);
    }
    return target;
  }

  /** Remember where each property of a parsed object came from, for later cross-checks. */
  setOffsets(obj: object, offsets: Map<string, number>): void {
    this.offsets.set(obj, offsets);
  }

  /** Source offset of `obj[prop]`, if `obj` was parsed from the document. */
  offsetOf(obj: object, prop: string): number | undefined {
    return this.offsets.get(obj)?.get(prop);
  }
}

/** Start offset of a node (0 when it has no range). */
export function offsetOf(node: Node | null | undefined): number {
  return node?.range?.[0] ?? 0;
}

// Values of keys that look like secrets (typos included), and passwords inside URLs, never reach
// the terminal: a message's quoted source line has them masked. Every pattern is linear in the
// line, which may be a 100 KB flow mapping: a key starts where no key character precedes it, a
// URL's userinfo is found from its `://` backwards, a query parameter's name is checked apart.
const KEY = /(?<![\w-])([\w-]+)["']?[ \t]*:(?:[ \t]+|$)/g;
const URL_USERINFO = /:\/\/(?<=[a-z][a-z0-9+.-]*:\/\/)([^\s@/]+)@/gi;
const URL_QUERY = /([?&]([\w-]*)=)([^&#\s"']+)/g;
const QUERY_SECRET = /pass|pwd|secret|token/i;
const QUOTED: Record<string, RegExp> = { '"': /"(?:[^"\\]|\\.)*(")?/y, "'": /'(?:[^']|'')*(')?/y };
const FLOW_END = /[,}\]]/g;
const COMMENT = /\s#/g;
const MASK = '***';
/** Characters of a long line shown around the caret. */
const WIDTH = 160;

/** Whether a key (maybe misspelt) holds a secret value: `password`, `db_passwd`, `pasword`... */
export function isSecretKey(key: string): boolean {
  const k = key.toLowerCase();
  if (/[-_](env|file)$/.test(k)) return false;
  const close = (w: string, to: string) => editDistance(w, to, 2) <= 2;
  return k
    .split(/[-_]/)
    .some((w) => /pass|phrase|secret|token|^pwd?$/.test(w) || close(w, 'password') || close(w, 'passphrase'));
}

/** A string with the passwords of the URLs in it masked. */
function maskUrls(s: string): string {
  return s
    .replace(URL_USERINFO, `://${MASK}@`)
    .replace(URL_QUERY, (all, param: string, name: string) => (QUERY_SECRET.test(name) ? `${param}${MASK}` : all));
}

/** Where a quoted value opened at `start` ends, and whether its closing quote is on this line. */
function quotedEnd(text: string, start: number, quote: string): { end: number; closed: boolean } {
  const re = QUOTED[quote]!;
  re.lastIndex = start;
  const m = re.exec(text);
  return { end: re.lastIndex, closed: m?.[1] !== undefined };
}

/** Where a secret value starting at `start` ends on its line, and whether it may go on below. */
function secretValueEnd(text: string, start: number, flow: boolean): { end: number; open: boolean; quote?: string } {
  const quote = text[start];
  if (quote === '"' || quote === "'") {
    const { end, closed } = quotedEnd(text, start, quote);
    return closed ? { end, open: false } : { end, open: true, quote };
  }
  // In a flow collection a plain value stops at , } ]; in block style it runs to a comment.
  const stop = flow ? FLOW_END : COMMENT;
  stop.lastIndex = start;
  const hit = stop.exec(text);
  let end = hit?.index ?? text.length;
  while (end > start && /\s/.test(text[end - 1] ?? '')) end--;
  // A plain or block value (or an empty one, with a mapping below) goes on in more indented lines.
  return { end, open: !(flow && hit) };
}

/** A secret-looking key whose value may go on in the lines below. */
interface Open {
  /** Column of the key: lines indented deeper continue its value. */
  key: number;
  /** The quote it left open: lines up to the closing one continue it. */
  quote?: string;
}

/**
 * The secrets a line shows by itself, from column `from`: values of secret-looking keys and URL
 * passwords, as column spans `[start, end)`; and the key whose value may go on below, if any.
 */
function lineSecrets(text: string, from = 0): { spans: Array<[number, number]>; open?: Open } {
  const spans: Array<[number, number]> = [];
  let open: Open | undefined;
  const flowAt = text.search(/[{[]/);
  KEY.lastIndex = from;
  for (let m = KEY.exec(text); m; m = KEY.exec(text)) {
    if (!isSecretKey(m[1] ?? '')) continue;
    const start = m.index + m[0].length;
    const value = secretValueEnd(text, start, flowAt >= 0 && flowAt < start);
    open = value.open ? { key: m.index, ...(value.quote ? { quote: value.quote } : {}) } : undefined;
    if (value.end <= start || text[start] === '#') continue;
    spans.push([start, value.end]);
    // What looks like keys inside the value is masked with it: not scanned again (quadratic on a long line).
    KEY.lastIndex = Math.max(KEY.lastIndex, value.end);
  }
  for (const m of text.matchAll(URL_USERINFO)) spans.push([m.index + 3, m.index + 3 + (m[1] ?? '').length]);
  for (const m of text.matchAll(URL_QUERY)) {
    if (!QUERY_SECRET.test(m[2] ?? '')) continue;
    const start = m.index + (m[1] ?? '').length;
    spans.push([start, start + (m[3] ?? '').length]);
  }
  return { spans, ...(open ? { open } : {}) };
}

/**
 * Secret spans by line (1-based), from the text alone: what each line shows by itself, and the
 * lines that continue a secret-looking key's value (indented deeper than the key, or inside a
 * quote it left open), even where the YAML is too broken for the parsed tree to say.
 */
function lexicalSecrets(lines: readonly string[]): Map<number, Array<[number, number]>> {
  const out = new Map<number, Array<[number, number]>>();
  let open: Open | undefined;
  for (const [i, raw] of lines.entries()) {
    const spans: Array<[number, number]> = [];
    let from = 0;
    if (open) {
      const indent = raw.search(/\S/);
      if (open.quote) {
        // The rest of an open quote: up to its closing quote (its opening is on an earlier line).
        const { end, closed } = quotedEnd(`${open.quote}${raw}`, 0, open.quote);
        spans.push([Math.max(0, indent), closed ? end - 1 : raw.length]);
        if (closed) {
          open = undefined;
          from = end - 1;
        }
      } else if (indent < 0 || indent > open.key) {
        if (indent >= 0) spans.push([indent, raw.length]);
      } else {
        open = undefined;
      }
    }
    if (!open) {
      const own = lineSecrets(raw, from);
      spans.push(...own.spans);
      open = own.open;
    }
    if (spans.length) out.set(i + 1, spans);
  }
  return out;
}

/**
 * A line as quoted under a message: `spans` masked (overlapping ones merged, so no part of a
 * secret shows), and of a long line only {@link WIDTH} characters around the caret. Returns the
 * caret's column (1-based) in the result.
 */
function showLine(text: string, col: number, spans: ReadonlyArray<readonly [number, number]>, extra?: readonly [number, number]): { text: string; col: number } {
  const c = col - 1;
  const from = text.length > WIDTH ? Math.max(0, Math.min(c - WIDTH / 2, text.length - WIDTH)) : 0;
  const to = Math.min(text.length, from + WIDTH);
  // `spans` is sorted and merged, so its ends rise too: find the first reaching into the window.
  let first = 0;
  for (let hi = spans.length; first < hi; ) {
    const mid = (first + hi) >> 1;
    if (spans[mid]![1] <= from) first = mid + 1;
    else hi = mid;
  }
  const near: Array<readonly [number, number]> = extra ? [extra] : [];
  for (let i = first; i < spans.length && spans[i]![0] < to; i++) near.push(spans[i]!);
  let out = from > 0 ? '...' : '';
  let pos = from;
  let caret: number | undefined;
  for (const [s0, e0] of merge(near)) {
    const s = Math.max(s0, from, pos);
    const e = Math.min(e0, to);
    if (e <= s) continue;
    if (caret === undefined && c < e) caret = out.length + Math.max(0, Math.min(c, s) - pos);
    out += text.slice(pos, s) + MASK;
    pos = e;
  }
  caret ??= out.length + (c - pos);
  out += text.slice(pos, to) + (to < text.length ? '...' : '');
  return { text: out, col: caret + 1 };
}

/** Spans sorted by start, overlapping ones merged (so no part of a secret shows between two masks). */
function merge(spans: Iterable<readonly [number, number]>): Array<[number, number]> {
  const merged: Array<[number, number]> = [];
  for (const [s, e] of [...spans].sort((a, b) => a[0] - b[0])) {
    const last = merged[merged.length - 1];
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else merged.push([s, e]);
  }
  return merged;
}

// ---------------------------------------------------------------------------------------------
// Fields
// ---------------------------------------------------------------------------------------------

/** `optional`: may be absent; `required`: must be present; `defaulted`: absent means a default. */
export type Mode = 'optional' | 'required' | 'defaulted';

/** Validates one (alias-resolved) node; records problems and returns undefined when invalid. */
export type Reader<T> = (node: Node | null, ctx: Ctx, path: string) => T | undefined;

interface FieldOpts<T> {
  default?: (ctx: Ctx) => T;
  /** Other spellings of the key with their own readers (`password_env`, `password_file`). */
  variants?: Record<string, Field<T, Mode>>;
}

/** How to validate the value of one key. Build with the helpers below, then refine. */
export class Field<T, M extends Mode = 'optional'> {
  constructor(
    /** What the value must be, completing "X must be ...". */
    readonly expect: string,
    readonly read: Reader<T>,
    readonly mode: M = 'optional' as M,
    readonly opts: FieldOpts<T> = {},
  ) {}

  required(): Field<T, 'required'> {
    return new Field(this.expect, this.read, 'required', this.opts);
  }

  default(value: T): Field<T, 'defaulted'> {
    return this.defaultWith(() => value);
  }

  defaultWith(make: (ctx: Ctx) => T): Field<T, 'defaulted'> {
    return new Field(this.expect, this.read, 'defaulted', { ...this.opts, default: make });
  }
}

/** A section description: YAML key → field. */
export type Shape = Record<string, Field<any, Mode>>; // eslint-disable-line @typescript-eslint/no-explicit-any

type Camel<S extends string> = S extends `${infer H}_${infer R}` ? `${H}${Capitalize<Camel<R>>}` : S;
type ValueOf<F> = F extends Field<infer T, Mode> ? T : never;
type SureKeys<S extends Shape> = { [K in keyof S]: S[K]['mode'] extends 'optional' ? never : K }[keyof S];
type Flatten<T> = { [K in keyof T]: T[K] } & {};
/** The typed result of a shape: camelCase keys, required and defaulted keys always present. */
export type Parsed<S extends Shape> = Flatten<
  { [K in SureKeys<S> & string as Camel<K>]: ValueOf<S[K]> } & {
    [K in Exclude<keyof S, SureKeys<S>> & string as Camel<K>]?: ValueOf<S[K]>;
  }
>;

/** `snake_case` → `camelCase`. */
export function camel(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** A problem with a scalar; `message` replaces "must be <expect>, got <value>". */
export class Bad {
  constructor(
    readonly message?: string,
    readonly hint?: string,
  ) {}
}

type Check<T> = (value: unknown, node: Node, ctx: Ctx) => T | Bad | undefined;

/**
 * A field holding one scalar. `check` returns the value, `undefined` for the generic
 * "must be <expect>, got <value>", or a {@link Bad} for a specific message or hint.
 * `secret` fields never quote the offending value.
 */
export function scalar<T>(expect: string, check: Check<T>, opts: { secret?: boolean } = {}): Field<T> {
  return new Field<T>(expect, (node, ctx, at) => {
    const result = isScalar(node) ? check(node.value, node, ctx) : undefined;
    if (result !== undefined && !(result instanceof Bad)) return result;
    const bad = result instanceof Bad ? result : undefined;
    const secret = opts.secret && node?.range ? ([node.range[0], node.range[1]] as const) : undefined;
    let message = bad?.message;
    if (message === undefined) {
      message = opts.secret ? `must be ${expect}` : `must be ${expect}, got ${describe(node)}`;
      const hint = bad?.hint ?? (opts.secret ? undefined : quoteHint(node, expect));
      if (hint) message += ` (${hint})`;
    }
    ctx.fail(offsetOf(node), `${at} ${message}`, secret);
    return undefined;
  });
}

/** For numbers and booleans where text was wanted: YAML reads `5.4` and `yes` as other types. */
function quoteHint(node: Node | null, expect: string): string | undefined {
  if (!isScalar(node) || !/string|name|path|version|URL/i.test(expect)) return undefined;
  if (typeof node.value !== 'number' && typeof node.value !== 'boolean') return undefined;
  return `quote it to make it text: "${node.source ?? String(node.value)}"`;
}

/** A short, safe rendering of a node for messages ("got ..."). URLs lose their passwords. */
export function describe(node: Node | null | undefined): string {
  if (node == null) return 'an empty value';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (!isScalar(node)) return 'an unsupported value';
  const v = node.value;
  if (v === null) return node.source ? String(node.source) : 'an empty value';
  if (typeof v === 'string') {
    const clean = maskUrls(v);
    return JSON.stringify(clean.length > 60 ? `${clean.slice(0, 57)}...` : clean);
  }
  return String(v);
}

/** A name as messages quote it: a long one (a key can be 100 KB) is cut. */
export function short(name: string): string {
  return name.length > 64 ? `${name.slice(0, 61)}...` : name;
}

const isNull = (node: Node | null): boolean => node == null || (isScalar(node) && node.value === null);

// ---- scalar fields -------------------------------------------------------------------------

/** A non-empty string, optionally matching `pattern`. */
export function str(expect = 'a non-empty string', pattern?: RegExp): Field<string> {
  return scalar(expect, (v) => (typeof v === 'string' && v !== '' && (!pattern || pattern.test(v)) ? v : undefined));
}

/** An integer in [min, max]. */
export function int(min: number, max?: number): Field<number> {
  const expect = max === undefined ? `an integer >= ${min}` : `an integer between ${min} and ${max}`;
  return scalar(expect, (v) =>
    typeof v === 'number' && Number.isInteger(v) && v >= min && (max === undefined || v <= max) ? v : undefined,
  );
}

/** `true` or `false` (YAML 1.2: `yes`/`no`/`on`/`off` are strings, and rejected). */
export const bool = (): Field<boolean> =>
  scalar('true or false', (v) => (typeof v === 'boolean' ? v : undefined));

/** One of a fixed set of values, with a did-you-mean for near misses. */
export function oneOf<const V extends string | boolean>(values: readonly V[]): Field<V> {
  return scalar(`one of ${values.join(', ')}`, (v, _node, ctx) => {
    if ((values as readonly unknown[]).includes(v)) return v as V;
    const close = typeof v === 'string' ? suggest(v, values.filter((x) => typeof x === 'string'), ctx.suggestions) : undefined;
    return new Bad(undefined, close && `did you mean '${short(close)}'?`);
  });
}

const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const HOSTNAME = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*\\.?$`);

/** A hostname, IPv4 or IPv6 address (brackets around IPv6 are accepted and dropped). */
export function isHostAddress(s: string): boolean {
  if (net.isIP(s)) return true;
  // Only digits and dots is a mistyped IPv4 address, not a hostname.
  return !/^[\d.]+$/.test(s) && HOSTNAME.test(s);
}

export const address = (): Field<string> =>
  scalar('a hostname or IP address', (v) => {
    if (typeof v !== 'string') return undefined;
    const bare = /^\[(.*)\]$/.exec(v)?.[1];
    if (bare !== undefined) return net.isIPv6(bare) ? bare : undefined;
    return isHostAddress(v) ? v : undefined;
  });

/** `host:port`, IPv6 as `[addr]:port`. */
/** `host:port`, IPv6 as `[addr]:port`, port 1-65535. */
export function isHostPort(v: string): boolean {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(v) ?? /^([^:[\]]+):(\d+)$/.exec(v);
  if (!m) return false;
  const [, host = '', port = ''] = m;
  const okHost = v.startsWith('[') ? net.isIPv6(host) : isHostAddress(host);
  return okHost && Number(port) >= 1 && Number(port) <= 65535;
}

export const hostPort = (): Field<string> =>
  scalar('host:port (IPv6 as [addr]:port)', (v) => (typeof v === 'string' && isHostPort(v) ? v : undefined));

/** Expand `~` and resolve a relative path against the inventory's directory. */
export function expandPath(p: string, base: PathBase): string | Bad {
  if (p === '~') return base.home;
  if (p.startsWith('~/')) return path.join(base.home, p.slice(2));
  if (p.startsWith('~')) return new Bad(`uses '${p.split('/')[0]}': only '~/' (your home) is supported`);
  return path.resolve(base.dir, p);
}

/** A local file path: `~` expanded, relative to the inventory file. */
export const localPath = (): Field<string> =>
  scalar('a file path', (v, _node, ctx) => (typeof v === 'string' && v !== '' ? expandPath(v, ctx.paths) : undefined));

/** An absolute POSIX path on a remote host. */
export const absPath = (): Field<string> =>
  scalar('an absolute path', (v) => (typeof v === 'string' && path.posix.isAbsolute(v) ? v : undefined));

/** A URL with one of `protocols` (like `https:`); `more` adds checks on the parsed URL (and its text as written). */
export function url(protocols: readonly string[], more?: (u: URL, text: string) => Bad | undefined): Field<string> {
  const schemes = protocols.map((p) => `${p}//`).join(', ');
  return scalar(`a URL starting with ${schemes}`, (v) => {
    if (typeof v !== 'string') return undefined;
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      return undefined;
    }
    if (!protocols.includes(u.protocol)) return undefined;
    return more?.(u, v) ?? v;
  });
}

/** A list of items, optionally non-empty. */
export function list<T>(item: Field<T, Mode>, opts: { nonEmpty?: boolean } = {}): Field<T[]> {
  const expect = `a list of ${item.expect}`;
  return new Field<T[]>(expect, (node, ctx, at) => {
    if (!isSeq(node)) {
      ctx.fail(offsetOf(node), `${at} must be ${expect}, got ${describe(node)}`);
      return undefined;
    }
    if (opts.nonEmpty && node.items.length === 0) {
      ctx.fail(offsetOf(node), `${at} must not be empty: give at least one ${item.expect}`);
      return undefined;
    }
    const out = node.items.map((it, i) => {
      const value = ctx.deref(it);
      return value === undefined ? undefined : item.read(value, ctx, `${at}[${i}]`);
    });
    return out.every((x) => x !== undefined) ? (out as T[]) : undefined;
  });
}

/** A mapping of free-form keys to strings, numbers or booleans (driver options). */
export const scalarMap = (): Field<Record<string, string | number | boolean>> => {
  const expect = 'a mapping of names to strings, numbers or booleans';
  return new Field(expect, (node, ctx, at) => {
    if (!isMap(node)) {
      ctx.fail(offsetOf(node), `${at} must be ${expect}, got ${describe(node)}`);
      return undefined;
    }
    const out: Record<string, string | number | boolean> = {};
    for (const e of entries(node, ctx, `in ${at}`)) {
      if (e.value === undefined) continue;
      const v = isScalar(e.value) ? e.value.value : undefined;
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[e.key] = v;
      else {
        const where = e.value ? offsetOf(e.value) : e.keyOffset;
        ctx.fail(where, `${at}.${short(e.key)} must be a string, number or boolean, got ${describe(e.value)}`);
      }
    }
    return out;
  });
};

/** A mapping node, returned as is (validated later by the caller). */
export const mapping = (expect: string): Field<YAMLMap> =>
  new Field<YAMLMap>(expect, (node, ctx, at) => {
    if (isMap(node)) return node;
    ctx.fail(offsetOf(node), `${at} must be ${expect}, got ${describe(node)}`);
    return undefined;
  });

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * A secret: `key` (literal), `key_env` (environment variable name) or `key_file` (path);
 * exactly one of them. Literal values are never quoted in messages.
 */
export function secret(): Field<SecretRef> {
  const literal = scalar<SecretRef>(
    'a non-empty string',
    (v) => (typeof v === 'string' && v !== '' ? { kind: 'literal', value: v } : undefined),
    { secret: true },
  );
  const env = scalar<SecretRef>('an environment variable name ([A-Za-z_][A-Za-z0-9_]*)', (v) =>
    typeof v === 'string' && ENV_NAME.test(v) ? { kind: 'env', name: v } : undefined,
  );
  const file = scalar<SecretRef>('a file path', (v, _n, ctx) => {
    if (typeof v !== 'string' || v === '') return undefined;
    const p = expandPath(v, ctx.paths);
    return p instanceof Bad ? p : { kind: 'file', path: p };
  });
  return new Field(literal.expect, literal.read, 'optional', { variants: { _env: env, _file: file } });
}

// ---------------------------------------------------------------------------------------------
// Objects
// ---------------------------------------------------------------------------------------------

/** One key of a mapping, merge keys (`<<`) already applied and aliases resolved. */
export interface Entry {
  key: string;
  keyOffset: number;
  /** `undefined`: an alias to an unknown anchor, already reported. */
  value: Node | null | undefined;
}

const isMergeKey = (k: unknown): boolean => isScalar(k) && typeof k.value === 'symbol' && k.value.description === '<<';

/**
 * The entries of a mapping in order, with `<<` merges expanded (explicit keys win, then earlier
 * merge sources). Duplicate keys and non-scalar keys are reported. `where` is "in host 'x'".
 */
export function entries(map: YAMLMap, ctx: Ctx, where: string, merging = new Set<YAMLMap>()): Entry[] {
  const explicit = new Map<string, number>();
  const out: Entry[] = [];
  const taken = new Set<string>();
  const plan: Array<Entry | { at: number; sources: YAMLMap[] }> = [];
  merging.add(map);
  ctx.spend(map.items.length, offsetOf(map));
  for (const pair of map.items) {
    if (isMergeKey(pair.key)) {
      plan.push({ at: offsetOf(pair.key as Node), sources: mergeSources(pair.value, ctx) });
      continue;
    }
    const keyNode = ctx.deref(pair.key);
    const keyOffset = offsetOf(pair.key as Node);
    const value = ctx.deref(pair.value);
    if (keyNode === undefined) continue;
    if (!isScalar(keyNode) || keyNode.value === null || typeof keyNode.value === 'symbol') {
      ctx.fail(keyOffset, `keys must be plain names, got ${describe(keyNode)} ${where}`);
      continue;
    }
    // `101:` is a number to YAML; the name is what was written.
    const key = typeof keyNode.value === 'string' ? keyNode.value : (keyNode.source ?? String(keyNode.value));
    const first = explicit.get(key);
    if (first !== undefined) {
      ctx.fail(keyOffset, `duplicate key '${short(key)}' ${where} (first defined on line ${ctx.pos(first).line})`);
      continue;
    }
    explicit.set(key, keyOffset);
    plan.push({ key, keyOffset, value });
  }
  for (const step of plan) {
    if ('key' in step) {
      out.push(step);
      continue;
    }
    if (merging.size > MERGE_DEPTH) {
      ctx.fail(ctx.expanding ?? step.at, `merge keys (<<) nest more than ${MERGE_DEPTH} deep ${where}`);
      continue;
    }
    const outermost = ctx.expanding === undefined;
    if (outermost) ctx.expanding = step.at;
    try {
      for (const source of step.sources) {
        if (merging.has(source)) continue; // an anchor merged into itself
        for (const e of entries(source, ctx, where, new Set(merging))) {
          if (explicit.has(e.key) || taken.has(e.key)) continue;
          taken.add(e.key);
          out.push(e);
        }
      }
    } finally {
      if (outermost) ctx.expanding = undefined;
    }
  }
  return out;
}

function mergeSources(value: unknown, ctx: Ctx): YAMLMap[] {
  const node = ctx.deref(value);
  if (node === undefined) return [];
  const items = isSeq(node) ? node.items.map((it) => ({ it, target: ctx.deref(it) })) : [{ it: value, target: node }];
  for (const { it, target } of items) {
    // Point at what was written here (usually an alias), not at the anchor it names.
    if (target !== undefined && !isMap(target)) {
      const expect = 'a mapping, an alias to one, or a list of them';
      ctx.fail(offsetOf(it as Node), `'<<' (merge) needs ${expect}, got ${describe(target)}`);
    }
  }
  return items.map((x) => x.target).filter((t): t is YAMLMap => isMap(t));
}

/** The raw result of reading a mapping: valid values by YAML key, and where keys were found. */
export interface RawObject {
  values: Map<string, unknown>;
  /** Offset of each key's value (also for invalid values: their problem is already recorded). */
  offsets: Map<string, number>;
  /** Keys given an empty value, meaning "not set" (optional fields only). */
  nulled: Set<string>;
  /** Offset of the mapping itself (missing keys are reported here). */
  offset: number;
}

/** Where a mapping is, for messages: `path` prefixes values, `where` follows "unknown key 'x'". */
export interface At {
  path: string;
  where: string;
  /** Keys to skip silently (like `x-*` keys that only hold YAML anchors). */
  ignore?: (key: string) => boolean;
}

/** Read a mapping against a shape, without defaults or required checks (see {@link finish}). */
export function readObject(map: YAMLMap, shape: Shape, ctx: Ctx, at: At): RawObject {
  const keys = new Map<string, { name: string; field: Field<unknown, Mode>; nullable: boolean }>();
  for (const [name, field] of Object.entries(shape)) {
    // An empty value (`key:`, `key: null`, `key: ~`) of an optional key means "not set" (and
    // hides a value from `defaults`); keys with a default or required ones must have a value.
    const nullable = field.mode === 'optional';
    keys.set(name, { name, field, nullable });
    for (const [suffix, variant] of Object.entries(field.opts.variants ?? {})) {
      keys.set(name + suffix, { name, field: variant, nullable });
    }
  }
  const raw: RawObject = { values: new Map(), offsets: new Map(), nulled: new Set(), offset: offsetOf(map) };
  const spelledAs = new Map<string, string>();
  for (const e of entries(map, ctx, at.where)) {
    const hit = keys.get(e.key);
    if (!hit && at.ignore?.(e.key)) continue;
    if (!hit) {
      const close = suggest(e.key, keys.keys(), ctx.suggestions);
      ctx.fail(e.keyOffset, `unknown key '${short(e.key)}' ${at.where}${close ? ` (did you mean '${close}'?)` : ''}`);
      continue;
    }
    const child = at.path ? `${at.path}.${e.key}` : e.key;
    const other = spelledAs.get(hit.name);
    if (other !== undefined) {
      const all = [hit.name, ...Object.keys(keys.get(hit.name)?.field.opts.variants ?? {}).map((s) => hit.name + s)];
      ctx.fail(e.keyOffset, `${child}: give only one of ${all.join(', ')} (found '${other}' too)`);
      continue;
    }
    spelledAs.set(hit.name, e.key);
    // `key:` with nothing after it has a zero-width value at the end of the line: point at the key.
    const empty = !e.value?.range || (isScalar(e.value) && e.value.source === '');
    const valueOffset = empty ? e.keyOffset : offsetOf(e.value);
    raw.offsets.set(hit.name, valueOffset);
    if (e.value === undefined) continue;
    if (isNull(e.value)) {
      if (hit.nullable) raw.nulled.add(hit.name);
      else ctx.fail(valueOffset, `${child} must be ${hit.field.expect}, got ${describe(e.value)}`);
      continue;
    }
    const v = hit.field.read(e.value, ctx, child);
    if (v !== undefined) raw.values.set(hit.name, v);
  }
  return raw;
}

/** Layer `over` on `base` (a host over `defaults`): any key present in `over` wins. */
export function overlay(base: RawObject, over: RawObject): RawObject {
  const out: RawObject = {
    values: new Map(base.values),
    offsets: new Map(base.offsets),
    nulled: new Set(),
    offset: over.offset,
  };
  for (const [key, offset] of over.offsets) {
    out.values.delete(key);
    out.offsets.set(key, offset);
    if (over.values.has(key)) out.values.set(key, over.values.get(key));
  }
  for (const key of over.nulled) out.nulled.add(key);
  for (const key of base.nulled) if (!over.offsets.has(key)) out.nulled.add(key);
  return out;
}

/** Report a cross-field problem at a key of the object (camelCase) or at the mapping. */
export type Report = (message: string, prop?: string) => void;

/** Apply defaults, report missing required keys, rename to camelCase, then run `refine`. */
export function finish<S extends Shape>(
  raw: RawObject,
  shape: S,
  ctx: Ctx,
  where: string,
  refine?: (value: Parsed<S>, report: Report) => void,
): Parsed<S> {
  const out: Record<string, unknown> = {};
  const offsets = new Map<string, number>();
  for (const [key, field] of Object.entries(shape)) {
    const prop = camel(key);
    const offset = raw.offsets.get(key);
    if (raw.values.has(key)) {
      out[prop] = raw.values.get(key);
      if (offset !== undefined) offsets.set(prop, offset);
    } else if (offset !== undefined && !raw.nulled.has(key)) {
      // present but invalid: already reported
    } else if (field.mode === 'required') {
      ctx.fail(raw.offset, `missing required key '${key}' ${where}`);
    } else if (field.opts.default) {
      out[prop] = field.opts.default(ctx);
    }
  }
  ctx.setOffsets(out, offsets);
  const value = out as Parsed<S>;
  refine?.(value, (message, prop) => ctx.fail((prop ? offsets.get(prop) : undefined) ?? raw.offset, message));
  return value;
}

/** A nested section: a mapping validated against `shape`. */
export function object<S extends Shape>(
  shape: S,
  refine?: (value: Parsed<S>, report: Report) => void,
): Field<Parsed<S>> {
  const expect = 'a mapping';
  return new Field<Parsed<S>>(expect, (node, ctx, at) => {
    if (!isMap(node)) {
      ctx.fail(offsetOf(node), `${at} must be ${expect}, got ${describe(node)}`);
      return undefined;
    }
    const where = `in ${at}`;
    return finish(readObject(node, shape, ctx, { path: at, where }), shape, ctx, where, refine);
  });
}

/** The value of a section that was left out entirely: its defaults. */
export function emptyObject<S extends Shape>(shape: S, ctx: Ctx, where: string): Parsed<S> {
  return finish({ values: new Map(), offsets: new Map(), nulled: new Set(), offset: 0 }, shape, ctx, where);
}

// ---------------------------------------------------------------------------------------------
// Did you mean
// ---------------------------------------------------------------------------------------------

/**
 * Edit distance (insert, delete, substitute), or `max + 1` when it is more than `max`. Only the
 * band of the table within `max` of the diagonal is filled: linear in the length, so a 20,000
 * character name costs no more than a short one times its length (a full table took 25 s).
 */
export function editDistance(a: string, b: string, max: number): number {
  const over = max + 1;
  if (Math.abs(a.length - b.length) > max) return over;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => (j <= max ? j : over));
  let cur = new Array<number>(b.length + 1).fill(over);
  for (let i = 1; i <= a.length; i++) {
    const lo = Math.max(1, i - max);
    const hi = Math.min(b.length, i + max);
    // The cells just outside the band hold `over`: the next row reads them.
    cur[lo - 1] = lo === 1 ? Math.min(i, over) : over;
    if (hi < b.length) cur[hi + 1] = over;
    let least = cur[lo - 1]!;
    for (let j = lo; j <= hi; j++) {
      const sub = prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      cur[j] = Math.min(sub, prev[j]! + 1, cur[j - 1]! + 1, over);
      least = Math.min(least, cur[j]!);
    }
    if (least > max) return over;
    [prev, cur] = [cur, prev];
  }
  return prev[b.length]!;
}

/** Candidates compared per document before "did you mean" gives up (a fleet of thousands of unknown names would be quadratic). */
export const SUGGESTION_BUDGET = 100_000;
/** Longer names get no suggestion: nobody misspells a 65-character name by two letters. */
const SUGGEST_MAX = 64;

/**
 * The candidate closest to `word`: within edit distance 2, or sharing a prefix of at least 3
 * characters (either way round); case, `-` and `_` differences are ignored. Undefined when none,
 * when `word` is longer than 64 characters, or once `budget.left` candidates have been compared.
 */
export function suggest(word: string, candidates: Iterable<string>, budget = { left: Infinity }): string | undefined {
  if (word.length > SUGGEST_MAX) return undefined;
  const norm = (s: string) => s.toLowerCase().replace(/[-_]/g, '');
  const w = norm(word);
  let best: { name: string; score: number } | undefined;
  for (const name of candidates) {
    if (budget.left-- <= 0) return undefined;
    if (name.length > SUGGEST_MAX) continue;
    const c = norm(name);
    const d = editDistance(w, c, 2);
    const prefix = Math.min(w.length, c.length) >= 3 && (c.startsWith(w) || w.startsWith(c));
    if (d > 2 && !prefix) continue;
    const score = d <= 2 ? d : 3 + Math.abs(c.length - w.length);
    if (!best || score < best.score) best = { name, score };
  }
  return best?.name;
}
