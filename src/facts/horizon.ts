import type { Engine, ContainerInfo, ContainerExecOptions } from '../transport/types.js';
import { HostError } from '../errors.js';
import type { SettingsLayout } from '../inventory/types.js';
import { asset } from '../util/assets.js';
import { excerpt, tail } from '../transport/ssh.js';
import { an, kindOf } from '../util/kind.js';
import type { ContainerCheck, InContainer } from '../backends/types.js';

/** Kolla's bind mount of the host config dir inside the container. */
export const KOLLA_CONFIG_MOUNT = '/var/lib/kolla/config_files';

/** The operator-owned file sessionctl patches in the Kolla config dir, per layout. */
export const CUSTOM_FILES = { 'kolla-local-settings-d': '_9999-custom-settings.py', 'kolla-local-settings': 'custom_local_settings' } as const;

/** What the probe reports from inside the horizon container (see python/probe.py). */
export interface HorizonFacts {
  python: string;
  executable: string;
  horizon: string | null;
  modules: Record<string, string | null>;
  kollaConfigFiles: string[] | null;
  /** Kolla's config.json: where its start copies each file of the config dir, with what owner and mode. */
  kollaEntries?: Record<string, KollaEntry>;
  settingsD: string[] | null;
  managepy: string | null;
  /** PEP 668 marker: pip needs --break-system-packages here. */
  externallyManaged?: boolean;
  /** pip's version when the interpreter has pip (null: it cannot pip install). */
  pip?: string | null;
  settings?: EffectiveSettings;
  settingsError?: string;
  overlayError?: string;
  /** With a `tables` request: what the database holds, or why it could not be asked. */
  tables?: string[];
  databaseError?: string;
  /** status: the Redis or Valkey server Django's cache uses now (python/redis_info.py), or why it did not answer. */
  currentRedis?: RedisServerFacts | { error: string };
  /** With an `also` request: each script's output (or why it did not finish), by script name. */
  also?: Record<string, { stdout?: string; error?: string }>;
  /** With a `wait` request: what the login page answered, and after how long. */
  loginPage?: { status: string; seconds: number };
  /** The container's main process (see python/web_server.py). */
  webServer?: WebServer;
  /** With a `cache` request: what the costly facts are a function of, whether they were reused, and the probe's `costly` answer. */
  fingerprint?: { value: string; reused: boolean; part: Record<string, unknown> };
}

/** What a Redis-protocol server says about itself (python/redis_info.py). */
export interface RedisServerFacts {
  server: 'redis' | 'valkey';
  version: string;
  role?: string;
  /** A Redis Cluster's masters (its first master's facts above; the weakest master's persistence). */
  masters?: number;
  /** AOF on or off; the RDB save points ("" none; null: hidden, and why). */
  persistence: { aof: boolean; rdb: string | null; hidden?: string };
}

/** The costly part of a probe's answer (its `costly`: the settings import, the libraries' versions) and its fingerprint (python/probe.py). */
export interface CachedFacts {
  fingerprint: string;
  part: Record<string, unknown>;
}

export interface WebServer {
  kind: 'apache' | 'uwsgi' | 'unknown';
  config: string | null;
  listen: { scheme: string; address: string }[];
  /** uWSGI: a master respawns the workers. */
  master?: boolean;
  /** uWSGI: each worker imports the app itself (a reloaded worker reads the settings anew). */
  lazyApps?: boolean;
  /** Not Apache or uWSGI: PID 1's name. */
  pid1?: string;
}

export interface KollaEntry {
  dest: string;
  owner: string;
  perm: string | null;
}

export interface EffectiveSettings {
  django: string;
  sessionEngine: string;
  cache: { backend: string | null; location: unknown; options: string[]; clientClass?: unknown; sentinels?: unknown; connectionFactory?: unknown };
  webroot?: string | null;
  database: { engine: string | null; name: string | null; host: string | null } | null;
  security: Record<string, unknown>;
  secretKeySha256: string | null;
}

