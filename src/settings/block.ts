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
 * statements on the block's names commented out. Every other line keeps its exact bytes.
 * `assignments` come from parsing `original` with Python's own ast (locate.py). `jinja`: the file
 * is a template (the deploy host's): templated statements stay, and a tag that would eat the
 * newline before the block gets a guard line after it.
 */
export function patchSettings(original: string, block: string, owned: string[], assignments: Assignment[], opts: { jinja?: boolean } = {}): PatchResult {
  const eol = original.includes('\r\n') ? '\r\n' : '\n';
  const lines = original.length ? original.split(/\r?\n/) : [];
  // A file ending in a newline splits into a trailing '' we do not treat as a line.
  const endsWithNewline = original.length > 0 && /\n$/.test(original);
  if (endsWithNewline) lines.pop();

  const begin = lines.findIndex((l) => l.startsWith(BLOCK_BEGIN));
  const end = lines.findIndex((l, i) => i > begin && l === BLOCK_END);
  if (begin >= 0 && end < 0) {
    throw new Error(`the file has '${BLOCK_BEGIN}' on line ${begin + 1} but no '${BLOCK_END}' after it; fix the block by hand`);
  }
  const inOldBlock = (line: number) => begin >= 0 && line - 1 >= begin && line - 1 <= end;

  const ownedSet = new Set(owned);
  const relevant = assignments.filter((a) => !inOldBlock(a.line) && (ownedSet.has(a.name) || a.name === '*'));
  const isTemplated = (a: Assignment) => Boolean(opts.jinja) && jinjaOpener(lines.slice(a.line - 1, a.endLine).join('\n')) !== null;
  const templated = relevant.filter((a) => a.topLevel && a.name !== '*' && isTemplated(a));
  const neutralised = relevant.filter((a) => a.topLevel && a.name !== '*' && !isTemplated(a));
  const leftAlone = relevant.filter((a) => !a.topLevel || a.name === '*');
  const toComment = new Set<number>();
  for (const a of neutralised) for (let l = a.line; l <= a.endLine; l++) toComment.add(l - 1);

  const kept: string[] = [];
  lines.forEach((line, i) => {
    if (begin >= 0 && i >= begin && i <= end) return;
    kept.push(toComment.has(i) ? NEUTRALISED + line : line);
  });
  if (opts.jinja && tagEatsNewline(kept.length ? kept.join(eol) + eol : '')) kept.push(TAG_GUARD);
  const body = kept.length ? kept.join(eol) + eol : '';
  return { text: body + block.split('\n').join(eol) + eol, neutralised, leftAlone, templated };
}

/** Pure: a unified diff of a settings file (empty string when nothing changes). */
export function unifiedDiff(path: string, before: string, after: string): string {
  if (before === after) return '';
  return createTwoFilesPatch(`${path} (now)`, `${path} (after sessionctl)`, before, after, undefined, undefined, { context: 3 });
}
