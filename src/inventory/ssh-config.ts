/**
 * OpenSSH's client configuration (`~/.ssh/config`, `-F FILE`, `ssh_config:` in the inventory)
 * applied to the inventory's hosts: Host/Match blocks, Include, first value wins, for HostName,
 * User, Port, IdentityFile, ProxyJump, UserKnownHostsFile and StrictHostKeyChecking. What the
 * inventory (a host's own keys or `defaults`) sets wins over it; it wins over sessionctl's defaults.
 *
 * The `ssh-config` package tokenizes each line (keywords, `=`, quotes, Match criteria). Its
 * `compute()` is not used: it runs `Match exec` commands and `nslookup`, keeps no line numbers and
 * has no Include; evaluation here is small, keeps file:line for every value and runs nothing.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { readdir, stat } from 'node:fs/promises';
import picomatch from 'picomatch';
import { parse as parseLine, LineType, type Directive, type Match } from 'ssh-config';
import { ConfigError, ConfigErrors, type SourcePos } from '../errors.js';
import { FILE_LIMITS, readLocalFile, readLocalFileIfExists } from '../util/files.js';
import { isHostAddress } from './schema.js';
import type { HostConfig, Inventory, SshOrigin, SshSettingKey } from './types.js';

/** Bounds on what one configuration may read, Includes and all (OpenSSH stops at a depth of 16). */
export const SSH_CONFIG_LIMITS = {
  fileBytes: FILE_LIMITS.inventory,
  totalBytes: 1024 * 1024,
  files: 256,
  depth: 16,
  /** Hops of a ProxyJump chain, implicit jump hosts' own ProxyJump included. */
  jumps: 16,
};

/** A condition a directive is under: its Host or Match line (and those of the Includes around it). */
type Guard = { kind: 'host'; patterns: string[]; pos: SourcePos } | { kind: 'match'; criteria: [string, string][]; unsupported?: string; pos: SourcePos };

/** One directive, its keyword lower-cased, with the conditions it is under. */
export interface SshConfigEntry {
  key: string;
  args: string[];
  guards: Guard[];
  pos: SourcePos;
}

/** A configuration read with its Includes, in the order OpenSSH reads it. */
export interface SshConfig {
  /** The top file. */
  file: string;
  entries: SshConfigEntry[];
}

/** Where the environment comes in: home directory and local user (for `~`, %d, %u). */
export interface SshEnv {
  home: string;
  localUser: string;
  /** Relative IdentityFile and UserKnownHostsFile paths resolve here, as ssh resolves them. */
  cwd: string;
}