const MARKER = 'SESSIONCTL-FACTS ';

/** Prefer Kolla's venv Python; a constant script, so no value is ever interpolated into it. */
const PYTHON_LAUNCHER = [
  'sh',
  '-c',
  'if [ -x /var/lib/kolla/venv/bin/python3 ]; then exec /var/lib/kolla/venv/bin/python3 "$@"; else exec python3 "$@"; fi',
  'python',
];

/** Scripts that use a shared Python module: it is sent ahead of them (one `python -c`, no file copied). */
const SCRIPT_LIBRARIES: Record<string, string[]> = {
  'facts/python/probe.py': ['facts/python/overlay.py', 'facts/python/http_status.py', 'facts/python/web_server.py', 'facts/python/redis_info.py'],
  'facts/python/redis_check.py': ['facts/python/redis_info.py'],
  'steps/python/carry.py': ['facts/python/overlay.py', 'facts/python/redis_info.py'],
  'steps/python/migrate.py': ['facts/python/overlay.py'],
  'facts/python/login_page.py': ['facts/python/http_status.py'],
  'steps/python/reload.py': ['facts/python/overlay.py', 'facts/python/web_server.py'],
};

/** Who runs a script in the container (default: the image's user), how long it may take, how much it may print. */
export type RunAs = Pick<ContainerExecOptions, 'user' | 'timeoutMs' | 'maxStdoutBytes'>;

/**
 * Run a Python script shipped under src/ inside the container, JSON in on stdin. `script` is its
 * path under src/ (`facts/python/` reads; a step's own scripts, which write, live with the steps);
 * a bare name is one of facts/python/.
 */
export function runPython(engine: Engine, container: string, script: string, input: unknown = {}, exec: RunAs = {}) {
  const code = scriptSource(script.includes('/') ? script : `facts/python/${script}`);
  return engine.exec(container, [...PYTHON_LAUNCHER, '-c', code], {
    stdin: JSON.stringify(input),
    ...exec,
  });
}

/** A script under src/ with the shared modules it uses sent ahead of it. */
function scriptSource(path: string): string {
  return [...(SCRIPT_LIBRARIES[path] ?? []), path].map((s) => asset(`src/${s}`)).join('\n\n');
}

/** Gather HorizonFacts from a running container. */
export async function probeHorizon(
  host: string,
  engine: Engine,
  container: string,
  request: { wait?: { url: string; seconds: number }; also?: ContainerCheck[]; cache?: { cached: CachedFacts | null; keep(facts: CachedFacts): void }; currentRedis?: boolean } = {},
): Promise<HorizonFacts> {
  const { also, cache, currentRedis, ...rest } = request;
  const res = await runPython(engine, container, 'probe.py', {
    ...rest,
    ...(currentRedis ? { current_redis: true } : {}),
    ...(cache ? { fingerprint: true, ...(cache.cached ? { cached: cache.cached.fingerprint } : {}) } : {}),
    ...(also?.length ? { also: also.map((c) => ({ name: c.name ?? c.script, source: scriptSource(`facts/python/${c.script}`), input: c.input })) } : {}),
  });
  if (res.code !== 0) {
    throw new HostError(host, `the settings probe failed in container '${container}' (exit ${res.code}):\n${tail(res.stderr)}`);
  }
  const facts = readProbe(host, res.stdout, cache?.cached);
  // Only what Django answered: an error may come and go, and the next run must see it afresh.
  if (cache && facts.fingerprint && !facts.fingerprint.reused && facts.settings) cache.keep({ fingerprint: facts.fingerprint.value, part: facts.fingerprint.part });
  return facts;
}

/** The probe's answer, or the host's error naming what in it could not be read (never a crash of the whole run). */
function readProbe(host: string, stdout: Buffer, cached?: CachedFacts | null): HorizonFacts {
  const text = stdout.toString('utf8');
  try {
    return parseProbeOutput(text, cached);
  } catch (err) {
    throw new HostError(host, `the settings probe's answer is malformed: ${(err as Error).message}; it began: ${excerpt(text)}`);
  }
}

