/**
 * Facts and a fake host for the steps' plan tables (pyinfra-style: {facts, desired} -> plan). A
 * step reads files through HostFiles and runs Python in the container through the engine; here the
 * files are given, locate.py (pure parsing) runs for real on this machine's python3, and the
 * scripts that need Horizon (the settings probe, carry.py) answer what a case says they answer.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { resolveDesired, type BackendFlags } from '../../../src/backends/desired.js';
import type { Desired } from '../../../src/backends/types.js';
import type { HostFacts } from '../../../src/facts/gather.js';
import type { LibraryFact } from '../../../src/facts/libraries.js';
import { parseProbeOutput, type EffectiveSettings, type HorizonFacts } from '../../../src/facts/horizon.js';
import { parseInventory } from '../../../src/inventory/load.js';
import type { Inventory } from '../../../src/inventory/types.js';
import type { FileSnapshot, HostFiles } from '../../../src/transport/hostfs.js';
import type { ContainerInfo, Engine, ExecResult, Shell, SshTarget } from '../../../src/transport/types.js';
import type { Connections } from '../../../src/transport/fleet.js';
import { asset } from '../../../src/util/assets.js';
import type { FleetContext, HostContext, RunInfo } from '../../../src/steps/types.js';

export const CUSTOM = '/etc/kolla/horizon/_9999-custom-settings.py';
export const MEMCACHED = 'django.core.cache.backends.memcached.PyMemcacheCache';
export const REDIS = 'django_redis.cache.RedisCache';
export const CACHE_SESSIONS = 'django.contrib.sessions.backends.cache';
export const DB_SESSIONS = 'django.contrib.sessions.backends.db';

/** An inventory of `hosts` Dashboard hosts naming every backend (the flags pick one). */
export function inventory(hosts = 2, ...extra: string[]): Inventory {
  const lines = [
    'hosts:',
    ...Array.from({ length: hosts }, (_, i) => `  dash${i + 1}: { address: 10.0.0.${i + 1} }`),
    'session:',
    '  redis: { url: "redis://10.0.0.50:6379/0" }',
    '  memcached: { servers: ["10.0.0.5:11211"] }',
    '  database: { engine: mysql, host: "10.0.0.60", name: horizon, user: horizon, password_env: DB_PASSWORD }',
    ...extra,
  ];
  return parseInventory(`${lines.join('\n')}\n`, 'inv.yaml', { HOME: '/home/op' });
}

export function desired(backend: BackendFlags['backend'], inv = inventory(), flags: Omit<BackendFlags, 'backend'> = {}): Promise<Desired> {
  process.env.DB_PASSWORD ??= 'dbpass';
  return resolveDesired(inv, { backend, allowInsecureCookieSessions: true, ...flags });
}

/** Effective settings as the probe reports them; Kolla's own memcached settings by default. */
export function settings(more: Partial<EffectiveSettings> = {}): EffectiveSettings {
  return {
    django: '4.2.28',
    sessionEngine: CACHE_SESSIONS,
    cache: { backend: MEMCACHED, location: ['10.0.0.5:11211'], options: ['ignore_exc'] },
    database: null,
    security: {},
    secretKeySha256: 'k'.repeat(16),
    ...more,
  };
}

export const REDIS_SETTINGS = settings({ cache: { backend: REDIS, location: 'redis://10.0.0.50:6379/0', options: ['CLIENT_CLASS'] } });
export const DATABASE_SETTINGS = settings({ sessionEngine: DB_SESSIONS, database: { engine: 'django.db.backends.mysql', name: 'horizon', host: '10.0.0.60' } });
export const COOKIE_SETTINGS = settings({ sessionEngine: 'django.contrib.sessions.backends.signed_cookies' });