export function sshEnv(env: NodeJS.ProcessEnv = process.env): SshEnv {
  let localUser = env.USER ?? '';
  try {
    localUser = os.userInfo().username;
  } catch {
    // no passwd entry: keep $USER
  }
  return { home: env.HOME || os.homedir(), localUser, cwd: process.cwd() };
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

const GLOB = /[*?[]/;

/**
 * Read a configuration and the files it includes, bounded in size, count and depth.
 *
 * @param required false for the default `~/.ssh/config` (absent = no configuration)
 * @returns undefined when the file is absent and not required
 * @throws {ConfigError} with file:line for an unreadable file, a bad line, an Include loop or a bound passed
 */
export async function readSshConfig(file: string, env: SshEnv, required: boolean): Promise<SshConfig | undefined> {
  const what = `ssh_config ${file}`;
  const bytes = required ? await readLocalFile(file, what, SSH_CONFIG_LIMITS.fileBytes) : await readLocalFileIfExists(file, what, SSH_CONFIG_LIMITS.fileBytes);
  if (bytes === undefined) return undefined;
  const state = { files: 1, bytes: bytes.length };
  const entries: SshConfigEntry[] = [];
  await readInto(entries, file, bytes.toString('utf8'), [], [file], env, state);
  return { file, entries };
}

async function readInto(out: SshConfigEntry[], file: string, text: string, outer: Guard[], stack: string[], env: SshEnv, state: { files: number; bytes: number }): Promise<void> {
  let guards = outer;
  const lines = text.split(/\r?\n/);
  for (const [i, lineText] of lines.entries()) {
    const pos: SourcePos = { file, line: i + 1, col: Math.max(1, lineText.search(/\S/) + 1), lineText };
    let d: Directive | undefined;
    try {
      d = [...parseLine(lineText)].find((l): l is Directive => l.type === LineType.DIRECTIVE);
    } catch (err) {
      throw new ConfigError(`invalid ssh_config line: ${(err as Error).message}`, pos);
    }
    if (!d) continue;
    const key = d.param.toLowerCase();
    const args = typeof d.value === 'string' ? [d.value] : d.value.map((v) => v.val);
    if (key === 'host') {
      guards = [...outer, { kind: 'host', patterns: args.flatMap((a) => a.split(',')).filter((a) => a !== ''), pos }];
    } else if (key === 'match') {
      guards = [...outer, matchGuard(d as Match, pos)];
    } else if (key === 'include') {
      for (const arg of args) {
        for (const inc of await includeFiles(arg, env, pos)) {
          if (stack.includes(inc)) throw new ConfigError(`Include loop: ${[...stack, inc].join(' -> ')}`, pos);
          if (stack.length >= SSH_CONFIG_LIMITS.depth) throw new ConfigError(`Includes nested more than ${SSH_CONFIG_LIMITS.depth} deep`, pos);
          if (++state.files > SSH_CONFIG_LIMITS.files) throw new ConfigError(`more than ${SSH_CONFIG_LIMITS.files} ssh_config files included`, pos);
          let bytes: Buffer;
          try {
            bytes = await readLocalFile(inc, `ssh_config ${inc}`, SSH_CONFIG_LIMITS.fileBytes);
          } catch (err) {
            throw err instanceof ConfigError ? new ConfigError(`Include: ${err.message}`, pos) : err;
          }
          state.bytes += bytes.length;
          if (state.bytes > SSH_CONFIG_LIMITS.totalBytes) throw new ConfigError(`the ssh_config files included come to more than ${SSH_CONFIG_LIMITS.totalBytes / 1024} KiB`, pos);
          await readInto(out, inc, bytes.toString('utf8'), guards, [...stack, inc], env, state);
        }
      }
    } else {
      if (key === 'port' && !validPort(args[0])) throw new ConfigError(`Port must be a number from 1 to 65535, got '${args[0] ?? ''}'`, pos);
      // Only what sessionctl reads is kept: evaluating for each host walks these.
      if (key in KEYS) out.push({ key, args, guards, pos });
    }
  }
}

function validPort(s: string | undefined): boolean {
  return s !== undefined && /^[0-9]{1,5}$/.test(s) && Number(s) >= 1 && Number(s) <= 65535;
}

const MATCH_SUPPORTED = new Set(['all', 'host', 'originalhost', 'user', 'localuser']);

function matchGuard(d: Match, pos: SourcePos): Guard {
  const criteria: [string, string][] = Object.entries(d.criteria ?? {}).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.map((x) => x.val).join(',') : v]);
  const unsupported = criteria.map(([k]) => k.replace(/^!/, '')).find((k) => !MATCH_SUPPORTED.has(k));
  return { kind: 'match', criteria, pos, ...(unsupported ? { unsupported } : {}) };
}