/** Run a backend's check in the host's container, with `extra` input on top of its own. */
export function runCheck<T>(ctx: InContainer, check: ContainerCheck, extra: Record<string, unknown> = {}): Promise<T> {
  return pythonJson<T>(ctx.host.name, ctx.engine, ctx.host.container, check.script, { ...check.input, ...extra });
}

/** The JSON answer of a script the probe ran in its own process (`also`), if it printed one. */
export function alsoAnswer<T>(facts: HorizonFacts | undefined, name: string): T | undefined {
  const stdout = facts?.also?.[name]?.stdout;
  if (!stdout) return undefined;
  try {
    return JSON.parse(stdout) as T;
  } catch {
    return undefined;
  }
}

/** Pure: find the marker line (Horizon's settings may print before it) and map snake_case JSON to HorizonFacts, the reused part from `cached`. */
export function parseProbeOutput(stdout: string, cached?: CachedFacts | null): HorizonFacts {
  const line = stdout.split('\n').find((l) => l.startsWith(MARKER));
  if (!line) throw new Error('probe printed no facts line');
  let answer: Record<string, any>;
  try {
    answer = JSON.parse(line.slice(MARKER.length)) as Record<string, any>;
  } catch (err) {
    throw new Error(`the facts line is not JSON (${(err as Error).message})`);
  }
  checkShape(answer);
  if (answer.cached && answer.fingerprint !== cached?.fingerprint) throw new Error('the probe reused facts it was not given');
  const part = (answer.cached ? cached!.part : answer.costly) as Record<string, unknown> | undefined;
  const raw = { ...answer, ...part };
  const loginPage = raw.login_page ? { status: String(raw.login_page.status), seconds: Number(raw.login_page.seconds) } : undefined;
  const none: HorizonFacts = { python: '', executable: '', horizon: null, modules: {}, kollaConfigFiles: null, settingsD: null, managepy: null };
  if (raw.overlay_error) return { ...none, overlayError: String(raw.overlay_error) };
  // Only the login page's answer: it never said 200, so the probe read no settings.
  if (!raw.python) return { ...none, ...(loginPage ? { loginPage } : {}) };
  const facts: HorizonFacts = {
    python: String(raw.python),
    executable: String(raw.executable),
    horizon: raw.horizon ?? null,
    modules: raw.modules ?? {},
    kollaConfigFiles: raw.kolla_config_files ?? null,
    settingsD: raw.settings_d ?? null,
    managepy: raw.manage_py ?? null,
    externallyManaged: Boolean(raw.externally_managed),
    pip: raw.pip ?? null,
  };
  if (raw.settings_error) facts.settingsError = String(raw.settings_error);
  if (raw.tables) facts.tables = raw.tables;
  if (raw.database_error) facts.databaseError = String(raw.database_error);
  if (loginPage) facts.loginPage = loginPage;
  if (raw.also) facts.also = raw.also;
  if (raw.current_redis) facts.currentRedis = raw.current_redis;
  if (raw.kolla_entries) facts.kollaEntries = raw.kolla_entries;
  if (typeof raw.fingerprint === 'string') {
    facts.fingerprint = { value: raw.fingerprint, reused: Boolean(answer.cached), part: part ?? {} };
  }
  const ws = raw.web_server;
  if (ws) {
    facts.webServer = {
      kind: ws.kind,
      config: ws.config ?? null,
      listen: ws.listen ?? [],
      ...(ws.kind === 'uwsgi' ? { master: Boolean(ws.master), lazyApps: Boolean(ws.lazy_apps) } : {}),
      ...(ws.pid1 ? { pid1: String(ws.pid1) } : {}),
    };
  }
  const s = raw.settings;
  if (s) {
    facts.settings = {
      django: String(s.django),
      sessionEngine: String(s.session_engine),
      cache: {
        backend: s.cache?.backend ?? null,
        location: s.cache?.location ?? null,
        options: s.cache?.options ?? [],
        clientClass: s.cache?.client_class ?? null,
        sentinels: s.cache?.sentinels ?? null,
        connectionFactory: s.cache?.connection_factory ?? null,
      },
      webroot: typeof s.webroot === 'string' ? s.webroot : null,
      database: s.database ?? null,
      security: s.security ?? {},
      secretKeySha256: s.secret_key_sha256 ?? null,
    };
  }
  return facts;
}

