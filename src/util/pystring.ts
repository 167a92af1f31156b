/**
 * Python string literals, one character at a time: a leaf module, so that both the literal writer
 * (quote.ts) and the masker (secret.ts, which must recognise a secret in its written form) use the
 * same escapes.
 */

/** What starts Jinja syntax: Ansible renders the deploy host's settings file through Jinja. */
export const JINJA_OPENERS = ['{', '%', '#'];

/**
 * The literal's text for one code point `ch`, given the code point written after it (undefined at
 * the end). `\\` and `'` are escaped, everything outside printable ASCII too (`\xNN`, `\uNNNN`,
 * `\UNNNNNNNN`), and a `{` that would open Jinja syntax (`{{`, `{%`, `{#`) is written `\x7b`:
 * the same value for Python, plain text for Jinja. Any other `{` stays readable.
 */
export function pyChar(ch: string, next: string | undefined): string {
  const cp = ch.codePointAt(0)!;
  if (ch === '\\') return '\\\\';
  if (ch === "'") return "\\'";
  if (ch === '{' && next !== undefined && JINJA_OPENERS.includes(next)) return '\\x7b';
  if (cp >= 0x20 && cp <= 0x7e) return ch;
  if (cp <= 0xff) return '\\x' + hex(cp, 2);
  if (cp <= 0xffff) return '\\u' + hex(cp, 4);
  return '\\U' + hex(cp, 8);
}

/** The inside of a single-quoted Python literal for `s` (without the quotes). */
export function pyStringBody(s: string): string {
  // Array.from walks code points, so astral characters become one \U escape and lone surrogates a \u.
  const chars = Array.from(s);
  return chars.map((ch, i) => pyChar(ch, chars[i + 1])).join('');
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}
