/**
 * Strict host-key checking against an OpenSSH `known_hosts` file, with OpenSSH's semantics:
 * plain, `[host]:port` and hashed (`|1|salt|hash`) host fields, `*`/`?` wildcards, `!` negation,
 * `@revoked` markers. Pure: no file or network access, so the policy can be tested exhaustively.
 */

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** One usable line of a `known_hosts` file. */
export interface KnownHostsEntry {
  /** `@cert-authority` or `@revoked` when the line starts with one. */
  marker?: '@cert-authority' | '@revoked';
  /**
   * The comma-separated host patterns of the line, lowercased. For a hashed line this is the
   * single raw `|1|salt|hash` token, and {@link KnownHostsEntry.hashed} is what gets matched.
   */
  patterns: string[];
  /** Salt and HMAC-SHA1 of a hashed host field (`ssh-keygen -H`). */
  hashed?: { salt: Buffer; hash: Buffer };
  /** The key type field, e.g. `ssh-ed25519`; always equal to the type inside {@link key}. */
  keyType: string;
  /** The raw public key blob (the base64 field, decoded). */
  key: Buffer;
  /** 1-based line number in the parsed text, for messages. */
  line: number;
}

/** The outcome of looking a presented host key up in the parsed `known_hosts`. */
export type HostKeyVerdict =
  | { kind: 'match' }
  /** No entry for this host with this key type (there may be entries of other types). */
  | { kind: 'unknown' }
  /** The host has entries of this key type, none equal to the presented key. */
  | { kind: 'changed'; expected: string[] }
  /** A matching `@revoked` line lists this very key: never accept it. */
  | { kind: 'revoked' };

const HASH_MAGIC = '|1|';
const SHA1_LEN = 20;

/**
 * Parse the text of a `known_hosts` file. Blank lines, comments and anything malformed (unknown
 * marker, bad base64, key type field disagreeing with the blob, SSH1 `bits e n` lines) are
 * skipped silently, as OpenSSH does, so one bad line never hides the rest of the file.
 */
export function parseKnownHosts(text: string): KnownHostsEntry[] {
  const entries: KnownHostsEntry[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const entry = parseLine(lines[i] ?? '', i + 1);
    if (entry) entries.push(entry);
  }
  return entries;
}

function parseLine(raw: string, line: number): KnownHostsEntry | undefined {
  const fields = raw.trim().split(/[ \t]+/);
  if (fields.length === 0 || fields[0] === '' || fields[0]!.startsWith('#')) return undefined;

  let marker: KnownHostsEntry['marker'];
  if (fields[0]!.startsWith('@')) {
    const m = fields.shift();
    if (m !== '@cert-authority' && m !== '@revoked') return undefined;
    marker = m;
  }
  const [hostField, keyType, keyB64] = fields;
  if (hostField === undefined || keyType === undefined || keyB64 === undefined) return undefined;

  const key = decodeBase64Strict(keyB64);
  if (!key) return undefined;
  try {
    if (keyTypeOf(key) !== keyType) return undefined;
  } catch {
    return undefined;
  }

  const entry: KnownHostsEntry = { patterns: [], keyType, key, line };
  if (marker) entry.marker = marker;
  if (hostField.startsWith(HASH_MAGIC)) {
    const parts = hostField.slice(HASH_MAGIC.length).split('|');
    if (parts.length !== 2) return undefined;
    const salt = decodeBase64Strict(parts[0]!);
    const hash = decodeBase64Strict(parts[1]!);
    if (!salt || !hash || salt.length !== SHA1_LEN || hash.length !== SHA1_LEN) return undefined;
    entry.patterns = [hostField];
    entry.hashed = { salt, hash };
  } else {
    entry.patterns = hostField.toLowerCase().split(',').filter((p) => p !== '');
    if (entry.patterns.length === 0) return undefined;
  }
  return entry;
}

/** Buffer.from(base64) ignores junk; a key field with junk in it is a garbage line, not a key. */
function decodeBase64Strict(s: string): Buffer | undefined {
  if (s === '' || !/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 === 1) return undefined;
  const buf = Buffer.from(s, 'base64');
  return buf.length > 0 ? buf : undefined;
}

/**
 * The name OpenSSH looks up for a host: `host` on port 22, `[host]:port` otherwise. Lowercased
 * because ssh lowercases the host name before both pattern matching and hashing.
 */
function lookupName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 || port === 0 ? h : `[${h}]:${port}`;
}

/**
 * OpenSSH `match_pattern`: `*` is any run of characters, `?` exactly one; no other metacharacters.
 * Matched with one backtrack point (the last `*`), at most name x pattern steps: a regex of the
 * pattern backtracked exponentially on a line like `*a*a*a*a*a*a*a*a*a*a*a*ab` (a hostile
 * known_hosts hung the connection's host-key check for ever).
 */
