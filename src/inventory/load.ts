/**
 * The inventory: which Horizon hosts to change and how to reach them, plus the session backend,
 * install and rollout settings. This module holds the inventory's schema (see
 * `inventory.example.yaml` for every key) and turns a file into a typed {@link Inventory}, reporting
 * every problem at once with its line and column.
 */
import { createHash } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import { isMap, parseDocument, type YAMLError, type YAMLMap } from 'yaml';
import { ConfigError, ConfigErrors } from '../errors.js';
import { FILE_LIMITS, readLocalFile } from '../util/files.js';
import { selectByLimit, type Limit } from './limit.js';
import { userinfoProblem } from '../util/secret.js';
import { withSshConfig } from './ssh-config.js';
import { ansibleIniEvidence, loadKollaInventory } from './kolla/load.js';
import {
  absPath,
  address,
  Bad,
  bool,
  Ctx,
  describe,
  emptyObject,
  entries,
  Field,
  finish,
  hostPort,
  int,
  isHostAddress,
  list,
  localPath,
  mapping,
  object,
  offsetOf,
  oneOf,
  overlay,
  type RawObject,
  type Shape,
  readObject,
  scalar,
  scalarMap,
  secret,
  short,
  str,
  suggest,
  url,
} from './schema.js';
import type { HostConfig, Inventory, LoadBalancerConfig, SecretRef, SshSettingKey } from './types.js';

// ---------------------------------------------------------------------------------------------
// Schema
// ---------------------------------------------------------------------------------------------

const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const USER_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.@-]*\$?$/;
const CONTAINER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
// Starts with a digit; no spaces or shell metacharacters (it ends up in a pip or apt argument).
const VERSION = /^[0-9][A-Za-z0-9.+~:_-]*$/;

/** Keys of a host; `defaults` accepts the same keys. */
const HOST = {
  // Unset: ssh_config's HostName, else the host's name (as ssh does).
  address: address(),
  port: int(1, 65535).default(22),
  user: str('a user name', USER_NAME).default('root'),
  identity: localPath(),
  identity_passphrase: secret(),
  known_hosts: localPath().defaultWith((ctx) => path.join(ctx.paths.home, '.ssh', 'known_hosts')),
  become: bool().default(false),
  container: str('a container name ([A-Za-z0-9][A-Za-z0-9_.-]*)', CONTAINER_NAME).default('horizon'),
  proxy_jump: str('a host name from hosts'),
  role: oneOf(['dashboard', 'jump', 'loadbalancer']).default('dashboard'),
  layout: oneOf(['auto', 'kolla-local-settings-d', 'kolla-local-settings', 'plain']).default('auto'),
  config_dir: absPath().default('/etc/kolla/horizon'),
  settings_file: absPath(),
  // Unset: where the container's web server listens (Apache :80, uWSGI :8080 on Kolla >= 2025.2).
  health_url: url(['http:', 'https:']),
  connect_timeout: int(1).default(15),
  command_timeout: int(1).default(300),
};

export const REDIS_PROTOCOLS = ['redis:', 'rediss:', 'unix:'];

/** What is wrong with a Redis URL (wherever it comes from: inventory or --redis-url), if anything. */
export function redisUrlProblem(u: URL): string | undefined {
  if (u.password || u.searchParams.has('password')) {
    return 'must not contain a password: put it in password_env or password_file (or password) instead';
  }
  if (u.protocol !== 'unix:' && !u.hostname) return 'must name a host, like redis://10.0.0.50:6379/0';
  if (u.protocol === 'unix:' && !u.pathname.startsWith('/')) return 'must give a socket path, like unix:///run/redis/redis.sock';
  return undefined;
}

const REDIS_URL = url(REDIS_PROTOCOLS, (u) => {
  const problem = redisUrlProblem(u);
  return problem ? new Bad(problem) : undefined;
});

// A socket path is also a valid Django database HOST.
const DB_HOST = scalar('a hostname, IP address or socket path', (v) =>
  typeof v === 'string' && (path.posix.isAbsolute(v) || isHostAddress(v)) ? v : undefined,
);

