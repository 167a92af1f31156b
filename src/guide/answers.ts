/**
 * The guided mode's answers, and what they become: inventory YAML (with comments, never a secret)
 * and the unattended command that repeats the run. Pure: no prompts, files or connections, so the
 * mapping is table-tested, and the inventory it writes goes through the real loader like any file.
 */
import { Document, isAlias, isMap, isNode, isPair, isScalar, parseDocument, visit, YAMLMap, type Pair, type Scalar } from 'yaml';
import { ConfigErrors } from '../errors.js';
import { parseInventory } from '../inventory/load.js';
import type { Backend, DatabaseConfig, InstallConfig, SecurityConfig } from '../inventory/types.js';
import { shellQuote } from '../util/quote.js';

/** A secret the operator named: an environment variable or a file, never the value itself. */
export type SecretAnswer = { env: string } | { file: string };

/** One host entered in the guided mode. */
export interface HostAnswer {
  name: string;
  address: string;
  port: number;
  role: 'dashboard' | 'jump';
  proxyJump?: string;
}

/** How every host is reached (the inventory's `defaults`). */
export interface AccessAnswer {
  user: string;
  /** Private key file; absent = ssh-agent. */
  identity?: string;
  knownHosts: string;
  become: boolean;
}

export interface Answers {
  /** The inventory file the operator picked, as text; absent when the hosts were entered here. */
  base?: { file: string; text: string };
  /** Entered hosts and how to reach them (used only without `base`). */
  access?: AccessAnswer;
  hosts?: HostAnswer[];
  /** Absent while the hosts are still being entered (the inventory then has no session yet). */
  backend?: Backend;
  redis?: { url: string; password?: SecretAnswer; tlsCa?: string; tlsCheckHostname?: boolean; tlsCert?: string; tlsKey?: string; sentinel?: { service: string; hosts: string[]; password?: SecretAnswer }; cluster?: { nodes: string[] } };
  memcached?: { servers: string[] };
  database?: Omit<DatabaseConfig, 'password' | 'options'> & { password?: SecretAnswer };
  /** Only when the operator chose to set them. */
  security?: SecurityConfig;
  /** Only for an inventory built here (a picked file keeps its own install section). */
  install?: Pick<InstallConfig, 'method' | 'wheelhouse'>;
  allowInsecureCookieSessions?: boolean;
}

const HEADER = (cmd: string, env: string[]) =>
  [
    ' sessionctl inventory saved by the guided mode (see inventory.example.yaml for every key).',
    ' Repeat this run unattended:',
    `   ${cmd}`,
    ' No secret is stored here: passwords are referenced by *_env (environment variable) or *_file.',
    ...(env.length ? [` Set ${env.join(', ')} in the environment first.`] : []),
  ].join('\n');

/** Answers -> inventory YAML text. With `base`, its file is kept and only the session keys are replaced. */
export function inventoryText(a: Answers, savedAs = 'inventory.yaml'): string {
  const doc = a.base ? parseDocument(a.base.text) : newDocument(a);
  if (!a.backend) return doc.toString({ lineWidth: 0 });
  if (!isMap(doc.get('session'))) doc.set('session', new YAMLMap());
  const session = doc.get('session') as YAMLMap;
  session.set('backend', doc.createNode(a.backend));
  const section = backendSection(doc, a);
  if (section) session.set(a.backend, section);
  if (a.security) session.set('security', doc.createNode(snake(a.security)));
  (session.get('backend', true) as Scalar).comment = ' memcached | redis | database | cookie';
  const env = requiredEnv(a);
  session.commentBefore = [
    ` Written by the guided mode. Repeat unattended: ${unattendedCommand(savedAs, a)}`,
    ...(a.base && env.length ? [` (with ${env.join(', ')} set in the environment)`] : []),
  ].join('\n');
  if (!a.base) doc.commentBefore = HEADER(unattendedCommand(savedAs, a), requiredEnv(a));
  return doc.toString({ lineWidth: 0 });
}

