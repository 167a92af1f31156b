/**
 * Ansible's INI inventory (kolla-ansible's `multinode`, `all-in-one`), read as Ansible's `ini`
 * inventory plugin reads it: `[group]` sections of host lines with `key=value` variables (split as
 * POSIX shlex does, `#` comments included), `[group:vars]` (one `key=value` a line) and
 * `[group:children]` (groups declared before or after), host ranges (`control[01:03]`, `[a:c]`,
 * with a stride), `host:port`, and comment lines starting with `#` or `;`. Values go through a subset
 * of Python's `ast.literal_eval`, as Ansible does: quoted strings, integers, floats, True, False,
 * None; anything else (lists, dicts included) stays the text that was written.
 *
 * No well-kept npm library reads this dialect. The parser is pure, linear in the text, and bounded:
 * a range may not expand to more than {@link MAX_HOSTS} hosts in all. Every problem is reported
 * at once, each at its file:line:col (values of secret-looking keys masked in the quoted line).
 */
import { ConfigError, ConfigErrors, type SourcePos } from '../../errors.js';
import { isSecretKey } from '../schema.js';

/** A value as Ansible holds it after literal_eval. */
export type IniScalar = string | number | boolean | null;

/** A variable's value and where it was written. */
export interface IniValue {
  value: IniScalar;
  pos: SourcePos;
}

export interface AnsibleHost {
  name: string;
  /** Where the host first appears. */
  pos: SourcePos;
  /** Variables of its host lines (a later line wins), `ansible_port` from `host:port` included. */
  vars: Map<string, IniValue>;
}

export interface AnsibleGroup {
  name: string;
  /** Where the group is first declared (`all` and `ungrouped` are implicit: none). */
  pos?: SourcePos;
  /** Its own hosts, in file order. */
  hosts: string[];
  /** Its child groups, in file order. */
  children: string[];
  vars: Map<string, IniValue>;
}

/** A parsed INI inventory: hosts and groups by name, in file order. */
export interface AnsibleInventory {
  file: string;
  hosts: Map<string, AnsibleHost>;
  groups: Map<string, AnsibleGroup>;
}

/** Hosts a file may define, ranges expanded: far more than any cloud, small enough to walk at once. */
export const MAX_HOSTS = 10_000;
/** Problems shown at most. */
const SHOWN = 50;