const SESSION = object({
  backend: oneOf(['memcached', 'redis', 'database', 'cookie']),
  redis: object({
    url: REDIS_URL.required(),
    password: secret(),
    tls_ca: localPath(),
    tls_check_hostname: bool(),
    tls_cert: absPath(),
    tls_key: absPath(),
    require_persistence: bool(),
    sentinel: object({
      service: str('a sentinel service name').required(),
      hosts: list(hostPort(), { nonEmpty: true }).required(),
      password: secret(),
    }),
    cluster: object({
      nodes: list(hostPort(), { nonEmpty: true }).required(),
    }),
  }),
  memcached: object({
    servers: list(hostPort(), { nonEmpty: true }).required(),
  }),
  database: object({
    engine: oneOf(['mysql', 'postgresql']).required(),
    host: DB_HOST.required(),
    port: int(1, 65535),
    name: str('a database name').required(),
    user: str('a user name').required(),
    password: secret(),
    options: scalarMap(),
    session_engine: oneOf(['db', 'cached_db']).default('db'),
  }),
  security: object({
    timeout: int(1),
    refresh: bool(),
    cookie_secure: bool(),
    cookie_httponly: bool(),
    cookie_samesite: oneOf(['Lax', 'Strict', 'None', false]),
    csrf_cookie_secure: bool(),
  }),
  carry: bool(),
});

// Credentials in a mirror or proxy URL are decoded to be masked: an undecodable '%' is a config error, not a crash.
const credentialsReadable = (_u: URL, text: string) => {
  const problem = userinfoProblem(text);
  return problem ? new Bad(problem) : undefined;
};

const INSTALL_SHAPE = {
  method: oneOf(['pip', 'wheelhouse', 'distro']).default('pip'),
  version: str('a version string like "5.4.0"', VERSION),
  index_url: url(['http:', 'https:'], credentialsReadable),
  proxy: url(['http:', 'https:', 'socks5:', 'socks5h:'], credentialsReadable),
  wheelhouse: localPath(),
};
const INSTALL = object(INSTALL_SHAPE, (install, report) => {
  if (install.method === 'wheelhouse' && install.wheelhouse === undefined) {
    report("install.wheelhouse (a directory of wheels) is required when install.method is 'wheelhouse'", 'method');
  }
});

const ROLLOUT_SHAPE = {
  serial: int(1).default(1),
  max_fail: int(0).default(0),
  method: oneOf(['auto', 'reload', 'restart']).default('auto'),
};
const ROLLOUT = object(ROLLOUT_SHAPE);

// HAProxy's names (backends, servers): no whitespace or ';', which its runtime API would split on.
const HAPROXY_NAME = /^[A-Za-z0-9_.:-]+$/;
const LOADBALANCER = object({
  hosts: list(str('a host name from hosts'), { nonEmpty: true }).required(),
  container: str('a container name ([A-Za-z0-9][A-Za-z0-9_.-]*)', CONTAINER_NAME).default('haproxy'),
  socket: absPath().default('/var/lib/kolla/haproxy/haproxy.sock'),
  backends: list(str('an HAProxy backend name ([A-Za-z0-9_.:-]+)', HAPROXY_NAME), { nonEmpty: true }).default(['horizon_back', 'horizon_external_back']),
  servers: scalarMap(),
});

const KOLLA = object({
  deploy_host: str('a host name from hosts'),
  config_dir: absPath().default('/etc/kolla/config'),
  // kolla-ansible's own files: the Dashboard hosts and the session targets come from them (kolla/load.ts).
  inventory: localPath(),
  globals: localPath(),
  passwords: localPath(),
});

/** The host keys, none required and none defaulted: the base of the hosts read from kolla.inventory. */
const HOST_BASE: Shape = Object.fromEntries(Object.entries(HOST as Shape).map(([k, f]) => [k, new Field<unknown>(f.expect, f.read, 'optional', f.opts.variants ? { variants: f.opts.variants } : {})]));

// Optional keys, sections included, may be left empty (every key commented out): "not given".
const TOP = {
  defaults: mapping('a mapping of host settings'),
  // Required, unless kolla.inventory names kolla-ansible's inventory (checked in parse).
  hosts: mapping('a mapping of host names to host settings'),
  session: SESSION,
  install: INSTALL,
  rollout: ROLLOUT,
  loadbalancer: LOADBALANCER,
  kolla: KOLLA,
  ssh_config: localPath(),
};

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