/** The line probe.py prints for these settings (what parseProbeOutput reads). */
export function probeLine(s: EffectiveSettings | undefined, more: Record<string, unknown> = {}): string {
  const raw = {
    python: '3.13.5',
    executable: '/usr/bin/python3',
    horizon: '25.3.0',
    modules: { django_redis: '5.4.0', redis: '4.3.4', pymemcache: '4.0.0', MySQLdb: '1.4.6', pymysql: '1.1.1' },
    kolla_config_files: ['_9998-kolla-settings.py', '_9999-custom-settings.py'],
    settings_d: ['_9998-kolla-settings.py', '_9999-custom-settings.py'],
    pip: '25.1',
    ...(s
      ? {
          settings: {
            django: s.django,
            session_engine: s.sessionEngine,
            cache: s.cache,
            database: s.database,
            security: s.security,
            secret_key_sha256: s.secretKeySha256,
          },
        }
      : {}),
    ...more,
  };
  return `SESSIONCTL-FACTS ${JSON.stringify(raw)}\n`;
}

/** What the container's scripts answer in a case: each gets the JSON input its caller sent. */
export interface Answers {
  /** probe.py with an overlay (the settings as the next start will see them) or a database question. */
  probe?: (input: Record<string, unknown>) => string;
  'carry.py'?: (input: Record<string, unknown>) => unknown;
  'login_page.py'?: () => string;
  'session.py'?: (input: Record<string, unknown>) => unknown;
}

function result(stdout: string, code = 0): ExecResult {
  return { code, stdout: Buffer.from(stdout), stderr: Buffer.alloc(0), display: 'fake' };
}

/** An engine whose container runs locate.py for real and answers the rest from `answers`. */
export function fakeEngine(answers: Answers, calls: string[] = []): Engine {
  const scripts = ['facts/python/probe.py', 'steps/python/carry.py', 'facts/python/login_page.py', 'facts/python/locate.py', 'steps/python/session.py'] as const;
  return {
    via: 'api',
    async inspect() {
      return null;
    },
    async restart() {
      throw new Error('a plan never restarts');
    },
    async exec(_container, argv, opts = {}) {
      const code = argv[argv.indexOf('-c', 3) + 1] ?? '';
      const script = scripts.find((s) => code.endsWith(asset(`src/${s}`)));
      const input = JSON.parse(String(opts.stdin ?? '{}')) as Record<string, unknown>;
      calls.push(script ?? 'unknown');
      if (script === 'facts/python/locate.py') return result(execFileSync('python3', ['-c', code], { input: String(opts.stdin) }).toString());
      if (script === 'facts/python/probe.py' && answers.probe) return result(answers.probe(input));
      if (script === 'steps/python/carry.py' && answers['carry.py']) return result(JSON.stringify(answers['carry.py'](input)));
      if (script === 'facts/python/login_page.py' && answers['login_page.py']) return result(answers['login_page.py']());
      if (script === 'steps/python/session.py' && answers['session.py']) return result(JSON.stringify(answers['session.py'](input)));
      throw new Error(`this case gives no answer for ${script ?? argv.join(' ')}`);
    },
  };
}

/**
 * Host files holding `files` (path -> text; absent: no such file). Writes, backups and restores
 * change `files` in place, with the real ones' sha256 guard, so an apply and its undo can be followed.
 */