const SECTION = /^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$/;
const GROUP_NAME = /^([^:\]\s]+)\s*(?:#.*)?$/;

class Lines {
  readonly problems: ConfigError[] = [];
  constructor(
    readonly file: string,
    readonly lines: string[],
  ) {}

  pos(line: number, col: number): SourcePos {
    const raw = this.lines[line - 1] ?? '';
    const lineText = maskLine(raw);
    // Masking shortens the line: the caret moves with the text before it.
    const caret = lineText === raw ? col : maskLine(raw.slice(0, col - 1)).length + 1;
    return { file: this.file, line, col, lineText, ...(caret !== col ? { caret } : {}) };
  }

  fail(line: number, col: number, message: string): void {
    if (this.problems.length <= SHOWN) this.problems.push(new ConfigError(message, this.pos(line, col)));
  }
}

/**
 * Parse INI inventory text. Pure.
 *
 * @throws {ConfigErrors} every problem, each at file:line:col
 */
export function parseAnsibleIni(text: string, file: string): AnsibleInventory {
  const lines = text.split(/\r?\n/);
  const src = new Lines(file, lines);
  const inv: AnsibleInventory = { file, hosts: new Map(), groups: new Map() };
  const group = (name: string, pos?: SourcePos): AnsibleGroup => {
    let g = inv.groups.get(name);
    if (!g) inv.groups.set(name, (g = { name, hosts: [], children: [], vars: new Map(), ...(pos ? { pos } : {}) }));
    else if (!g.pos && pos) g.pos = pos;
    return g;
  };
  group('all');
  group('ungrouped');
  // Declared by a [group] or [group:children] section (or implicit): a :vars section alone does not declare one.
  const declared = new Set(['all', 'ungrouped']);
  // Groups named under :children or given :vars before they are declared: checked at the end, as Ansible does.
  const pending = new Map<string, { line: number; col: number; what: string }>();
  let current = 'ungrouped';
  let state: 'hosts' | 'vars' | 'children' = 'hosts';
  let hostCount = 0;

  for (const [i, raw] of lines.entries()) {
    const n = i + 1;
    const indent = raw.length - raw.trimStart().length;
    const line = raw.trim();
    if (!line || line[0] === '#' || line[0] === ';') continue;
    const col = indent + 1;
    const m = SECTION.exec(line);
    if (m) {
      const [, name = '', kind = 'hosts'] = m;
      if (kind !== 'hosts' && kind !== 'vars' && kind !== 'children') {
        src.fail(n, col + name.length + 2, `section [${name}:${kind}] has an unknown type '${kind}' (hosts, vars or children)`);
        state = 'hosts';
        current = name;
        continue;
      }
      current = name;
      state = kind;
      if (kind === 'vars') {
        group(name);
        if (!declared.has(name) && !pending.has(name)) pending.set(name, { line: n, col, what: `section [${name}:vars] is for group '${name}', which no [${name}] or [${name}:children] section declares` });
      } else {
        group(name, src.pos(n, col));
        declared.add(name);
        pending.delete(name);
      }
      continue;
    }
    if (line.startsWith('[') && line.endsWith(']')) {
      src.fail(n, col, `invalid section header ${JSON.stringify(line)}: write [group], [group:vars] or [group:children], without spaces`);
      continue;
    }
    if (state === 'children') {
      const c = GROUP_NAME.exec(line);
      if (!c) {
        src.fail(n, col, `expected a group name in [${current}:children], got ${JSON.stringify(short(line))}`);
        continue;
      }
      const child = c[1]!;
      const g = group(current);
      if (child === current) src.fail(n, col, `group '${child}' is listed as a child of itself`);
      else if (!g.children.includes(child)) g.children.push(child);
      if (!declared.has(child) && !pending.has(child)) pending.set(child, { line: n, col, what: `[${current}:children] names group '${child}', which is declared nowhere` });
      group(child);
      continue;
    }
    if (state === 'vars') {
      const eq = line.indexOf('=');
      if (eq < 0) {
        src.fail(n, col, `expected key=value in [${current}:vars], got ${JSON.stringify(short(maskLine(line)))}`);
        continue;
      }
      const key = line.slice(0, eq).trim();
      const valueText = line.slice(eq + 1).trim();
      if (!key) {
        src.fail(n, col, `a variable in [${current}:vars] has no name`);
        continue;
      }
      group(current).vars.set(key, { value: literal(valueText, true), pos: src.pos(n, col + line.indexOf(valueText, eq + 1)) });
      continue;
    }
    // A host line.
    const tokens = shlexSplit(raw);
    if ('error' in tokens) {
      src.fail(n, tokens.col, `${tokens.error} in this host line`);
      continue;
    }
    if (tokens.length === 0) continue;
    const [first, ...rest] = tokens;
    const pattern = hostPattern(first!.text);
    if ('error' in pattern) {
      src.fail(n, first!.col, pattern.error);
      continue;
    }
    const vars = new Map<string, IniValue>();
    if (pattern.port !== undefined) vars.set('ansible_port', { value: pattern.port, pos: src.pos(n, first!.col) });
    let bad = false;
    for (const t of rest) {
      const eq = t.text.indexOf('=');
      if (eq <= 0) {
        src.fail(n, t.col, `expected key=value after the host name, got ${JSON.stringify(short(isSecretKey(t.text) ? '***' : t.text))}`);
        bad = true;
        continue;
      }
      vars.set(t.text.slice(0, eq), { value: literal(t.text.slice(eq + 1), false), pos: src.pos(n, t.col + eq + 1) });
    }
    if (bad) continue;
    hostCount += pattern.names.length;
    if (hostCount > MAX_HOSTS) {
      src.fail(n, first!.col, `more than ${MAX_HOSTS} hosts in all (ranges expanded): refused`);
      break;
    }
    const g = group(current);
    for (const name of pattern.names) {
      let h = inv.hosts.get(name);
      if (!h) inv.hosts.set(name, (h = { name, pos: src.pos(n, first!.col), vars: new Map() }));
      for (const [k, v] of vars) h.vars.set(k, v);
      if (!g.hosts.includes(name)) g.hosts.push(name);
    }
  }
  for (const p of pending.values()) src.fail(p.line, p.col, p.what);
  if (!src.problems.length) checkCycles(inv, src);
  if (src.problems.length) {
    const shown = src.problems.slice(0, SHOWN);
    if (src.problems.length > SHOWN) shown.push(new ConfigError('... and more problems, not shown: fix these first'));
    throw new ConfigErrors(shown);
  }
  // Hosts in no group but `ungrouped` stay there; a host of any other group leaves it (as Ansible).
  const grouped = new Set([...inv.groups.values()].filter((g) => g.name !== 'ungrouped').flatMap((g) => g.hosts));
  const ungrouped = inv.groups.get('ungrouped')!;
  ungrouped.hosts = ungrouped.hosts.filter((h) => !grouped.has(h));
  return inv;
}

/** A :children cycle is refused, at the line of the first group (in file order) on it. */
function checkCycles(inv: AnsibleInventory, src: Lines): void {
  const done = new Set<string>();
  for (const start of inv.groups.keys()) {
    if (done.has(start)) continue;
    // Iterative depth-first walk: a chain of thousands of groups must not overflow the stack.
    const onPath = new Set<string>([start]);
    const stack: { name: string; next: number }[] = [{ name: start, next: 0 }];
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const children = inv.groups.get(top.name)?.children ?? [];
      if (top.next >= children.length) {
        stack.pop();
        onPath.delete(top.name);
        done.add(top.name);
        continue;
      }
      const child = children[top.next++]!;
      if (onPath.has(child)) {
        const path = [...stack.slice(stack.findIndex((s) => s.name === child)).map((s) => s.name), child];
        const at = inv.groups.get(child)?.pos;
        src.fail(at?.line ?? 1, at?.col ?? 1, `[:children] sections make a loop: ${path.join(' -> ')}`);
        return;
      }
      if (done.has(child)) continue;
      onPath.add(child);
      stack.push({ name: child, next: 0 });
    }
  }
}