function newDocument(a: Answers): Document {
  const access = a.access ?? { user: 'root', knownHosts: '~/.ssh/known_hosts', become: false };
  const doc = new Document({});
  const defaults = doc.createNode({
    user: access.user,
    ...(access.identity ? { identity: access.identity } : {}),
    known_hosts: access.knownHosts,
    become: access.become,
  }) as YAMLMap;
  (defaults.get('user', true) as Scalar).comment = access.identity ? ' SSH user; the key below (identity)' : ' SSH user; no identity: ssh-agent (SSH_AUTH_SOCK)';
  doc.set('defaults', defaults);
  const hosts = new YAMLMap();
  for (const h of a.hosts ?? []) {
    const entry = doc.createNode({
      address: h.address,
      ...(h.port !== 22 ? { port: h.port } : {}),
      ...(h.role === 'jump' ? { role: 'jump' } : {}),
      ...(h.proxyJump ? { proxy_jump: h.proxyJump } : {}),
    }) as YAMLMap;
    entry.flow = true;
    hosts.set(h.name, entry);
  }
  doc.set('hosts', hosts);
  if (a.backend) doc.set('session', new YAMLMap());
  if (a.install) {
    doc.set('install', doc.createNode({ method: a.install.method, ...(a.install.wheelhouse ? { wheelhouse: a.install.wheelhouse } : {}) }));
  }
  return doc;
}

function backendSection(doc: Document, a: Answers): YAMLMap | undefined {
  switch (a.backend) {
    case 'redis': {
      const r = a.redis;
      if (!r) return undefined;
      return doc.createNode({
        url: r.url,
        ...secretKeys(r.password),
        ...(r.tlsCa ? { tls_ca: r.tlsCa } : {}),
        ...(r.tlsCheckHostname === false ? { tls_check_hostname: false } : {}),
        ...(r.tlsCert ? { tls_cert: r.tlsCert } : {}),
        ...(r.tlsKey ? { tls_key: r.tlsKey } : {}),
        ...(r.sentinel ? { sentinel: { service: r.sentinel.service, hosts: r.sentinel.hosts, ...secretKeys(r.sentinel.password) } } : {}),
        ...(r.cluster ? { cluster: { nodes: r.cluster.nodes } } : {}),
      }) as YAMLMap;
    }
    case 'memcached':
      return a.memcached && (doc.createNode({ servers: a.memcached.servers }) as YAMLMap);
    case 'database': {
      const d = a.database;
      if (!d) return undefined;
      return doc.createNode({
        engine: d.engine,
        host: d.host,
        ...(d.port !== undefined ? { port: d.port } : {}),
        name: d.name,
        user: d.user,
        ...secretKeys(d.password),
        session_engine: d.sessionEngine,
      }) as YAMLMap;
    }
    case 'cookie':
      return undefined;
  }
}

function secretKeys(s: SecretAnswer | undefined): Record<string, string> {
  if (!s) return {};
  return 'env' in s ? { password_env: s.env } : { password_file: s.file };
}

function snake(s: SecurityConfig): Record<string, unknown> {
  return Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), v]));
}

/** Keys holding a secret literally (each also has `_env` and `_file` forms: inventory/load.ts). */
const SECRET_KEYS = new Set(['identity_passphrase', 'password']);

/**
 * The inventory text as saved, with no secret in it: a literal secret kept from a picked file
 * (an identity_passphrase, another backend's password) becomes an `_env` reference to a variable
 * named after its place, with a comment saying so; a comment that quotes a secret is dropped.
 * The run itself still uses the literal (it is in memory); the saved file only names it.
 *
 * @returns the text, and the variables it now needs that the answers did not name
 */