function globMatch(name: string, pattern: string): boolean {
  let n = 0;
  let p = 0;
  let star = -1;
  let resume = 0;
  while (n < name.length) {
    if (pattern[p] === '*') {
      star = p++;
      resume = n;
    } else if (p < pattern.length && (pattern[p] === '?' || pattern[p] === name[n])) {
      n++;
      p++;
    } else if (star >= 0) {
      // The last `*` takes one more character; what follows it is tried again from there.
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

/**
 * OpenSSH `match_pattern_list`: one negated pattern that matches vetoes the whole line, even if a
 * positive pattern on it also matches; otherwise any positive match counts.
 */
function patternsMatch(name: string, patterns: string[]): boolean {
  let positive = false;
  for (const p of patterns) {
    if (p.startsWith('!')) {
      if (globMatch(name, p.slice(1))) return false;
    } else if (globMatch(name, p)) {
      positive = true;
    }
  }
  return positive;
}

function hostMatches(entry: KnownHostsEntry, name: string): boolean {
  if (entry.hashed) {
    const mac = createHmac('sha1', entry.hashed.salt).update(name).digest();
    return timingSafeEqual(mac, entry.hashed.hash);
  }
  return patternsMatch(name, entry.patterns);
}

/**
 * Decide whether the key a server presented is acceptable for `host`:`port`.
 *
 * `@revoked` wins over everything; `@cert-authority` lines are ignored (no certificate support).
 * A host with entries only of other key types is `unknown`, not `changed`, as in OpenSSH, which
 * only reports a changed key for a mismatch within the same type.
 */
export function checkHostKey(entries: KnownHostsEntry[], host: string, port: number, key: Buffer): HostKeyVerdict {
  const name = lookupName(host, port);
  const type = keyTypeOf(key);
  const forHost = entries.filter((e) => e.marker !== '@cert-authority' && hostMatches(e, name));

  if (forHost.some((e) => e.marker === '@revoked' && e.key.equals(key))) return { kind: 'revoked' };

  const plain = forHost.filter((e) => e.marker === undefined);
  if (plain.some((e) => e.key.equals(key))) return { kind: 'match' };

  const sameType = plain.filter((e) => e.keyType === type);
  if (sameType.length > 0) {
    return { kind: 'changed', expected: [...new Set(sameType.map((e) => fingerprint(e.key)))] };
  }
  return { kind: 'unknown' };
}

/**
 * The key type named at the start of an SSH public key blob (its first SSH `string`), e.g.
 * `ssh-ed25519`, `ecdsa-sha2-nistp256` or `ssh-rsa` (RSA blobs say `ssh-rsa` whatever the
 * rsa-sha2-* signature algorithm negotiated). Throws on a blob too short to hold one.
 */
export function keyTypeOf(blob: Buffer): string {
  if (blob.length < 4) throw new Error('SSH key blob too short');
  const len = blob.readUInt32BE(0);
  if (len === 0 || len > 64 || blob.length < 4 + len) throw new Error('SSH key blob has no valid key type');
  const type = blob.subarray(4, 4 + len).toString('latin1');
  if (!/^[\x21-\x7e]+$/.test(type)) throw new Error('SSH key blob has no valid key type');
  return type;
}

/** `SHA256:` plus unpadded base64 of the blob's SHA-256, exactly as `ssh-keygen -lf` prints it. */
export function fingerprint(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/**
 * A plain `known_hosts` line recording `blob` for `host`:`port` (`[host]:port` unless port 22),
 * for appending once the operator has accepted a new key. Throws if the host name could break
 * the line format (whitespace, commas, pattern or marker characters).
 */
export function knownHostsLine(host: string, port: number, blob: Buffer): string {
  if (host === '' || /[\s,*?!#|@[\]]/.test(host) || /[^\x21-\x7e]/.test(host)) {
    throw new Error(`refusing to write a known_hosts line for host name ${JSON.stringify(host)}`);
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid port ${port}`);
  return `${lookupName(host, port)} ${keyTypeOf(blob)} ${blob.toString('base64')}`;
}

/**
 * Key types on file for `host`:`port` (plain entries only), so the client can offer those
 * host-key algorithms first, as OpenSSH does; otherwise a host known only by its RSA key would
 * present ed25519 and look unknown.
 */
export function knownKeyTypes(entries: KnownHostsEntry[], host: string, port: number): string[] {
  const name = lookupName(host, port);
  return [...new Set(entries.filter((e) => e.marker === undefined && hostMatches(e, name)).map((e) => e.keyType))];
}

/** Host-key algorithms ssh2 may negotiate for a key type on file. */
export function hostKeyAlgorithms(keyType: string): string[] {
  return keyType === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [keyType];
}
