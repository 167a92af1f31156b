import { createTwoFilesPatch } from 'diff';
import { pyLiteral, type PyValue } from '../util/quote.js';
import { TAG_GUARD, jinjaOpener, tagEatsNewline } from './jinja.js';

/** Marker lines of the one block sessionctl owns in a settings file. */
export const BLOCK_BEGIN = '# BEGIN sessionctl managed block';
export const BLOCK_END = '# END sessionctl managed block';
/** Prefix of a line sessionctl commented out (the original line follows it verbatim). */
export const NEUTRALISED = '# sessionctl: ';

/** A top-level or nested statement that touches a managed name (from locate.py, Python's ast). */
export interface Assignment {
  name: string;
  line: number;
  endLine: number;
  topLevel: boolean;
  kind: 'assign' | 'item' | 'call' | 'aug' | 'del' | 'import';
}

/** Ordered settings: name -> Python value. Order is kept so the block is byte-stable. */
export type SettingsBlock = [name: string, value: PyValue][];

/**
 * Pure: the managed block's text (no trailing newline). Every value goes through pyLiteral;
 * `prelude` is constant code from sessionctl's own source (never built from a value).
 */
export function renderBlock(settings: SettingsBlock, why: string, prelude?: string): string {
  return [
    `${BLOCK_BEGIN} (${why}; edit through sessionctl, 'sessionctl rollback' restores the previous file)`,
    ...(prelude ? [prelude] : []),
    ...settings.map(([name, value]) => `${name} = ${pyLiteral(value)}`),
    BLOCK_END,
  ].join('\n');
}

export interface PatchResult {
  text: string;
  /** Earlier top-level statements now commented out. */
  neutralised: Assignment[];
  /** Nested statements (inside if/try/...) left alone: our block comes later and wins. */
  leftAlone: Assignment[];
  /** Templated statements (Jinja in their lines) left alone: what Jinja renders into a comment could end it. */
  templated: Assignment[];
}

/**
 * Pure: the file with our block (replacing an earlier one, at the end) and earlier top-level
 * statements on the block's names commented out. Every other byte stays as it was, line endings
 * included (LF, CRLF, lone CR, mixed); the lines added end the way most of the file's lines do.
 * `assignments` come from parsing `original` with Python's own ast (locate.py). `jinja`: the file
 * is a template (the deploy host's): templated statements stay, and a tag that would eat the
 * newline before the block gets a guard line after it.
 */
export function patchSettings(original: string, block: string, owned: string[], assignments: Assignment[], opts: { jinja?: boolean } = {}): PatchResult {
  const lines = splitLines(original);
  const eol = dominantEnding(lines);

  const begin = lines.findIndex((l) => l.text.startsWith(BLOCK_BEGIN));
  const end = lines.findIndex((l, i) => i > begin && l.text === BLOCK_END);
  if (begin >= 0 && end < 0) {
    throw new Error(`the file has '${BLOCK_BEGIN}' on line ${begin + 1} but no '${BLOCK_END}' after it; fix the block by hand`);
  }
  const inOldBlock = (line: number) => begin >= 0 && line - 1 >= begin && line - 1 <= end;

  const ownedSet = new Set(owned);
  const relevant = assignments.filter((a) => !inOldBlock(a.line) && (ownedSet.has(a.name) || a.name === '*'));
  const isTemplated = (a: Assignment) => Boolean(opts.jinja) && jinjaOpener(lines.slice(a.line - 1, a.endLine).map((l) => l.text).join('\n')) !== null;
  const templated = relevant.filter((a) => a.topLevel && a.name !== '*' && isTemplated(a));
  const neutralised = relevant.filter((a) => a.topLevel && a.name !== '*' && !isTemplated(a));
  const leftAlone = relevant.filter((a) => !a.topLevel || a.name === '*');
  const toComment = new Set<number>();
  for (const a of neutralised) for (let l = a.line; l <= a.endLine; l++) toComment.add(l - 1);

  // Each kept line keeps its own ending; only a last line without one gets one, for the block.
  let body = '';
  lines.forEach((line, i) => {
    if (begin >= 0 && i >= begin && i <= end) return;
    body += (toComment.has(i) ? NEUTRALISED : '') + line.text + line.eol;
  });
  if (body && !/[\r\n]$/.test(body)) body += eol;
  if (opts.jinja && tagEatsNewline(body)) body += TAG_GUARD + eol;
  return { text: body + block.split('\n').join(eol) + eol, neutralised, leftAlone, templated };
}

/** A line and the break that ends it ('' for a last line without one). */
export interface Line {
  text: string;
  eol: '' | '\n' | '\r\n' | '\r';
}

/**
 * Pure: `text` in lines as Python's tokenizer counts them (locate.py's line numbers): a break is
 * \r\n, a lone \r or \n, nothing else (not \f, \v or U+2028, which str.splitlines would split on).
 */
export function splitLines(text: string): Line[] {
  const lines: Line[] = [];
  const breaks = /\r\n|\r|\n/g;
  let from = 0;
  for (let m = breaks.exec(text); m; m = breaks.exec(text)) {
    lines.push({ text: text.slice(from, m.index), eol: m[0] as Line['eol'] });
    from = breaks.lastIndex;
  }
  if (from < text.length) lines.push({ text: text.slice(from), eol: '' });
  return lines;
}

/**
 * The ending for the lines sessionctl adds: the file's most common one, so a file that is all CRLF
 * (or all CR) stays uniform for the editors and tools that keep it so; LF on a tie or in a file
 * without any break (what Python, Django and Kolla's own files use).
 */
function dominantEnding(lines: Line[]): Line['eol'] {
  const count: Record<Line['eol'], number> = { '': 0, '\n': 0, '\r\n': 0, '\r': 0 };
  for (const l of lines) if (l.eol) count[l.eol]++;
  let best: Line['eol'] = '\n';
  for (const e of ['\r\n', '\r'] as const) if (count[e] > count[best]) best = e;
  return best;
}

/**
 * Pure: a unified diff of a settings file (empty string when nothing changes). A lone CR is shown
 * as `␍` ending its line: the diff then has the lines Python sees, and a terminal does not print
 * the text after a CR over the text before it.
 */
export function unifiedDiff(path: string, before: string, after: string): string {
  if (before === after) return '';
  const shown = (text: string) => text.replace(/\r(?!\n)/g, '␍\n');
  return createTwoFilesPatch(`${path} (now)`, `${path} (after sessionctl)`, shown(before), shown(after), undefined, undefined, { context: 3 });
}
