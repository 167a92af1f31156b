/**
 * Pure: what Jinja does to the deploy host's settings file. kolla-ansible renders
 * `<node_custom_config>/horizon/[<host>/]_9999-custom-settings.py` with Ansible's template module
 * (Jinja2, trim_blocks, keep_trailing_newline), so our block must hold no Jinja syntax, and the
 * operator's text around it may hold some.
 */
import { InternalError } from '../errors.js';

/** What opens Jinja syntax with Ansible's default delimiters: an expression, a statement, a comment. */
const OPENER = /\{[{%#]/;

/** Where `text` opens Jinja syntax first, as 1-based line and column; null when it never does. */
export function jinjaOpener(text: string): { line: number; col: number } | null {
  const m = OPENER.exec(text);
  return m ? position(text, m.index) : null;
}

/**
 * Our block must render through Jinja byte for byte: a `{{`, `{%` or `{#` in it means a value got
 * past pyLiteral's escape, which is a bug, so nothing is written.
 */
export function assertJinjaInert(block: string, where: string): void {
  const at = jinjaOpener(block);
  if (at) throw new InternalError(`the managed block for ${where} would hold Jinja syntax at its line ${at.line}, column ${at.col}; nothing written`);
}

/** A file Python can parse in place of a template, or why the template cannot be read. */
export type AsPython = { text: string; templated: boolean } | { error: { line: number; col: number; msg: string } };

/** Ansible applies a first line `#jinja2: ...` as Jinja options (delimiters included) and drops it. */
export const JINJA_HEADER = '#jinja2:';

/**
 * The template's text as Python sees the parts Jinja leaves alone, at the same lines and columns:
 * `{% ... %}` and `{# ... #}` become spaces (an `{% if %}` line is no Python), `{{ ... }}` becomes
 * underscores, which read as a name outside a string and as text inside one (`'{{ key }}'` keeps
 * its quotes). `{% raw %}` content stays as it is. What this cannot express (an expression glued
 * to a number, a tag before code on a line) then fails Python's parse, naming the line. Refused
 * here: a `#jinja2:` header, an unclosed tag, a raw without its endraw, an `{% extends %}`.
 */
export function jinjaAsPython(source: string): AsPython {
  if (source.startsWith(JINJA_HEADER)) {
    return { error: { line: 1, col: 1, msg: `a '${JINJA_HEADER}' header changes how Ansible renders the file (its delimiters too), so sessionctl cannot tell what its block would become; remove the header` } };
  }
  const out = source.split('');
  const blank = (from: number, to: number, fill: string) => {
    for (let i = from; i < to; i++) if (out[i] !== '\n' && out[i] !== '\r') out[i] = fill;
  };
  let templated = false;
  const opener = new RegExp(OPENER.source, 'g');
  for (let m = opener.exec(source); m; m = opener.exec(source)) {
    const start = m.index;
    templated = true;
    const kind = source[start + 1];
    const end = kind === '#' ? source.indexOf('#}', start + 2) : tagEnd(source, start + 2, kind === '{' ? '}}' : '%}');
    if (end < 0) return { error: { ...position(source, start), msg: `a Jinja ${kind === '{' ? '{{' : kind === '%' ? '{%' : '{#'} that is never closed` } };
    // A child template renders only its {% block %}s: our block, appended outside them, would vanish.
    if (kind === '%' && /^\{%[-+]?\s*extends\b/.test(source.slice(start, end + 2))) {
      return { error: { ...position(source, start), msg: 'a template that extends another renders only its blocks, so the managed block appended to it would be dropped' } };
    }
    blank(start, end + 2, kind === '{' ? '_' : ' ');
    opener.lastIndex = end + 2;
    if (kind === '%' && /^\{%[-+]?\s*raw\s*[-+]?%\}$/.test(source.slice(start, end + 2))) {
      const endraw = /\{%[-+]?\s*endraw\s*[-+]?%\}/g;
      endraw.lastIndex = end + 2;
      const close = endraw.exec(source);
      if (!close) return { error: { ...position(source, start), msg: 'a Jinja {% raw %} without its {% endraw %}' } };
      blank(close.index, close.index + close[0].length, ' ');
      opener.lastIndex = close.index + close[0].length;
    }
  }
  return { text: out.join(''), templated };
}

/**
 * The index of `close` ending a tag whose body starts at `from`. Like Jinja's lexer, a `}}` inside
 * a string or inside brackets (`{{ {'a': {'b': 1}} }}`) does not end it.
 */
function tagEnd(source: string, from: number, close: string): number {
  let quote: string | null = null;
  let depth = 0;
  for (let i = from; i < source.length; i++) {
    const ch = source[i]!;
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = null;
    } else if (ch === "'" || ch === '"') quote = ch;
    else if (depth === 0 && source.startsWith(close, i)) return i;
    else if ('{(['.includes(ch)) depth++;
    else if ('})]'.includes(ch)) depth = Math.max(0, depth - 1);
  }
  return -1;
}

/**
 * Text placed after `before` starts a line of its own once rendered, unless `before` ends with a
 * tag whose end eats the newline: trim_blocks drops the one newline right after `%}` or `#}` (a
 * lone \r too: Jinja's lexer takes \r\n, \r and \n as newlines), and a `-%}`, `-#}`, `-}}` drops
 * every blank after it. (Conservative: a tag alone on its line would only lose an empty line.)
 */
export function tagEatsNewline(before: string): boolean {
  return /[%#]\}(?:\r\n|\r|\n)$/.test(before) || /-[%#}]\}\s*$/.test(before);
}

/** The line put between such a tag and our block, so the block's first line stays its own line. */
export const TAG_GUARD = '# (sessionctl: this line keeps the Jinja tag above from joining the managed block below)';

/** Lines counted as Python and Jinja count them (\r\n, \r, \n), as locate.py's line numbers are. */
function position(text: string, index: number): { line: number; col: number } {
  const breaks = [...text.slice(0, index).matchAll(/\r\n|\r|\n/g)];
  const last = breaks[breaks.length - 1];
  return { line: breaks.length + 1, col: index - (last ? last.index! + last[0].length : 0) + 1 };
}