/**
 * Validate inventory text. Pure: reads no files and never connects anywhere.
 *
 * @param text the YAML source
 * @param file its path (shown in messages; relative paths in the inventory resolve against its
 *   directory; a name like `<guided>` resolves them against the working directory)
 * @param env where `HOME` comes from, for `~` in local paths
 * @throws {ConfigErrors} listing every problem found, each with file, line and column
 */
export function parseInventory(text: string, file: string, env: NodeJS.ProcessEnv = process.env): Inventory {
  try {
    return parse(text, file, env);
  } catch (err) {
    // yaml's parser and the tree walks recurse once per nesting level: a deep enough file overflows the stack.
    if (!(err instanceof RangeError && /call stack/i.test(err.message))) throw err;
    throw new ConfigErrors([new ConfigError('invalid YAML: nested too deeply to read', { file, line: 1, col: 1 })]);
  }
}

function parse(text: string, file: string, env: NodeJS.ProcessEnv): Inventory {
  const pseudo = file.startsWith('<');
  const absFile = pseudo ? file : path.resolve(file);
  const doc = parseDocument(text, { merge: true, uniqueKeys: false, prettyErrors: false });
  const ctx = new Ctx(doc, text, file, {
    home: env.HOME || os.homedir(),
    dir: pseudo ? process.cwd() : path.dirname(absFile),
  });

  // After a syntax error the tree is a guess: report only what YAML itself found.
  for (const e of [...doc.errors, ...doc.warnings]) ctx.fail(e.pos[0], `invalid YAML: ${yamlMessage(e, ctx)}`);
  ctx.throwIfFailed();

  const root = ctx.deref(doc.contents);
  if (root === null) {
    ctx.fail(0, "the inventory is empty: it needs at least a 'hosts' mapping");
  } else if (!isMap(root)) {
    const sections = "'hosts' (and optionally defaults, session, install, rollout, loadbalancer, kolla)";
    ctx.fail(offsetOf(root), `the inventory must be a mapping with ${sections}, got ${describe(root)}`);
  }
  ctx.throwIfFailed();

  // Top-level `x-...` keys are free: a place to define YAML anchors used further down.
  const at = { path: '', where: 'at the top level', ignore: (key: string) => key.startsWith('x-') };
  const raw = readObject(root as YAMLMap, TOP, ctx, at);
  const top = finish(raw, TOP, ctx, at.where);
  const fromKolla = top.kolla?.inventory !== undefined;
  if (!top.hosts && !fromKolla && !raw.offsets.has('hosts')) ctx.fail(raw.offset, `missing required key 'hosts' ${at.where}`);
  // `hosts:` left empty means "not given" only next to kolla.inventory.
  if (raw.nulled.has('hosts') && !fromKolla) ctx.fail(raw.offsets.get('hosts') ?? raw.offset, `hosts must be ${TOP.hosts.expect}, got an empty value`);
  const defaults = top.defaults && readObject(top.defaults, HOST, ctx, { path: 'defaults', where: 'in defaults' });
  const hosts = top.hosts ? readHosts(top.hosts, defaults, ctx) : [];
  // With kolla.inventory the Dashboard hosts come from kolla-ansible's file: the cross-host checks run once it is read.
  if (top.hosts && !fromKolla) checkHosts(hosts, top.hosts, ctx);
  const kolla = top.kolla && (fromKolla ? { ...top.kolla, hostDefaults: (defaults ? finish(defaults, HOST_BASE, ctx, 'in defaults') : {}) as Partial<HostConfig>, hostDefaultKeys: sshKeysIn(defaults) } : top.kolla);
  if (!fromKolla && kolla?.deployHost !== undefined && !hosts.some((h) => h.name === kolla.deployHost)) {
    ctx.fail(ctx.offsetOf(top.kolla!, 'deployHost') ?? 0, unknownHost(`kolla.deploy_host`, kolla.deployHost, hosts, ctx));
  }
  // With kolla.inventory, servers are checked against the hosts read from it (kolla/load.ts).
  const lb = top.loadbalancer && (fromKolla ? { ...top.loadbalancer, servers: Object.fromEntries(Object.entries(top.loadbalancer.servers ?? {}).map(([k, v]) => [k, String(v)])) } : readLoadBalancer(top.loadbalancer, hosts, ctx));
  ctx.throwIfFailed();

  return {
    file: absFile,
    digest: createHash('sha256').update(text).digest('hex'),
    hosts,
    session: top.session ?? {},
    install: top.install ?? emptyObject(INSTALL_SHAPE, ctx, 'in install'),
    rollout: top.rollout ?? emptyObject(ROLLOUT_SHAPE, ctx, 'in rollout'),
    ...(kolla ? { kolla } : {}),
    ...(lb ? { loadbalancer: lb } : {}),
    ...(top.sshConfig !== undefined ? { sshConfig: top.sshConfig } : {}),
  };
}