/** The kinds of the probe's fields that later code iterates over or indexes (absent or null: allowed). */
const SHAPE: Record<string, 'object' | 'array'> = {
  costly: 'object',
  modules: 'object',
  kolla_config_files: 'array',
  settings_d: 'array',
  tables: 'array',
  also: 'object',
  kolla_entries: 'object',
  current_redis: 'object',
  login_page: 'object',
  web_server: 'object',
  settings: 'object',
};

/** Pure: refuse an answer whose fields have the wrong kind, naming the field (a TypeError later would be a crash). */
function checkShape(answer: unknown): void {
  if (kindOf(answer) !== 'object') throw new Error(`the facts line is ${an(kindOf(answer))}, not an object`);
  const a = answer as Record<string, unknown>;
  const part = kindOf(a.costly) === 'object' ? (a.costly as Record<string, unknown>) : {};
  const wrong = (name: string, v: unknown, want: string) => {
    if (v !== undefined && v !== null && kindOf(v) !== want) throw new Error(`'${name}' is ${an(kindOf(v))}, not ${an(want)}`);
  };
  for (const [key, want] of Object.entries(SHAPE)) for (const v of [a[key], part[key]]) wrong(key, v, want);
  for (const from of [a, part]) {
    wrong('web_server.listen', (from.web_server as { listen?: unknown } | undefined)?.listen, 'array');
    wrong('settings.cache', (from.settings as { cache?: unknown } | undefined)?.cache, 'object');
  }
}

export interface LayoutFact {
  layout: Exclude<SettingsLayout, 'auto'>;
  /** Host directory bind-mounted at /var/lib/kolla/config_files, if any. */
  configDir: string | null;
  /** The operator-owned file sessionctl patches, on the host. */
  customFile: string | null;
}

/**
 * Pure: which Kolla layout a host uses, from the container's mounts and the files Kolla copies in.
 * >= 2024.1 renders `_9998-kolla-settings.py`/`_9999-custom-settings.py` (local_settings.d);
 * <= 2023.2 renders `local_settings`/`custom_local_settings`.
 */
export function detectLayout(container: ContainerInfo, kollaFiles: string[] | null): LayoutFact {
  const mount = container.mounts.find((m) => m.destination === KOLLA_CONFIG_MOUNT);
  const configDir = mount?.source ?? null;
  const files = new Set(kollaFiles ?? []);
  if (configDir && (files.has('_9998-kolla-settings.py') || files.has(CUSTOM_FILES['kolla-local-settings-d']))) {
    return { layout: 'kolla-local-settings-d', configDir, customFile: `${configDir}/${CUSTOM_FILES['kolla-local-settings-d']}` };
  }
  if (configDir && (files.has('local_settings') || files.has(CUSTOM_FILES['kolla-local-settings']))) {
    return { layout: 'kolla-local-settings', configDir, customFile: `${configDir}/${CUSTOM_FILES['kolla-local-settings']}` };
  }
  return { layout: 'plain', configDir, customFile: null };
}

/**
 * Pure: the login page's URL as the web server serves it: an inventory `health_url` wins; else the
 * first address the web server listens on (uWSGI on Kolla >= 2025.2 listens on the host's API
 * address, port 8080, so 127.0.0.1:80 would never answer) under Horizon's WEBROOT.
 */