/** The files an Include argument names: `~` expanded, relative to ~/.ssh, globs expanded and sorted (as glob(3)). */
async function includeFiles(arg: string, env: SshEnv, pos: SourcePos): Promise<string[]> {
  let p = expandTilde(arg, env, pos);
  if (!path.isAbsolute(p)) p = path.join(env.home, '.ssh', p);
  if (!GLOB.test(p)) return (await exists(p)) ? [p] : [];
  const parts = p.split('/').filter((s) => s !== '');
  let found = ['/'];
  for (const part of parts) {
    const next: string[] = [];
    for (const dir of found) {
      if (!GLOB.test(part)) {
        next.push(path.join(dir, part));
        continue;
      }
      let names: string[];
      try {
        names = await readdir(dir);
      } catch {
        continue;
      }
      const isMatch = picomatch(part, { dot: false });
      for (const n of names.filter((n) => isMatch(n)).sort()) next.push(path.join(dir, n));
      if (next.length > SSH_CONFIG_LIMITS.files) throw new ConfigError(`Include ${arg} matches more than ${SSH_CONFIG_LIMITS.files} files`, pos);
    }
    found = next;
  }
  const out: string[] = [];
  for (const f of found) if (await exists(f)) out.push(f);
  return out;
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

function expandTilde(p: string, env: SshEnv, pos: SourcePos): string {
  if (p === '~') return env.home;
  if (p.startsWith('~/')) return path.join(env.home, p.slice(2));
  if (p.startsWith('~')) throw new ConfigError(`'${p.split('/')[0]}' is not supported: only '~/' (your home)`, pos);
  return p;
}

// ---------------------------------------------------------------------------------------------
// Evaluating for one host
// ---------------------------------------------------------------------------------------------

/**
 * OpenSSH's pattern: `*` and `?`, case-insensitive. Iterative, back to the last `*` only: at most
 * pattern x text steps (a regular expression of many `*` backtracks exponentially).
 */
export function patternMatches(pattern: string, text: string): boolean {
  const p = pattern.toLowerCase();
  const t = text.toLowerCase();
  let i = 0;
  let j = 0;
  let star = -1;
  let mark = 0;
  while (j < t.length) {
    if (i < p.length && (p[i] === '?' || p[i] === t[j])) {
      i++;
      j++;
    } else if (i < p.length && p[i] === '*') {
      star = i++;
      mark = j;
    } else if (star >= 0) {
      i = star + 1;
      j = ++mark;
    } else return false;
  }
  while (p[i] === '*') i++;
  return i === p.length;
}

/** A pattern list (`a,b*,!c`): a negated match rules the list out whatever else matches. */
function listMatches(patterns: string[], text: string): boolean {
  let hit = false;
  for (const p of patterns) {
    if (p.startsWith('!')) {
      if (patternMatches(p.slice(1), text)) return false;
    } else if (patternMatches(p, text)) hit = true;
  }
  return hit;
}

/** Values given as on ssh's command line; `defaultUser` is who logs in when nothing says (for Match user). */
interface Given {
  user?: string;
  port?: string;
  hostName?: string;
  defaultUser?: string;
}

/** The values that apply to `alias`, first value wins (IdentityFile: the first of them). */
export interface SshValues {
  hostName?: Value;
  user?: Value;
  port?: Value;
  identityFile?: Value;
  proxyJump?: Value;
  proxyCommand?: Value;
  userKnownHostsFile?: Value;
  strictHostKeyChecking?: Value;
}
interface Value {
  text: string;
  pos: SourcePos;
  /** Index of its entry: the reading order. */
  order: number;
}

/** The keywords sessionctl reads (lower case), and their names in messages and SshValues. */
const KEYS: Record<string, keyof SshValues> = {
  hostname: 'hostName',
  user: 'user',
  port: 'port',
  identityfile: 'identityFile',
  proxyjump: 'proxyJump',
  proxycommand: 'proxyCommand',
  userknownhostsfile: 'userKnownHostsFile',
  stricthostkeychecking: 'strictHostKeyChecking',
};

const NAMES: Record<string, string> = {
  hostname: 'HostName',
  user: 'User',
  port: 'Port',
  identityfile: 'IdentityFile',
  proxyjump: 'ProxyJump',
  proxycommand: 'ProxyCommand',
  userknownhostsfile: 'UserKnownHostsFile',
  stricthostkeychecking: 'StrictHostKeyChecking',
};

/**
 * Evaluate the configuration for `alias` as ssh does for `ssh alias`.
 *
 * @param given values given as on ssh's command line (the inventory's, a ProxyJump hop's `user@` and `:port`): they win
 * @throws {ConfigError} when a Match block this sessionctl cannot evaluate would set one of these values
 */
export function evaluate(cfg: SshConfig, alias: string, env: SshEnv, given: Given = {}): SshValues {
  const out: SshValues = {};
  const guardCache = new Map<Guard, boolean>();
  const holds = (g: Guard): boolean => {
    // A Host line's verdict is fixed; a Match line's depends on what was set before it (HostName, User).
    if (g.kind === 'host') {
      let v = guardCache.get(g);
      if (v === undefined) guardCache.set(g, (v = listMatches(g.patterns, alias)));
      return v;
    }
    if (g.unsupported) return false;
    return g.criteria.every(([k, v]) => {
      const neg = k.startsWith('!');
      const key = neg ? k.slice(1) : k;
      const list = v.split(',');
      const subject =
        key === 'host' ? given.hostName ?? out.hostName?.text ?? alias
        : key === 'originalhost' ? alias
        : key === 'user' ? given.user ?? out.user?.text ?? given.defaultUser ?? env.localUser
        : key === 'localuser' ? env.localUser
        : '';
      const r = key === 'all' ? true : listMatches(list, subject);
      return neg ? !r : r;
    });
  };
  for (const [order, e] of cfg.entries.entries()) {
    const prop = KEYS[e.key];
    if (!prop || out[prop] !== undefined) continue;
    const blocked = e.guards.find((g) => g.kind === 'match' && g.unsupported);
    if (blocked && blocked.kind === 'match' && e.guards.every((g) => g === blocked || holds(g))) {
      throw new ConfigError(`Match ${blocked.unsupported} is not supported by sessionctl, and this block may set ${NAMES[e.key] ?? e.key} for host '${alias}'; use Host blocks for it`, blocked.pos);
    }
    if (!e.guards.every(holds)) continue;
    const text = e.key === 'userknownhostsfile' ? e.args[0] ?? '' : e.args.join(' ');
    out[prop] = { text, pos: e.pos, order };
  }
  // Given on the hop itself: no line of the configuration to name (line 0).
  const hop = { file: '<ProxyJump>', line: 0, col: 0 };
  if (given.user !== undefined) out.user = { text: given.user, pos: hop, order: -1 };
  if (given.port !== undefined) out.port = { text: given.port, pos: hop, order: -1 };
  return out;
}

/** `%` tokens: those listed in `tokens` (plus `%%`); any other is refused. */
function expandTokens(v: Value, tokens: Record<string, string>, what: string): string {
  return v.text.replace(/%(.?)/g, (all, t: string) => {
    if (t === '%') return '%';
    const r = tokens[t];
    if (r === undefined) throw new ConfigError(`${what}: the token '${all}' is not supported by sessionctl (supported: ${Object.keys(tokens).map((k) => `%${k}`).join(' ')} %%)`, v.pos);
    return r;
  });
}

// ---------------------------------------------------------------------------------------------
// Applying to the inventory
// ---------------------------------------------------------------------------------------------

const USER = /^[A-Za-z0-9_][A-Za-z0-9_.@-]*\$?$/;

/** The SSH settings one alias resolves to, before the inventory's own keys are laid over them. */
interface Resolved {
  address?: string;
  user?: string;
  port?: number;
  /** `none` resolved: no jump. */
  proxyJump?: string | null;
  acceptNew: boolean;
  origin: SshOrigin;
}

function where(v: Value): string {
  return `${v.pos.file}:${v.pos.line}`;
}

/** What the configuration gives `alias`, checked; values the inventory sets (`keep`) are not read, so not refused either. */
function resolveAlias(cfg: SshConfig, alias: string, env: SshEnv, given: Given, keep: (k: SshSettingKey) => boolean): { r: Resolved; values: SshValues } {
  const v = evaluate(cfg, alias, env, given);
  const origin: SshOrigin = {};
  const r: Resolved = { acceptNew: false, origin };
  const shkc = v.strictHostKeyChecking;
  if (shkc) {
    const mode = shkc.text.toLowerCase();
    if (mode === 'no' || mode === 'off') {
      throw new ConfigError(`StrictHostKeyChecking ${shkc.text} applies to host '${alias}': refused, sessionctl never turns host key checking off (use 'accept-new', or --accept-new-host-keys, to record new keys; -F none reads no ssh config)`, shkc.pos);
    }
    if (mode === 'accept-new') r.acceptNew = true;
    else if (mode !== 'yes' && mode !== 'ask') throw new ConfigError(`StrictHostKeyChecking must be yes, ask, accept-new or no, got '${shkc.text}'`, shkc.pos);
  }
  if (v.hostName && !keep('address')) {
    const h = expandTokens(v.hostName, { h: alias }, 'HostName');
    const bare = h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
    if (!isHostAddress(bare)) throw new ConfigError(`HostName must be a hostname or IP address, got '${h}'`, v.hostName.pos);
    r.address = bare;
    origin.address = where(v.hostName);
  }
  if (v.user && !keep('user')) {
    const u = expandTokens(v.user, { u: env.localUser }, 'User');
    if (!USER.test(u)) throw new ConfigError(`User must be a user name, got '${u}'`, v.user.pos);
    r.user = u;
    if (v.user.pos.line) origin.user = where(v.user);
  }
  if (v.port && !keep('port')) {
    if (!validPort(v.port.text)) throw new ConfigError(`Port must be a number from 1 to 65535, got '${v.port.text}'`, v.port.pos);
    r.port = Number(v.port.text);
    if (v.port.pos.line) origin.port = where(v.port);
  }
  if (v.proxyJump && !keep('proxyJump')) {
    r.proxyJump = v.proxyJump.text.toLowerCase() === 'none' ? null : v.proxyJump.text;
    if (v.proxyJump.pos.line) origin.proxyJump = where(v.proxyJump);
  }
  return { r, values: v };
}

/** Whether `a` was read before `b` (entries keep the reading order, Includes inlined). */
function comesFirst(a: Value, b: Value): boolean {
  return a.order < b.order;
}

/** IdentityFile and UserKnownHostsFile, their tokens expanded for the user the host logs in as. */
function files(v: SshValues, address: string, user: string, env: SshEnv, keep: (k: SshSettingKey) => boolean): { identity?: string; knownHosts?: string } {
  const tokens = { d: env.home, u: env.localUser, h: address, r: user };
  const local = (val: Value, what: string) => path.resolve(env.cwd, expandTilde(expandTokens(val, tokens, what), env, val.pos));
  return {
    ...(v.identityFile && !keep('identity') && v.identityFile.text.toLowerCase() !== 'none' ? { identity: local(v.identityFile, 'IdentityFile') } : {}),
    ...(v.userKnownHostsFile && !keep('knownHosts') && v.userKnownHostsFile.text.toLowerCase() !== 'none' ? { knownHosts: local(v.userKnownHostsFile, 'UserKnownHostsFile') } : {}),
  };
}

/** A ProxyJump hop: `[ssh://][user@]host[:port]`, IPv6 in brackets. */
function parseHop(text: string, pos: SourcePos): { host: string; user?: string; port?: string } {
  const m = /^(?:ssh:\/\/)?(?:([^@]+)@)?(\[[^\]]+\]|[^:@[\]]+)(?::([0-9]+))?$/.exec(text.trim());
  if (!m || m[2] === undefined) throw new ConfigError(`ProxyJump: cannot read the hop '${text}' (want [user@]host[:port])`, pos);
  const host = m[2].startsWith('[') ? m[2].slice(1, -1) : m[2];
  if (m[3] !== undefined && !validPort(m[3])) throw new ConfigError(`ProxyJump: bad port in '${text}'`, pos);
  return { host, ...(m[1] !== undefined ? { user: m[1] } : {}), ...(m[3] !== undefined ? { port: m[3] } : {}) };
}