/** The hosts of `group` and of its child groups (recursively), each once, in file order of the walk. */
export function groupHosts(inv: AnsibleInventory, group: string): string[] {
  if (group === 'all') return [...inv.hosts.keys()];
  const out: string[] = [];
  const seen = new Set<string>();
  const visited = new Set<string>();
  const walk: string[] = [group];
  // Depth first, a group's own hosts before its children's (what `ansible-inventory --graph` lists).
  while (walk.length) {
    const name = walk.shift()!;
    if (visited.has(name)) continue;
    visited.add(name);
    const g = inv.groups.get(name);
    if (!g) continue;
    for (const h of g.hosts) if (!seen.has(h) && (seen.add(h), true)) out.push(h);
    walk.unshift(...g.children);
  }
  return out;
}

/** Every group `host` belongs to (directly or through :children), `all` included, by name. */
export function groupsOf(inv: AnsibleInventory, host: string): Set<string> {
  const out = new Set<string>(['all']);
  let frontier = [...inv.groups.values()].filter((g) => g.hosts.includes(host)).map((g) => g.name);
  const parents = parentMap(inv);
  while (frontier.length) {
    const next: string[] = [];
    for (const g of frontier) {
      if (out.has(g)) continue;
      out.add(g);
      next.push(...(parents.get(g) ?? []));
    }
    frontier = next;
  }
  return out;
}

function parentMap(inv: AnsibleInventory): Map<string, string[]> {
  const parents = new Map<string, string[]>();
  for (const g of inv.groups.values()) for (const c of g.children) parents.set(c, [...(parents.get(c) ?? []), g.name]);
  return parents;
}

/**
 * Depth of each group below `all` (0), the longest way down, as Ansible counts it: deeper groups'
 * vars win over shallower ones'.
 */
export function groupDepths(inv: AnsibleInventory): Map<string, number> {
  const parents = parentMap(inv);
  const depth = new Map<string, number>([['all', 0]]);
  const of = (name: string): number => {
    const known = depth.get(name);
    if (known !== undefined) return known;
    // Cycles were refused by the parser; this walk is bounded by the number of groups.
    const stack = [name];
    while (stack.length) {
      const g = stack[stack.length - 1]!;
      const ps = (parents.get(g) ?? []).filter((p) => p !== 'all');
      const missing = ps.filter((p) => !depth.has(p));
      if (missing.length) {
        stack.push(...missing);
        continue;
      }
      stack.pop();
      depth.set(g, 1 + Math.max(0, ...ps.map((p) => depth.get(p)!)));
    }
    return depth.get(name)!;
  };
  for (const g of inv.groups.keys()) of(g);
  return depth;
}

/** Where a host's variable came from, for provenance lines. */
export interface HostVar extends IniValue {
  /** `host line` or `[group:vars]`. */
  from: string;
}

/**
 * A host's variable as Ansible resolves it from the inventory file: its host lines win, then the
 * vars of its groups from the deepest to `all` (same depth: `ansible_group_priority`, then the
 * group name, later wins).
 */