export function fakeFiles(files: Record<string, string>, free = 1 << 30): HostFiles {
  const backups = new Map<string, string | undefined>();
  const snapshot = (path: string): FileSnapshot | null => {
    const text = files[path];
    if (text === undefined) return null;
    const content = Buffer.from(text);
    return { path, content, sha256: sha(content), mode: 0o600, uid: 0, gid: 0 };
  };
  return {
    async read(path: string) {
      return snapshot(path);
    },
    async readAll(paths: string[]) {
      return new Map(paths.map((p) => [p, snapshot(p)]));
    },
    async holders(dir: string, name: string) {
      const folders = Object.keys(files).map((p) => (p.startsWith(`${dir}/`) && p.endsWith(`/${name}`) ? p.slice(dir.length + 1, -name.length - 1) : ''));
      return folders.filter((f) => f && !f.includes('/')).sort();
    },
    async write(path: string, content: Buffer, expect: string | null) {
      const now = snapshot(path)?.sha256 ?? null;
      if (now !== expect) throw new Error(`${path} changed since it was read`);
      files[path] = content.toString();
      return sha(content);
    },
    async backup(path: string, dest: string, expect: string | null) {
      if ((snapshot(path)?.sha256 ?? null) !== expect) throw new Error(`${path} changed since it was read`);
      backups.set(dest, files[path]);
      return { exists: files[path] !== undefined };
    },
    async restore(path: string, backup: string, expect: string | null) {
      if (!backups.has(backup)) throw new Error(`no backup ${backup}`);
      if ((snapshot(path)?.sha256 ?? null) !== expect) throw new Error(`${path} changed since the undo was planned`);
      const text = backups.get(backup);
      if (text === undefined) delete files[path];
      else files[path] = text;
      return snapshot(path)?.sha256 ?? null;
    },
    async freeBytes() {
      return free;
    },
  } as unknown as HostFiles;
}

