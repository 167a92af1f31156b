/**
 * Secrets that do not leak by accident: a {@link Secret} prints as `***` through every
 * stringification path, and {@link masker} scrubs known secret values out of any text that is
 * about to be logged or shown, as a second line of defence for values that escaped as plain strings.
 */

import { inspect } from 'node:util';
import { ConfigError } from '../errors.js';
import { FILE_LIMITS, readLocalFile } from './files.js';
import { pyChar } from './pystring.js';
import { visible } from './controls.js';
import { yamlMapFile } from './yaml-map.js';

const MASK = '***';

/**
 * A secret string. Only {@link Secret.reveal} gives the value; `String()`, template literals,
 * `JSON.stringify` and `console.log`/`util.inspect` all give `***`. Constructing one registers
 * the value with the process-wide {@link masker}, so a revealed copy that ends up in a log line or
 * an error message is still masked.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    if (typeof value !== 'string') throw new TypeError('Secret value must be a string');
    this.#value = value;
    masker.add(value);
  }

  /** The real value: call this only where it is handed to the remote side. */
  reveal(): string {
    return this.#value;
  }

  /** Always `***`. */
  toString(): string {
    return MASK;
  }

  /** Always `***`, so a Secret inside a JSON report stays masked. */
  toJSON(): string {
    return MASK;
  }

  /** Always `***`, for `console.log` and `util.inspect`. */
  [inspect.custom](): string {
    return MASK;
  }
}

/**
 * Registry of secret values to scrub from text. Besides the raw value it masks the forms a value
 * takes on its way into logs: URL-encoded (any mix of raw and `%XX` characters, either hex case,
 * `+` for space), JSON-escaped, the interior of a POSIX single-quoted shell word, and the interior
 * of a Python string literal (as a settings diff shows it).
 */
export class Masker {
  /** Regex source for each registered value, keyed by the value. */
  readonly #sources = new Map<string, string[]>();
  /** Values longer than {@link MAX_SECRET}: masked as they are, by plain search. */
  readonly #long = new Set<string>();
  #pattern: RegExp | undefined;