export function loginUrl(configured: string | undefined, facts: Pick<HorizonFacts, 'webServer' | 'settings'> | undefined): string {
  if (configured) return configured;
  const webroot = (facts?.settings?.webroot ?? '/').replace(/^\/*/, '/').replace(/\/*$/, '/');
  const first = facts?.webServer?.listen[0];
  if (!first) return `http://127.0.0.1${webroot}auth/login/`;
  // "0.0.0.0:8080", ":8080", "*:80", "[::]:80", "80" (Apache), "10.0.0.1:8080", "[fd00::1]:8080".
  const m = /^(?:(\[[^\]]*\]|[^:]*):)?(\d+)$/.exec(first.address);
  if (!m) return `http://127.0.0.1${webroot}auth/login/`;
  const host = !m[1] || ['*', '0.0.0.0', '[::]'].includes(m[1]) ? '127.0.0.1' : m[1];
  const scheme = first.scheme === 'https' ? 'https' : 'http';
  const port = (scheme === 'http' && m[2] === '80') || (scheme === 'https' && m[2] === '443') ? '' : `:${m[2]}`;
  return `${scheme}://${host}${port}${webroot}auth/login/`;
}

/** Pure: a readable name for a session engine module path. */
export function backendOf(sessionEngine: string | undefined, cacheBackend: string | null | undefined): string {
  if (!sessionEngine) return 'unknown';
  const engine = sessionEngine.replace('django.contrib.sessions.backends.', '');
  if (engine === 'signed_cookies') return 'cookie';
  if (engine === 'db') return 'database';
  const cache = cacheBackend ?? '';
  const cacheName = /django_redis|backends\.redis/.test(cache)
    ? 'redis'
    : /memcached/i.test(cache)
      ? 'memcached'
      : /locmem/.test(cache)
        ? 'local-memory'
        : /filebased/.test(cache)
          ? 'file'
          : /dummy/.test(cache)
            ? 'none'
            : cache || 'unknown';
  if (engine === 'cache') return cacheName;
  if (engine === 'cached_db') return `database (cached in ${cacheName})`;
  return engine;
}

/** Run a shipped script in the container and parse its one-JSON-document answer. */
export async function pythonJson<T>(host: string, engine: Engine, container: string, script: string, input: unknown, exec: RunAs = {}): Promise<T> {
  const res = await runPython(engine, container, script, input, exec);
  if (res.code !== 0) {
    throw new HostError(host, `${script} failed in container '${container}' (exit ${res.code}):\n${tail(res.stderr)}`);
  }
  try {
    return JSON.parse(res.stdout.toString('utf8')) as T;
  } catch {
    throw new HostError(host, `${script} printed no JSON answer:\n${tail(res.stdout)}`);
  }
}

/** Effective settings as the next restart will see them, with `overlay` files (name in the Kolla config dir -> text); `tables`: also the database's tables. */
export async function probeWithOverlay(
  host: string,
  engine: Engine,
  container: string,
  overlay: Record<string, string>,
  database: { tables?: boolean } = {},
  also: ContainerCheck[] = [],
): Promise<HorizonFacts> {
  const res = await runPython(engine, container, 'probe.py', {
    overlay,
    ...database,
    ...(also.length ? { also: also.map((c) => ({ name: c.name ?? c.script, source: scriptSource(`facts/python/${c.script}`), input: c.input })) } : {}),
  });
  if (res.code !== 0) throw new HostError(host, `the settings probe failed (exit ${res.code}):\n${tail(res.stderr)}`);
  const facts = readProbe(host, res.stdout);
  if (facts.overlayError) throw new HostError(host, facts.overlayError);
  return facts;
}

/** Pure: host names grouped by their SECRET_KEY hash ('(unset)' when none); more than one group = mismatch. */
export function hostsBySecretKey(hosts: { host: string; sha256: string | null }[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const { host, sha256 } of hosts) {
    const k = sha256 ?? '(unset)';
    groups.set(k, [...(groups.get(k) ?? []), host]);
  }
  return groups;
}