function sha(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export interface HostCase {
  name?: string;
  settings?: EffectiveSettings;
  /** The host's settings file (default: Kolla's empty custom file). */
  file?: string | null;
  horizon?: Partial<HorizonFacts>;
  container?: Partial<ContainerInfo>;
  answers?: Answers;
  calls?: string[];
  free?: number;
  /** Where each client library comes from (default: what imports is in the image). */
  libraries?: Record<string, LibraryFact>;
}

/** Every module that imports, as baked into the image (Kolla 2026.1 and django_redis); the rest missing. */
export function imageLibraries(modules: Record<string, string | null>): Record<string, LibraryFact> {
  return Object.fromEntries(
    Object.entries(modules).map(([module, version]) => [
      module,
      version
        ? { module, origin: 'image', version, path: `/var/lib/kolla/venv/lib/python3.12/site-packages/${module}`, dist: null }
        : { module, origin: 'missing', version: null, path: null, dist: null, why: `No module named '${module}'` },
    ]),
  );
}

/** Kolla's Horizon container, running and healthy, with Kolla's config mount. */
function horizonContainer(): ContainerInfo {
  return {
    id: 'c1',
    name: 'horizon',
    image: 'kolla/horizon:2025.2',
    imageId: 'sha256:1',
    state: 'running',
    health: 'healthy',
    created: '2026-12-01T00:00:00Z',
    startedAt: '2026-12-01T00:00:00Z',
    restartCount: 0,
    mounts: [{ source: '/etc/kolla/horizon', destination: '/var/lib/kolla/config_files', readOnly: true }],
  };
}

/** A host as the runner hands it to a step: facts gathered, transport faked. */
export function host(run: RunInfo, c: HostCase = {}): HostContext {
  const name = c.name ?? 'dash1';
  const inv = inventory(3);
  const config = inv.hosts.find((h) => h.name === name)!;
  const horizon = { ...parseProbeOutput(probeLine(c.settings ?? settings())), ...c.horizon };
  const container: ContainerInfo = { ...horizonContainer(), ...c.container };
  const facts: HostFacts = {
    host: config,
    reachable: true,
    engineVia: 'api',
    container,
    layout: { layout: 'kolla-local-settings-d', configDir: '/etc/kolla/horizon', customFile: CUSTOM },
    horizon,
    libraries: c.libraries ?? imageLibraries(horizon.modules),
  };
  const text = c.file === undefined ? '# Custom Horizon settings\n' : c.file;
  return { run, host: config, facts, engine: fakeEngine(c.answers ?? {}, c.calls), files: fakeFiles(text === null ? {} : { [CUSTOM]: text }, c.free) };
}

export function runInfo(d: Desired): RunInfo {
  return { id: '20261201T000000-abcdef', mode: 'plan', desired: d, rollout: { serial: 1, maxFail: 0, method: 'auto' }, log: () => undefined, timeouts: { health: 300 } };
}

export function fleet(run: RunInfo, hosts: HostCase[]): FleetContext {
  return { run, hosts: hosts.map((c, i) => host(run, { name: `dash${i + 1}`, ...c })) };
}

/** A Dashboard host behind fakeConnections: its container's answers and the files on it (path -> text). */
export interface FakeHost {
  answers?: Answers;
  files?: Record<string, string>;
  /** Its backups (backup path -> text; null: the file did not exist), as `backup` made them. */
  backups?: Record<string, string | null>;
  /** What hostfile.py prints instead of its answer to a request (by op; a hostile host). */
  garble?: Record<string, string>;
  /** The container's inspect fails this way (a bug's stand-in). */
  inspectError?: Error;
}

/**
 * The run's connections to fake hosts: the container (running, Kolla's mount) answers from
 * `answers`; hostfile.py's requests (lock, read, backup, restore...) are served from `files`. Every
 * lock, unlock, write and restore is logged as `<op> <host> [path]`, in order.
 */
export function fakeConnections(hosts: Record<string, FakeHost>, log: string[] = []): Connections {
  const container = horizonContainer();
  const of = (name: string): FakeHost => {
    const h = hosts[name];
    if (!h) throw new Error(`no fake host ${name}`);
    return h;
  };
  const shell = (name: string): Shell => {
    const h = of(name);
    const files = (h.files ??= {});
    const backups = (h.backups ??= {});
    const stat = (path: string) => {
      const text = files[path];
      if (text === undefined) return null;
      const content = Buffer.from(text);
      return { sha256: sha(content), size: content.length, mode: 0o640, uid: 0, gid: 0, content: content.toString('base64') };
    };
    const op = (req: Record<string, any>): unknown => {
      switch (req.op) {
        case 'batch':
          return { answers: (req.ops as Record<string, unknown>[]).map(op) };
        case 'lock':
          log.push(`lock ${name}`);
          return { held: true };
        case 'unlock':
          log.push(`unlock ${name}`);
          return { released: true };
        case 'read':
          return { files: Object.fromEntries((req.paths as string[]).map((p) => [p, stat(p)])) };
        case 'df':
          return { free: 1 << 30 };
        case 'holders':
          return { names: [] };
        case 'backup':
          backups[req.dest] = files[req.path] ?? null;
          return { exists: files[req.path] !== undefined };
        case 'write':
          log.push(`write ${name} ${req.path}`);
          files[req.path] = Buffer.from(req.content, 'base64').toString();
          return { sha256: sha(Buffer.from(req.content, 'base64')) };
        case 'restore': {
          log.push(`restore ${name} ${req.path}`);
          const text = backups[req.backup];
          if (text === undefined) return { error: 'os', message: `${req.backup}.meta.json: No such file or directory` };
          if (text === null) delete files[req.path];
          else files[req.path] = text;
          return { sha256: text === null ? null : sha(text) };
        }
        default:
          throw new Error(`the fake host does not know op ${String(req.op)}`);
      }
    };
    const exec = async (argv: unknown[], opts: { stdin?: string | Buffer } = {}): Promise<ExecResult> => {
      if (argv[0] !== 'python3' || argv[2] !== asset('src/transport/python/hostfile.py')) throw new Error(`the fake host runs only hostfile.py, not ${String(argv[0])}`);
      const req = JSON.parse(String(opts.stdin)) as Record<string, unknown>;
      const answer = JSON.stringify(op(req));
      return result(h.garble?.[String(req.op)] ?? answer);
    };
    return { name, exec, run: exec };
  };
  const engine = (name: string): Engine => ({
    ...fakeEngine(of(name).answers ?? {}),
    inspect: async () => {
      if (of(name).inspectError) throw of(name).inspectError;
      return container;
    },
  });
  return {
    // Fake hosts need no keys or known_hosts.
    readLocalFiles: async () => undefined,
    ssh: async (host: SshTarget) => shell(host.name),
    engine: async (target: SshTarget | string) => engine(typeof target === 'string' ? target : target.name),
    close: async () => undefined,
  };
}