// yaml's messages that end by quoting the source they are about ("Unresolved tag: !x").
const QUOTES_SOURCE = [/^(Invalid escape sequence) /, /^(Unresolved tag): /, /^(Block scalar header includes extra characters): /, /^(Not a YAML token): /, /^(.*? token in YAML stream): "/];

/** yaml's message, without the source it quotes when that is a secret, and never longer than a line. */
function yamlMessage(e: YAMLError, ctx: Ctx): string {
  let message = e.message;
  if (ctx.touchesSecret(e.pos[0], e.pos[1])) {
    for (const re of QUOTES_SOURCE) message = re.exec(message)?.[1] ?? message;
  }
  return message.length > 160 ? `${message.slice(0, 157)}...` : message;
}

/** The load balancers' hosts exist; `servers` maps Dashboard hosts to HAProxy server names. */
function readLoadBalancer(raw: { hosts: string[]; container: string; socket: string; backends: string[]; servers?: Record<string, string | number | boolean> }, hosts: HostConfig[], ctx: Ctx): LoadBalancerConfig {
  const at = ctx.offsetOf(raw, 'hosts') ?? 0;
  const byName = new Map(hosts.map((h) => [h.name, h]));
  // An invalid hosts list is already reported (and absent).
  for (const name of raw.hosts ?? []) if (!byName.has(name)) ctx.fail(at, unknownHost('loadbalancer.hosts', name, hosts, ctx));
  const servers: Record<string, string> = {};
  for (const [host, server] of Object.entries(raw.servers ?? {})) {
    const where = ctx.offsetOf(raw, 'servers') ?? at;
    if (byName.get(host)?.role !== 'dashboard') ctx.fail(where, `loadbalancer.servers names '${short(host)}', which is not a Dashboard host of hosts`);
    else if (typeof server !== 'string' || !HAPROXY_NAME.test(server)) ctx.fail(where, `loadbalancer.servers.${short(host)} must be an HAProxy server name ([A-Za-z0-9_.:-]+), got ${JSON.stringify(server)}`);
    else servers[host] = server;
  }
  return { hosts: raw.hosts, container: raw.container, socket: raw.socket, backends: raw.backends, servers };
}

// The host keys ssh_config may supply when the inventory leaves them unset.
const SSH_KEYS: [string, SshSettingKey][] = [['address', 'address'], ['user', 'user'], ['port', 'port'], ['identity', 'identity'], ['known_hosts', 'knownHosts'], ['proxy_jump', 'proxyJump']];

/** The SSH settings a host's (or defaults') own keys give: those win over ssh_config. */
function sshKeysIn(raw: { offsets: ReadonlyMap<string, number> } | undefined): Set<SshSettingKey> {
  return new Set(SSH_KEYS.filter(([key]) => raw?.offsets.has(key)).map(([, prop]) => prop));
}

function readHosts(map: YAMLMap, defaults: RawObject | undefined, ctx: Ctx): HostConfig[] {
  const hosts: HostConfig[] = [];
  for (const e of entries(map, ctx, 'in hosts')) {
    const name = e.key;
    if (!HOST_NAME.test(name)) {
      const rule = "use letters, digits, '.', '_' and '-', starting with a letter or digit";
      ctx.fail(e.keyOffset, `invalid host name '${short(name)}': ${rule}`);
    }
    if (e.value === undefined) continue;
    if (!isMap(e.value)) {
      const at = e.value && !(e.value.range?.[0] === e.value.range?.[1]) ? offsetOf(e.value) : e.keyOffset;
      ctx.fail(at, `hosts.${short(name)} must be a mapping of host settings ({} takes them all from ssh_config), got ${describe(e.value)}`);
      continue;
    }
    const where = `in host '${short(name)}'`;
    const own = readObject(e.value, HOST, ctx, { path: `hosts.${short(name)}`, where });
    const merged = defaults ? overlay(defaults, own) : own;
    // `defaults: { proxy_jump: bastion }` must not make the bastion jump through itself.
    if (merged.values.get('proxy_jump') === name && !own.offsets.has('proxy_jump')) {
      merged.values.delete('proxy_jump');
      merged.offsets.delete('proxy_jump');
    }
    const parsed = finish(merged, HOST, ctx, where, (h, report) => {
      if (h.layout === 'plain' && h.settingsFile === undefined) {
        report(`host '${short(name)}' has layout 'plain' but no settings_file (the settings file to patch on the host)`);
      }
    });
    const inventoryKeys = sshKeysIn(merged);
    const host: HostConfig = { name, ...parsed, address: parsed.address ?? name, inventoryKeys, pos: ctx.pos(e.keyOffset) };
    ctx.setOffsets(host, new Map([['proxyJump', ctx.offsetOf(parsed, 'proxyJump') ?? e.keyOffset]]));
    hosts.push(host);
  }
  return hosts;
}

/** Cross-host checks: proxy_jump targets exist and do not loop; some host is a Dashboard host. */
function checkHosts(hosts: HostConfig[], map: YAMLMap, ctx: Ctx): void {
  const byName = new Map(hosts.map((h) => [h.name, h]));
  const jumpAt = (h: HostConfig) => ctx.offsetOf(h, 'proxyJump') ?? 0;

  for (const h of hosts) {
    if (h.proxyJump === undefined) continue;
    const what = `proxy_jump of host '${short(h.name)}'`;
    if (h.proxyJump === h.name) ctx.fail(jumpAt(h), `${what} names the host itself`);
    else if (!byName.has(h.proxyJump)) ctx.fail(jumpAt(h), unknownHost(what, h.proxyJump, hosts, ctx));
  }

  // Each host is walked once (a chain of thousands of hosts must not be walked from each of them).
  const walked = new Map<HostConfig, number>();
  const order = new Map(hosts.map((h, i) => [h, i]));
  for (const [i, start] of hosts.entries()) {
    const chain: HostConfig[] = [];
    let cur: HostConfig | undefined = start;
    while (cur && !walked.has(cur)) {
      walked.set(cur, i);
      chain.push(cur);
      cur = cur.proxyJump !== undefined && cur.proxyJump !== cur.name ? byName.get(cur.proxyJump) : undefined;
    }
    // A cycle is found once: by the walk that first reaches it, ending on a host it walked itself.
    if (!cur || walked.get(cur) !== i) continue;
    const cycle = chain.slice(chain.indexOf(cur));
    // Report at the cycle member that comes first in the file.
    const first = cycle.reduce((a, b) => (order.get(b)! < order.get(a)! ? b : a));
    const from = cycle.indexOf(first);
    const names = [...cycle.slice(from), ...cycle.slice(0, from), first].map((h) => short(h.name));
    ctx.fail(jumpAt(first), `proxy_jump cycle: ${names.join(' -> ')}`);
  }

  if (map.items.length === 0) {
    ctx.fail(offsetOf(map), 'hosts is empty: add at least one Dashboard host');
  } else if (hosts.length === map.items.length && hosts.every((h) => h.role !== 'dashboard')) {
    ctx.fail(offsetOf(map), "hosts has no Dashboard host: every host has role 'jump' or 'loadbalancer'");
  }
}

function unknownHost(what: string, name: string, hosts: HostConfig[], ctx: Ctx): string {
  const close = suggest(name, hosts.map((h) => h.name), ctx.suggestions);
  const known = hosts.slice(0, 10).map((h) => short(h.name)).join(', ') + (hosts.length > 10 ? `, ... (${hosts.length} in all)` : '');
  return `${what} names unknown host '${short(name)}'${close ? ` (did you mean '${short(close)}'?)` : `; hosts are: ${known}`}`;
}

// ---------------------------------------------------------------------------------------------
// Files, host selection, secrets
// ---------------------------------------------------------------------------------------------

/**
 * Read and validate an inventory file.
 *
 * @returns the inventory, with `digest` the sha256 of the file's bytes
 * @throws {ConfigError} when the file is missing, unreadable, not a regular file or too large
 * @throws {ConfigErrors} when its content is invalid
 */
export async function loadInventory(file: string, opts: { sshConfig?: string; globals?: string; passwords?: string } = {}): Promise<Inventory> {
  // -F wins over the inventory's ssh_config, which wins over ~/.ssh/config.
  const inventory = await loadEither(file, { ...(opts.globals ? { globals: opts.globals } : {}), ...(opts.passwords ? { passwords: opts.passwords } : {}) });
  return withSshConfig(inventory, opts.sshConfig !== undefined ? { file: opts.sshConfig } : {});
}

async function loadEither(file: string, kollaFlags: { globals?: string; passwords?: string }): Promise<Inventory> {
  const bytes = await readLocalFile(file, `inventory file ${file}`, FILE_LIMITS.inventory);
  const text = bytes.toString('utf8');
  // kolla-ansible's own INI inventory (multinode), with or without its globals.yml and passwords.yml;
  // with --kolla-globals/--kolla-passwords, also a file that is not a sessionctl YAML inventory.
  const ini = ansibleIniEvidence(text);
  let inventory: Inventory | undefined;
  if (!ini) {
    try {
      inventory = { ...parseInventory(text, file), digest: createHash('sha256').update(bytes).digest('hex') };
    } catch (err) {
      if (!(err instanceof ConfigErrors) || !(kollaFlags.globals || kollaFlags.passwords)) throw err;
    }
  }
  if (!inventory) {
    const inv = await loadKollaInventory({ inventory: file, ...kollaFlags });
    const how = ini ? `read as kolla-ansible's INI inventory (${ini})` : "not a sessionctl YAML inventory: read as kolla-ansible's INI inventory (--kolla-globals/--kolla-passwords given)";
    inv.kolla!.notes = [`${file}: ${how}`, ...(inv.kolla!.notes ?? [])];
    return inv;
  }
  if (!inventory.kolla?.inventory) {
    if (kollaFlags.globals || kollaFlags.passwords) throw new ConfigError(`--kolla-globals/--kolla-passwords go with kolla-ansible's inventory: -i /etc/kolla/multinode, or kolla.inventory in ${file}`);
    return inventory;
  }
  const { inventory: iniFile, globals, passwords } = inventory.kolla;
  return loadKollaInventory({ inventory: iniFile, ...(kollaFlags.globals ?? globals ? { globals: kollaFlags.globals ?? globals } : {}), ...(kollaFlags.passwords ?? passwords ? { passwords: kollaFlags.passwords ?? passwords } : {}) }, inventory);
}


/**
 * The Dashboard hosts (role other than `jump`) to work on, in inventory order.
 *
 * @param limit `--limit` (see src/inventory/limit.ts): globs, `!name` exclusions; absent means all
 * @throws {ConfigError} naming every pattern that matches no Dashboard host
 */
export function selectHosts(inv: Inventory, limit?: Limit): HostConfig[] {
  return selectByLimit(inv, limit);
}

/** The hosts a run over `hosts` connects to: those, the deploy host and the load balancers (jump hosts follow from proxy_jump). */
export function hostsToConnect(inv: Inventory, hosts: HostConfig[]): HostConfig[] {
  const names = new Set([...hosts.map((h) => h.name), ...(inv.kolla?.deployHost ? [inv.kolla.deployHost] : []), ...(inv.loadbalancer?.hosts ?? [])]);
  return inv.hosts.filter((h) => names.has(h.name));
}

/**
 * The value of a secret, read only now: an environment variable (must be set and non-empty), a
 * file (trailing newlines removed; must exist and not be empty) or a literal.
 *
 * @param what what the secret is for, for messages (like `session.redis.password`)
 * @throws {ConfigError} naming the variable or file, never the value
 */
