/**
 * `--limit`: which Dashboard hosts a run covers. Comma separated patterns, each a glob as
 * picomatch reads it (`*`, `?`, `[...]` classes, `{a,b}`), `!pattern` to exclude, `@file` for
 * patterns from a file (one a line, `#` starts a comment). Only exclusions: every Dashboard host
 * but those. A pattern that matches no Dashboard host is an error, so a typo never widens or
 * narrows a run silently.
 */
import picomatch from 'picomatch';
import { ConfigError, InternalError } from '../errors.js';
import { FILE_LIMITS, readLocalFile } from '../util/files.js';
import type { HostConfig, Inventory } from './types.js';

/** One pattern of a --limit, with where it was written (for messages). */
export interface LimitPattern {
  /** As written, `!` included. */
  text: string;
  /** `file:line` when it came from an `@file`. */
  from?: string;
}

/** A --limit as given on the command line, or its patterns once any `@file` is read. */
export type Limit = string | readonly LimitPattern[];

/**
 * The entries of a --limit value: split on commas outside `{...}` and `[...]` (so `dash{1,2}`
 * stays one glob), trimmed, empty ones dropped.
 */
export function splitLimit(limit: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let current = '';
  for (const c of limit) {
    if (c === '{' || c === '[') depth++;
    else if ((c === '}' || c === ']') && depth > 0) depth--;
    if (c === ',' && depth === 0) {
      out.push(current);
      current = '';
    } else current += c;
  }
  out.push(current);
  return out.map((p) => p.trim()).filter((p) => p !== '');
}

/**
 * The patterns of a --limit with every `@file` read (relative to the working directory).
 *
 * @throws {ConfigError} an empty limit; a file that is missing, unreadable, not a regular file or
 *   over the inventory size limit (naming it); a file line that is itself an `@file`
 */
export async function readLimit(limit: string | undefined): Promise<LimitPattern[] | undefined> {
  if (limit === undefined) return undefined;
  const out: LimitPattern[] = [];
  for (const entry of entries(limit)) {
    if (!entry.startsWith('@')) {
      out.push({ text: entry });
      continue;
    }
    const file = entry.slice(1);
    const text = (await readLocalFile(file, `--limit file ${file}`, FILE_LIMITS.inventory)).toString('utf8');
    text.split(/\r?\n/).forEach((raw, i) => {
      const line = raw.replace(/#.*/, '').trim();
      if (line === '') return;
      const pos = { file, line: i + 1, col: raw.indexOf(line) + 1, lineText: raw };
      if (line.replace(/^!/, '').startsWith('@')) throw new ConfigError(`--limit file: '${line}' names another file; list host names or globs, one a line`, pos);
      out.push({ text: line, from: `${file}:${i + 1}` });
    });
  }
  return out;
}

function entries(limit: string): string[] {
  const list = splitLimit(limit);
  if (list.length === 0) throw new ConfigError(`--limit is empty: give host names or globs, like --limit 'dash*'`);
  for (const entry of list) {
    if (entry === '@' || entry === '!') throw new ConfigError(`--limit '${entry}' is incomplete: '@' is followed by a file, '!' by a name or glob`);
    if (entry.startsWith('!@')) throw new ConfigError(`--limit '${entry}': exclude with '!name' lines inside the file instead`);
  }
  return list;
}

/**
 * The Dashboard hosts a limit selects, in inventory order. Without a limit: every Dashboard host
 * (never a jump host).
 *
 * @param limit a string must hold no `@file` (read those with {@link readLimit} first)
 * @throws {ConfigError} naming every pattern that matches no Dashboard host (and the hosts there
 *   are), or a limit that leaves none
 */
export function selectByLimit(inv: Inventory, limit?: Limit): HostConfig[] {
  const dashboards = inv.hosts.filter((h) => h.role === 'dashboard');
  if (limit === undefined) return dashboards;
  const patterns: readonly LimitPattern[] = typeof limit === 'string' ? entries(limit).map((text) => ({ text })) : limit;
  if (patterns.length === 0) throw new ConfigError(`--limit is empty: give host names or globs, like --limit 'dash*'`);

  const included = new Set<HostConfig>();
  const excluded = new Set<HostConfig>();
  const misses: string[] = [];
  for (const p of patterns) {
    if (p.text.startsWith('@')) throw new InternalError(`--limit ${p.text} reached selectByLimit unread`);
    const exclude = p.text.startsWith('!');
    const test = matcher(p, exclude ? p.text.slice(1) : p.text);
    const hits = dashboards.filter((h) => test(h.name));
    for (const h of hits) (exclude ? excluded : included).add(h);
    if (hits.length > 0) continue;
    const jumps = inv.hosts.filter((h) => h.role === 'jump' && test(h.name)).map((h) => h.name);
    misses.push(`'${p.text}'${p.from ? ` (${p.from})` : ''}${jumps.length ? ` (only jump hosts: ${jumps.join(', ')})` : ''}`);
  }
  const known = dashboards.map((h) => h.name).join(', ');
  if (misses.length > 0) {
    const verb = misses.length === 1 ? 'matches' : 'match';
    throw new ConfigError(`--limit ${misses.join(', ')} ${verb} no Dashboard host; Dashboard hosts are: ${known}`);
  }
  const onlyExclusions = patterns.every((p) => p.text.startsWith('!'));
  const chosen = dashboards.filter((h) => (onlyExclusions || included.has(h)) && !excluded.has(h));
  if (chosen.length === 0) throw new ConfigError(`--limit excludes every host it selects; Dashboard hosts are: ${known}`);
  return chosen;
}

function matcher(p: LimitPattern, glob: string): (name: string) => boolean {
  if (glob === '') throw new ConfigError(`--limit '${p.text}'${p.from ? ` (${p.from})` : ''}: nothing after '!'`);
  try {
    // `!` is ours (exclusion), not picomatch's; posix: `[!1]` is a negated class as in a shell.
    return picomatch(glob, { nonegate: true, dot: true, strictBrackets: true, posix: true });
  } catch (err) {
    throw new ConfigError(`--limit '${p.text}'${p.from ? ` (${p.from})` : ''} is not a valid glob: ${(err as Error).message}`);
  }
}