  /** Register a secret. Values shorter than 3 characters are ignored: masking them would shred ordinary text. */
  add(secret: string | Secret): void {
    const value = secret instanceof Secret ? secret.reveal() : secret;
    if (typeof value !== 'string' || value.length < 3 || this.#sources.has(value)) return;
    // The pattern of all its forms nests a group per character: past a few thousand, V8 cannot compile it.
    if (value.length > MAX_SECRET) {
      this.#long.add(value);
      return;
    }
    this.#sources.set(value, formSources(value));
    this.#pattern = undefined;
  }

  /** `text` with every occurrence of every registered secret form replaced by `***`. */
  mask(text: string): string {
    for (const value of this.#long) text = text.split(value).join(MASK);
    if (this.#sources.size === 0) return text;
    // One alternation, longest secret first: at each position the longest secret wins, so a secret
    // that contains another is masked whole instead of leaving its remainder visible.
    this.#pattern ??= new RegExp(
      [...this.#sources.entries()]
        .sort(([a], [b]) => b.length - a.length)
        .flatMap(([, sources]) => sources)
        .join('|'),
      'g',
    );
    return text.replace(this.#pattern, MASK);
  }

  /**
   * A copy of `value` (as JSON.stringify sees it) with every string masked, keys left alone: masking
   * its JSON text instead would let a password like `null` or `hosts` break the document.
   */
  maskValues(value: unknown): unknown {
    if (typeof value === 'string') return this.mask(value);
    if (value === null || typeof value !== 'object') return value;
    const json = (value as { toJSON?: () => unknown }).toJSON;
    if (typeof json === 'function') return this.maskValues(json.call(value));
    if (Array.isArray(value)) return value.map((v) => this.maskValues(v));
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.maskValues(v)]));
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

function formSources(value: string): string[] {
  // Encoders disagree on which characters to escape (encodeURIComponent, URLSearchParams, Python's
  // quote), so every character may appear raw or percent-encoded in either hex case.
  const url = [...value]
    .map((ch) => {
      const alts = [escapeRegExp(ch)];
      if (ch === ' ') alts.push('\\+');
      const cp = ch.codePointAt(0)!;
      // A lone surrogate has no UTF-8 form, so it can only appear raw.
      if (cp < 0xd800 || cp > 0xdfff) {
        const bytes = [...Buffer.from(ch, 'utf8')].map((b) => b.toString(16).padStart(2, '0'));
        alts.push(bytes.map((h) => `%[${h[0]}${h[0]!.toUpperCase()}][${h[1]}${h[1]!.toUpperCase()}]`).join(''));
      }
      return `(?:${alts.join('|')})`;
    })
    .join('');
  // visible(): text from a renderer has its control characters escaped before the boundary masks it.
  const literals = new Set([JSON.stringify(value).slice(1, -1), value.replace(/'/g, `'\\''`), visible(value)]);
  literals.delete(value);
  // A `{` is written `\x7b` or not depending on the character after it, which may lie outside the secret.
  const chars = [...value];
  const py = chars.some((ch) => ch === '{' || pyChar(ch, undefined) !== ch)
    ? [chars.map((ch) => (ch === '{' ? '(?:\\{|\\\\x7b)' : escapeRegExp(pyChar(ch, undefined)))).join('')]
    : [];
  return [url, ...[...literals].map(escapeRegExp), ...py];
}

/** The process-wide registry used by every log line and error message. */
export const masker: Masker = new Masker();

/**
 * What of a URL's user info is secret, decoded: the password, or the user when there is no password
 * (`https://TOKEN@mirror/simple` carries a token there). Throws ConfigError naming `what` and the
 * position when a `%` there is not an escape.
 */
export function urlSecret(url: string, what: string): string | undefined {
  const problem = userinfoProblem(url);
  if (problem) throw new ConfigError(`${what} ${problem}`);
  const u = new URL(url);
  return decodeURIComponent(u.password || u.username) || undefined;
}

/** Why the user info of `url` cannot be decoded, with the position in the URL as written; undefined when it can. */
export function userinfoProblem(url: string): string | undefined {
  const scheme = url.indexOf('://');
  if (scheme < 0) return undefined;
  const from = scheme + 3;
  // The user info ends at the authority's last '@' (as URL parsers read it).
  const end = url.slice(from).search(/[/?#\\]/);
  const at = url.slice(from, end < 0 ? undefined : from + end).lastIndexOf('@');
  if (at < 0) return undefined;
  const userinfo = url.slice(from, from + at);
  const bad = /%(?![0-9a-fA-F]{2})/.exec(userinfo);
  if (bad) return `has a '%' that is not a %XX escape at character ${from + bad.index + 1} (write a % in a user name or password as %25)`;
  for (const run of userinfo.matchAll(/(?:%[0-9a-fA-F]{2})+/g)) {
    try {
      decodeURIComponent(run[0]);
    } catch {
      return `has %XX escapes that are not UTF-8 at character ${from + (run.index ?? 0) + 1} (write a % in a user name or password as %25)`;
    }
  }
  return undefined;
}

/**
 * A secret is given literally, or (preferred) as a reference that is resolved only when needed:
 * `password_env: VAR` or `password_file: PATH`. Resolved values never reach argv or logs.
 */
export type SecretRef =
  | { kind: 'literal'; value: string }
  | { kind: 'env'; name: string }
  | { kind: 'file'; path: string }
  /** A key of kolla-ansible's passwords.yml: named `passwords.yml:KEY` in every report, never shown. */
  | { kind: 'kolla-password'; file: string; key: string };

/** The longest secret accepted, in characters: a password or passphrase is far shorter. */
export const MAX_SECRET = 1024;

/**
 * Read a secret where its reference points; `what` names it in errors (never the value).
 *
 * @throws {ConfigError} when it is missing or empty, or longer than {@link MAX_SECRET}
 */
export async function resolveSecret(ref: SecretRef, what: string): Promise<string> {
  const value = await resolve(ref, what);
  if (value.length > MAX_SECRET) {
    const from = ref.kind === 'env' ? `environment variable ${ref.name}` : ref.kind === 'file' ? `secret file ${ref.path}` : ref.kind === 'kolla-password' ? `${ref.file}:${ref.key}` : 'the value';
    throw new ConfigError(`${what}: ${from} holds ${value.length} characters, more than the limit of ${MAX_SECRET} for a secret`);
  }
  return value;
}

/** The value of `key` in kolla-ansible's passwords.yml, read now; errors name the file and key, never a value. */
async function kollaPassword(file: string, key: string, what: string): Promise<string> {
  let map: Record<string, unknown>;
  try {
    ({ map } = await yamlMapFile(file, 'passwords file', true));
  } catch (err) {
    throw err instanceof ConfigError ? new ConfigError(`${what}: ${err.message}`, err.pos) : err;
  }
  const v = map[key];
  if (v === undefined) throw new ConfigError(`${what}: ${file} has no ${key}`);
  if (typeof v !== 'string' && typeof v !== 'number') throw new ConfigError(`${what}: ${file}:${key} is not a string`);
  if (v === '') throw new ConfigError(`${what}: ${file}:${key} is empty`);
  return String(v);
}

async function resolve(ref: SecretRef, what: string): Promise<string> {
  switch (ref.kind) {
    case 'literal':
      return ref.value;
    case 'env': {
      const value = process.env[ref.name];
      if (value === undefined) throw new ConfigError(`${what}: environment variable ${ref.name} is not set`);
      if (value === '') throw new ConfigError(`${what}: environment variable ${ref.name} is empty`);
      return value;
    }
    case 'kolla-password':
      return kollaPassword(ref.file, ref.key, what);
    case 'file': {
      let text: string;
      try {
        text = (await readLocalFile(ref.path, `secret file ${ref.path}`, FILE_LIMITS.secret)).toString('utf8');
      } catch (err) {
        throw err instanceof ConfigError ? new ConfigError(`${what}: ${err.message}`) : err;
      }
      // Not /(\r?\n)+$/: it backtracks quadratically over a run of newlines inside the file.
      let end = text.length;
      while (text[end - 1] === '\n') end -= text[end - 2] === '\r' ? 2 : 1;
      const value = text.slice(0, end);
      if (value === '') throw new ConfigError(`${what}: secret file ${ref.path} is empty`);
      return value;
    }
  }
}