/**
 * The inventory's hosts with the configuration applied: for each host, the SSH settings the
 * inventory leaves unset come from the configuration when it has them (`origin` says where), and
 * jump hosts that ProxyJump names outside the inventory are added (role `jump`, named by the hops).
 *
 * @throws {ConfigErrors} every refused or invalid value found, each at its file:line
 */
export function applySshConfig(inv: Inventory, cfg: SshConfig, env: SshEnv): Inventory {
  const byName = new Map(inv.hosts.map((h) => [h.name, h]));
  const extra = new Map<string, HostConfig>();
  const errors: ConfigError[] = [];

  /** `host` with the configuration for `alias` under its inventory keys; jump chains resolved to host names. */
  const resolve = (host: HostConfig, alias: string, given: { user?: string; port?: string }, depth: number, seen: string[]): HostConfig => {
    const keep = (k: SshSettingKey) => host.inventoryKeys?.has(k) ?? false;
    const { r, values } = resolveAlias(cfg, alias, env, {
      ...given,
      ...(keep('user') ? { user: host.user } : {}),
      ...(keep('address') ? { hostName: host.address } : {}),
      defaultUser: host.user,
    }, keep);
    const origin: SshOrigin = {};
    const out: HostConfig = { ...host };
    if (r.address !== undefined) {
      out.address = r.address;
      origin.address = r.origin.address!;
    }
    if (r.user !== undefined) {
      out.user = r.user;
      if (r.origin.user) origin.user = r.origin.user;
    }
    if (r.port !== undefined) {
      out.port = r.port;
      if (r.origin.port) origin.port = r.origin.port;
    }
    const f = files(values, out.address, out.user, env, keep);
    if (f.identity !== undefined) {
      out.identity = f.identity;
      origin.identity = where(values.identityFile!);
    }
    if (f.knownHosts !== undefined) {
      out.knownHosts = f.knownHosts;
      origin.knownHosts = where(values.userKnownHostsFile!);
    }
    if (r.acceptNew) out.acceptNewHostKeys = true;
    // ssh uses whichever of ProxyCommand and ProxyJump comes first; sessionctl runs no commands.
    const pc = values.proxyCommand;
    if (!keep('proxyJump') && pc && pc.text.toLowerCase() !== 'none' && !(values.proxyJump && comesFirst(values.proxyJump, pc))) {
      throw new ConfigError(`ProxyCommand applies to host '${alias}': sessionctl runs no proxy commands; use ProxyJump (or proxy_jump in the inventory)`, pc.pos);
    }
    if (r.proxyJump !== undefined) {
      if (r.proxyJump === null) delete out.proxyJump;
      else {
        out.proxyJump = jumpChain(r.proxyJump, values.proxyJump!.pos, host, depth, [...seen, alias]);
        origin.proxyJump = r.origin.proxyJump!;
      }
    }
    if (Object.keys(origin).length > 0) out.sshOrigin = origin;
    return out;
  };

  /** The host name of the last hop of `spec` (`a,b,c`), adding the hops not in the inventory. */
  const jumpChain = (spec: string, pos: SourcePos, from: HostConfig, depth: number, seen: string[]): string => {
    let prev: string | undefined;
    const hops = spec.split(',');
    for (const [i, text] of hops.entries()) {
      const hop = parseHop(text, pos);
      const name = hops.slice(0, i + 1).join(',');
      const inInventory = byName.get(hop.host);
      if (hop.user === undefined && hop.port === undefined && inInventory && (i === 0 || inInventory.proxyJump === prev)) {
        prev = inInventory.name;
        continue;
      }
      if (!extra.has(name)) {
        if (depth + 1 > SSH_CONFIG_LIMITS.jumps || seen.includes(hop.host)) {
          throw new ConfigError(`ProxyJump loop or chain longer than ${SSH_CONFIG_LIMITS.jumps} hops: ${[...seen, hop.host].join(' -> ')}`, pos);
        }
        const base: HostConfig = {
          ...(inInventory ?? { ...from, address: hop.host, user: 'root', port: 22, knownHosts: path.join(env.home, '.ssh', 'known_hosts'), inventoryKeys: new Set<SshSettingKey>() }),
          name,
          role: 'jump',
          become: false,
          // Errors about it (its key, its known_hosts) point at the ProxyJump that brought it in.
          pos,
        };
        delete base.identityPassphrase;
        delete base.sshOrigin;
        if (!inInventory) {
          delete base.identity;
          delete base.proxyJump;
          delete base.acceptNewHostKeys;
        }
        // A later hop is reached through the one before it: that wins over its own ProxyJump (as ssh -J does).
        const keys = new Set<SshSettingKey>(base.inventoryKeys ?? []);
        if (i > 0) keys.add('proxyJump');
        const resolved = resolve({ ...base, inventoryKeys: keys, ...(i > 0 ? { proxyJump: prev! } : {}) }, hop.host, hop, depth + 1, seen);
        extra.set(name, resolved);
      }
      prev = name;
    }
    return prev!;
  };

  const hosts: HostConfig[] = [];
  for (const h of inv.hosts) {
    try {
      hosts.push(resolve(h, h.name, {}, 0, []));
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      errors.push(err);
      hosts.push(h);
    }
  }
  const all = [...hosts, ...extra.values()];
  if (errors.length === 0) errors.push(...jumpCycles(all));
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new ConfigErrors(errors);
  return { ...inv, hosts: all, sshConfig: cfg.file };
}