export function hostVar(inv: AnsibleInventory, host: string, key: string): HostVar | undefined {
  const own = inv.hosts.get(host)?.vars.get(key);
  if (own) return { ...own, from: `host line of ${host}` };
  return groupVar(inv, host, key);
}

/** Only the group vars of {@link hostVar}: what a host gets from its groups. */
export function groupVar(inv: AnsibleInventory, host: string, key: string): HostVar | undefined {
  const depths = groupDepths(inv);
  const priority = (g: AnsibleGroup) => {
    const p = g.vars.get('ansible_group_priority')?.value;
    return typeof p === 'number' ? p : Number(p ?? 1) || 1;
  };
  const groups = [...groupsOf(inv, host)]
    .map((name) => inv.groups.get(name)!)
    .filter((g) => g.vars.has(key))
    .sort((a, b) => depths.get(a.name)! - depths.get(b.name)! || priority(a) - priority(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const g = groups[groups.length - 1];
  return g && { ...g.vars.get(key)!, from: `[${g.name}:vars]` };
}

// ---------------------------------------------------------------------------------------------
// Lexing
// ---------------------------------------------------------------------------------------------

interface Token {
  text: string;
  /** 1-based column where the token starts. */
  col: number;
}

/** POSIX shlex.split(line, comments=True), with each word's column. */
export function shlexSplit(line: string): Token[] | { error: string; col: number } {
  const out: Token[] = [];
  let word: string | undefined;
  let start = 0;
  let i = 0;
  const end = () => {
    if (word !== undefined) out.push({ text: word, col: start + 1 });
    word = undefined;
  };
  while (i < line.length) {
    const ch = line[i]!;
    if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n') {
      end();
      i++;
    } else if (ch === '#') {
      // A comment starts at any unquoted '#', also inside a word (shlex's commenters).
      break;
    } else if (ch === "'" || ch === '"') {
      if (word === undefined) (word = ''), (start = i);
      const open = i++;
      let closed = false;
      while (i < line.length) {
        const c = line[i]!;
        if (c === ch) {
          closed = true;
          i++;
          break;
        }
        if (ch === '"' && c === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\')) {
          word += line[i + 1];
          i += 2;
          continue;
        }
        word += c;
        i++;
      }
      if (!closed) return { error: 'no closing quotation', col: open + 1 };
    } else if (ch === '\\') {
      if (word === undefined) (word = ''), (start = i);
      if (i + 1 >= line.length) return { error: 'no escaped character', col: i + 1 };
      word += line[i + 1];
      i += 2;
    } else {
      if (word === undefined) (word = ''), (start = i);
      word += ch;
      i++;
    }
  }
  end();
  return out;
}

/**
 * A subset of Python's ast.literal_eval: a quoted string, an integer, a float, True, False or None,
 * optionally followed by a comment when `comment` (a :vars line is handed to it whole). Anything
 * else is the text as written.
 */
export function literal(text: string, comment: boolean): IniScalar {
  const rest = (s: string) => (comment ? /^\s*(#.*)?$/.test(s) : s === '');
  const word = /^(True|False|None|[+-]?(?:0|[1-9][0-9_]*)(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|[+-]?\.[0-9]+)/.exec(text);
  if (word && rest(text.slice(word[0].length))) {
    const w = word[0];
    if (w === 'True') return true;
    if (w === 'False') return false;
    if (w === 'None') return null;
    if (!/__|_$|_\./.test(w)) return Number(w.replace(/_/g, ''));
  }
  const q = text[0];
  if (q === "'" || q === '"') {
    const s = pyString(text, q);
    if (s && rest(text.slice(s.end))) return s.value;
  }
  return text;
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '0': '\0', a: '\x07', b: '\b', f: '\f', v: '\v', '\\': '\\', "'": "'", '"': '"' };

/** A Python string literal at the start of `text` (no prefixes), or undefined when it is not one. */
function pyString(text: string, q: string): { value: string; end: number } | undefined {
  let value = '';
  for (let i = 1; i < text.length; i++) {
    const c = text[i]!;
    if (c === q) return { value, end: i + 1 };
    if (c !== '\\') {
      value += c;
      continue;
    }
    const e = text[++i];
    if (e === undefined) return undefined;
    const hex = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
    if (hex) {
      const digits = text.slice(i + 1, i + 1 + hex);
      if (!/^[0-9a-fA-F]+$/.test(digits) || digits.length !== hex) return undefined;
      const cp = parseInt(digits, 16);
      if (cp > 0x10ffff) return undefined;
      value += String.fromCodePoint(cp);
      i += hex;
    } else value += ESCAPES[e] ?? `\\${e}`;
  }
  return undefined;
}

/**
 * A host pattern: `name`, `name:port`, `[v6]:port`, with ranges `[01:03]`, `[a:c]`, `[1:9:2]`
 * expanded (several in one name too), at most {@link MAX_HOSTS} names.
 */
export function hostPattern(text: string): { names: string[]; port?: number } | { error: string } {
  let pattern = text;
  let port: number | undefined;
  const v6 = /^\[([0-9A-Fa-f:.]+)\](?::(\d+))?$/.exec(text);
  if (v6 && v6[1]!.includes(':')) {
    pattern = v6[1]!;
    if (v6[2] !== undefined) port = Number(v6[2]);
  } else {
    // A port follows the last ':' outside brackets, when that is the only one (else an IPv6 address).
    const outside = text.replace(/\[[^\]]*\]/g, (m) => '_'.repeat(m.length));
    const colons = [...outside].filter((c) => c === ':').length;
    if (colons === 1) {
      const at = outside.indexOf(':');
      const p = text.slice(at + 1);
      if (!/^\d+$/.test(p)) return { error: `invalid host pattern '${short(text)}': after ':' comes a port number` };
      pattern = text.slice(0, at);
      port = Number(p);
    }
  }
  if (port !== undefined && (port < 1 || port > 65535)) return { error: `invalid port ${port} in '${short(text)}' (1-65535)` };
  if (!pattern || pattern === '---') return { error: `invalid host pattern '${short(text)}'${pattern === '---' ? ": '---' starts a YAML document; is this a YAML inventory?" : ''}` };
  const names = expandRanges(pattern);
  if ('error' in names) return names;
  return { names, ...(port !== undefined ? { port } : {}) };
}

function expandRanges(pattern: string): string[] | { error: string } {
  const m = /\[([^\]]*)\]/.exec(pattern);
  if (!m || !m[1]!.includes(':')) return [pattern];
  const [beg = '', end = '', stride = '1', ...extra] = m[1]!.split(':');
  const bad = (why: string) => ({ error: `invalid host range '[${m[1]}]' in '${short(pattern)}': ${why}` });
  if (extra.length) return bad('give [start:end] or [start:end:stride]');
  if (!end) return bad('the range has no end');
  if (!/^\d+$/.test(stride) || Number(stride) < 1) return bad('the stride must be a whole number >= 1');
  const step = Number(stride);
  let items: string[];
  const from = beg || '0';
  if (/^\d+$/.test(from) && /^\d+$/.test(end)) {
    const width = from.length > 1 && from.startsWith('0') ? from.length : 0;
    if (width && width !== end.length) return bad('a zero-padded range needs a start and an end of the same length');
    const a = Number(from);
    const b = Number(end);
    if (a > b) return bad('the start is after the end');
    if ((b - a) / step + 1 > MAX_HOSTS) return bad(`it expands to more than ${MAX_HOSTS} hosts`);
    items = [];
    for (let x = a; x <= b; x += step) items.push(width ? String(x).padStart(width, '0') : String(x));
  } else if (/^[A-Za-z]$/.test(from) && /^[A-Za-z]$/.test(end)) {
    const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
    const a = letters.indexOf(from);
    const b = letters.indexOf(end);
    if (a > b) return bad('the start is after the end');
    items = [];
    for (let x = a; x <= b; x += step) items.push(letters[x]!);
  } else return bad('give numbers ([01:03]) or single letters ([a:c])');
  const head = pattern.slice(0, m.index);
  const tail = expandRanges(pattern.slice(m.index + m[0].length));
  if ('error' in tail) return tail;
  if (items.length * tail.length > MAX_HOSTS) return bad(`it expands to more than ${MAX_HOSTS} hosts`);
  return items.flatMap((x) => tail.map((t) => `${head}${x}${t}`));
}

/** A line with the values of secret-looking `key=value` pairs (ansible_password=...) masked. */
function maskLine(line: string): string {
  return line.replace(/([^\s=]+)(\s*=\s*)("(?:[^"\\]|\\.)*"?|'[^']*'?|\S+)/g, (all, key: string, eq: string) => (isSecretKey(key) ? `${key}${eq}***` : all));
}

function short(s: string): string {
  return s.length > 64 ? `${s.slice(0, 61)}...` : s;
}