export function withoutLiteralSecrets(text: string): { text: string; env: string[] } {
  const doc = parseDocument(text);
  const found: Array<{ pair: Pair; value: Scalar; keys: string[]; map: unknown }> = [];
  visit(doc, {
    Pair(_key, pair, path) {
      const key = isScalar(pair.key) ? pair.key.value : undefined;
      if (typeof key !== 'string' || !SECRET_KEYS.has(key)) return;
      const keys = [...path.filter(isPair).map((p) => String((p.key as Scalar | null)?.value)), key];
      // Free-form driver options may hold anything under any name.
      if (keys.includes('options')) return;
      const value = isAlias(pair.value) ? pair.value.resolve(doc) : pair.value;
      if (isScalar(value) && value.value !== null && value.value !== '') found.push({ pair, value, keys, map: path[path.length - 1] });
    },
  });

  // Comments first: one quoting a secret goes. Passwords of 1 or 2 characters would take every comment with that letter.
  const quoted = [...new Set(found.map((f) => String(f.value.value)))].filter((v) => v.length >= 3);
  const quotes = (c: string | null | undefined) => c != null && quoted.some((v) => c.includes(v));
  if (quotes(doc.commentBefore)) doc.commentBefore = null;
  if (quotes(doc.comment)) doc.comment = null;
  visit(doc, (_key, node) => {
    if (!isNode(node)) return;
    if (quotes(node.commentBefore)) node.commentBefore = null;
    if (quotes(node.comment)) node.comment = null;
  });

  const env: string[] = [];
  const renamed = new Map<Scalar, string>();
  for (const { pair, value, keys, map } of found) {
    const key = keys[keys.length - 1]!;
    (pair.key as Scalar).value = `${key}_env`;
    // An anchored value merged or aliased in several places is one variable.
    if (renamed.has(value)) continue;
    const name = envName(keys, new Set(renamed.values()));
    renamed.set(value, name);
    env.push(name);
    value.value = name;
    value.type = 'PLAIN';
    // In a flow mapping a comment would break it over lines: it goes after the mapping.
    const note = ` ${key}: was a literal secret, not saved: set ${name} in the environment`;
    if (isMap(map) && map.flow) map.comment = map.comment ? `${map.comment};${note}` : note;
    else value.comment = note;
  }
  return { text: doc.toString({ lineWidth: 0 }), env };
}

/** `SESSIONCTL_HOSTS_DASH1_IDENTITY_PASSPHRASE`, made unique among `taken`. */
function envName(keys: string[], taken: Set<string>): string {
  const base = ['SESSIONCTL', ...keys].join('_').toUpperCase().replace(/[^A-Z0-9_]/g, '_');
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}_${i}`;
  return name;
}

/** Environment variables the saved inventory reads its secrets from. */
export function requiredEnv(a: Answers): string[] {
  const refs = [a.redis?.password, a.redis?.sentinel?.password, a.database?.password];
  return refs.flatMap((s) => (s && 'env' in s ? [s.env] : []));
}

/** The exact command that repeats this run without a person: everything else is in the inventory. */
export function unattendedCommand(file: string, a: Answers): string {
  const argv = ['sessionctl', 'apply', '-i', file, '--yes'];
  if (a.backend === 'cookie' && a.allowInsecureCookieSessions) argv.push('--allow-insecure-cookie-sessions');
  return argv.map(shellQuote).join(' ');
}

/**
 * What the inventory loader says about one answer placed at `path` (like `session.redis.url` or
 * `hosts.dash1.port`), or undefined when it accepts it: every prompt is validated by the same
 * schema as a file, so the guided mode has no validators of its own.
 */
export function answerProblem(path: string, value: unknown): string | undefined {
  const keys = path.split('.');
  const doc = new Document({ hosts: { probe: { address: '127.0.0.1' } } });
  // A host key is checked on a host that is otherwise valid.
  if (keys[0] === 'hosts' && keys.length > 2) doc.setIn([...keys.slice(0, 2), 'address'], '127.0.0.1');
  doc.setIn(keys, value);
  try {
    parseInventory(doc.toString(), '<answer>');
    return undefined;
  } catch (err) {
    if (!(err instanceof ConfigErrors)) throw err;
    // Keys the stub document lacks next to the answer are not the answer's problem.
    const own = err.errors.filter((e) => !e.message.startsWith('missing required key'));
    return own.length ? own.map((e) => e.message).join('; ') : undefined;
  }
}