/** ProxyJump cycles through inventory hosts (`Host *` naming a jump host of the inventory makes it jump through itself). */
function jumpCycles(hosts: HostConfig[]): ConfigError[] {
  const byName = new Map(hosts.map((h) => [h.name, h]));
  const done = new Set<string>();
  const errors: ConfigError[] = [];
  for (const start of hosts) {
    const chain: string[] = [];
    for (let cur: HostConfig | undefined = start; cur && !done.has(cur.name); cur = cur.proxyJump !== undefined ? byName.get(cur.proxyJump) : undefined) {
      if (chain.includes(cur.name)) {
        const at = cur.sshOrigin?.proxyJump;
        errors.push(new ConfigError(`ProxyJump cycle: ${[...chain.slice(chain.indexOf(cur.name)), cur.name].join(' -> ')}${at ? ` (ProxyJump from ${at}; exclude the jump host, like 'Host * !${cur.name}')` : ''}`, cur.pos));
        break;
      }
      chain.push(cur.name);
    }
    for (const n of chain) done.add(n);
  }
  return errors;
}

/** One line per host whose SSH settings came from ssh_config, for debug output and the plan. */
export function sshConfigNotes(inv: Inventory): string[] {
  const hosts = inv.hosts;
  const names: Record<SshSettingKey, string> = { address: 'HostName', user: 'User', port: 'Port', identity: 'IdentityFile', knownHosts: 'UserKnownHostsFile', proxyJump: 'ProxyJump' };
  const out: string[] = [];
  for (const h of hosts) {
    const o = h.sshOrigin;
    if (!o) continue;
    const parts = (Object.keys(names) as SshSettingKey[]).filter((k) => o[k]).map((k) => `${names[k]} ${k === 'port' ? h.port : k === 'address' ? h.address : k === 'user' ? h.user : k === 'identity' ? h.identity : k === 'knownHosts' ? h.knownHosts : h.proxyJump} (${o[k]})`);
    out.push(`host '${h.name}'${h.pos && h.pos.file !== inv.file ? ' (jump host from ProxyJump)' : ''}: from ssh_config: ${parts.join(', ')}`);
  }
  return out;
}

/**
 * Read the configuration that applies (`-F`, else the inventory's `ssh_config`, else
 * `~/.ssh/config` when present) and apply it to the inventory. `-F none` reads none.
 */
export async function withSshConfig(inv: Inventory, opts: { file?: string; env?: SshEnv } = {}): Promise<Inventory> {
  // As ssh -F none: no configuration file at all.
  if (opts.file === 'none') return inv;
  const env = opts.env ?? sshEnv();
  const explicit = opts.file ?? inv.sshConfig;
  const file = explicit ?? path.join(env.home, '.ssh', 'config');
  const cfg = await readSshConfig(file, env, explicit !== undefined);
  return cfg ? applySshConfig(inv, cfg, env) : inv;
}
