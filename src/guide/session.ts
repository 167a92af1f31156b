/** Steps 3 and 4 of the guided mode: the backend and only its settings, then expiry and cookie security. */
import { COOKIE_WARNING } from '../backends/cookie.js';
import { resolveSecret } from '../util/secret.js';
import { readCa } from '../backends/desired.js';
import { Bad } from '../inventory/schema.js';
import type { Backend, Inventory, SecretRef, SecurityConfig } from '../inventory/types.js';
import type { StatusReport } from '../report/types.js';
import { masker } from '../util/secret.js';
import { answerProblem, type Answers, type SecretAnswer } from './answers.js';
import { check, say, type Prompts } from './prompts.js';
import { defaultOf, existingFile, localPath, numberOrText } from './values.js';

export function inUse(now: StatusReport): string | undefined {
  const counts = new Map<string, number>();
  for (const h of now.hosts) if (h.backend) counts.set(h.backend, (counts.get(h.backend) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
}

export async function askBackend(ask: Prompts, answers: Answers, now: StatusReport): Promise<Backend> {
  const current = inUse(now);
  for (;;) {
    const choice = await ask.select(
      `Switch every host to which session backend?${current ? ` (now: ${current})` : ''}`,
      [
        { name: 'Redis', value: 'redis' as const, description: 'django-redis; sessions survive a Horizon restart' },
        { name: 'Redis through Sentinel', value: 'sentinel' as const, description: 'the master is found through Redis Sentinel' },
        { name: 'Redis Cluster', value: 'cluster' as const, description: "keys spread over the cluster's masters (sessionctl installs its connection factory)" },
        { name: 'memcached', value: 'memcached' as const, description: "Kolla's default" },
        { name: 'database (MariaDB/MySQL or PostgreSQL)', value: 'database' as const, description: "needs 'manage.py clearsessions' on a schedule" },
        { name: 'signed cookies (development only)', value: 'cookie' as const, description: COOKIE_WARNING },
      ],
      current === 'redis' ? 'memcached' : 'redis',
    );
    if (choice === 'sentinel' || choice === 'cluster') {
      answers.redis = await askRedis(ask, now, undefined, choice);
      return 'redis';
    }
    if (choice !== 'cookie') return choice;
    say(`  ! ${COOKIE_WARNING}`);
    if (await ask.confirm('Use signed-cookie sessions anyway (--allow-insecure-cookie-sessions)?', false)) {
      answers.allowInsecureCookieSessions = true;
      return 'cookie';
    }
  }
}

/** A Redis URL from a host's cache LOCATION, without credentials (they never go into the inventory). */
export function redisLocation(now: StatusReport): string | undefined {
  const loc = now.hosts.find((h) => h.backend === 'redis')?.cache?.location;
  const first = Array.isArray(loc) ? loc[0] : loc;
  if (typeof first !== 'string') return undefined;
  try {
    const u = new URL(first);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return undefined;
  }
}

/** How the Redis servers are reached: one server, the master Sentinel names, or a cluster's nodes. */
export type RedisMode = 'standalone' | 'sentinel' | 'cluster';

const URL_QUESTION: Record<RedisMode, string> = {
  standalone: 'Redis URL (redis://host:6379/0, rediss:// for TLS; no password in it)',
  sentinel: 'Redis URL (rediss:// for TLS to the sentinels and the master; the host part is replaced by the master Sentinel names)',
  cluster: 'Redis URL of one cluster node (redis://host:6379/0, rediss:// for TLS; no password in it)',
};

export async function askRedis(ask: Prompts, now: StatusReport, current: Inventory['session']['redis'], mode: RedisMode): Promise<NonNullable<Answers['redis']>> {
  const sentinel = mode === 'sentinel';
  if ((sentinel && current?.sentinel === undefined) || (mode === 'cluster' && current?.cluster === undefined)) current = undefined;
  const url = await ask.input(URL_QUESTION[mode], {
    ...defaultOf(current?.url ?? redisLocation(now)),
    validate: (v) => check(answerProblem('session.redis.url', v.trim())),
  });
  const redis: NonNullable<Answers['redis']> = { url: url.trim() };
  const password = await askSecret(ask, 'Redis password', 'REDIS_PASSWORD', current?.password);
  if (password) redis.password = password;
  if (redis.url.startsWith('rediss:')) Object.assign(redis, await askTls(ask, sentinel ? 'the address it is reached at' : new URL(redis.url).hostname, current));
  if (sentinel) {
    const service = await ask.input('Sentinel service (master) name', { default: current?.sentinel?.service ?? 'mymaster', validate: (v) => check(answerProblem('session.redis.sentinel.service', v)) });
    const hosts = await askServers(ask, 'Sentinels, host:port, comma separated', 'session.redis.sentinel.hosts', current?.sentinel?.hosts);
    const sentinelPassword = await askSecret(ask, 'Sentinel password', 'REDIS_SENTINEL_PASSWORD', current?.sentinel?.password);
    redis.sentinel = { service, hosts, ...(sentinelPassword ? { password: sentinelPassword } : {}) };
  }
  if (mode === 'cluster') {
    const first = new URL(redis.url);
    redis.cluster = { nodes: await askServers(ask, 'Cluster nodes, host:port, comma separated (at least one; the client finds the rest)', 'session.redis.cluster.nodes', current?.cluster?.nodes ?? [`${first.hostname}:${first.port || 6379}`]) };
  }
  return redis;
}

/**
 * How a rediss:// server's certificate is checked: which CA (a local PEM file), whether it must
 * name the host; and a client certificate, if the server asks for one (paths in the container).
 */
async function askTls(ask: Prompts, host: string, current: Inventory['session']['redis']): Promise<{ tlsCa?: string; tlsCheckHostname?: boolean; tlsCert?: string; tlsKey?: string }> {
  const ca = await ask.input("CA certificate that signed the server's (PEM file here; empty: the containers' system CAs)", {
    ...defaultOf(current?.tlsCa),
    validate: async (v) => {
      if (!v.trim()) return true;
      const full = localPath(v.trim());
      if (full instanceof Bad) return full.message ?? 'not a usable path';
      return readCa(full).then(() => true, (err: Error) => err.message);
    },
  });
  const checkHostname = await ask.confirm(`Require the server's certificate to name ${host}? (recommended)`, current?.tlsCheckHostname ?? true);
  const inContainer = (key: string) => (v: string) => !v.trim() || check(answerProblem(`session.redis.${key}`, v.trim()));
  const cert = (await ask.input('Client certificate, a path inside the horizon container (empty: none; only if the server asks for one)', {
    ...defaultOf(current?.tlsCert),
    validate: inContainer('tls_cert'),
  })).trim();
  const key = cert ? (await ask.input('Its private key inside the container (empty: the certificate file holds it)', { ...defaultOf(current?.tlsKey), validate: inContainer('tls_key') })).trim() : '';
  return {
    ...(ca.trim() ? { tlsCa: localPath(ca.trim()) as string } : {}),
    ...(checkHostname ? {} : { tlsCheckHostname: false }),
    ...(cert ? { tlsCert: cert } : {}),
    ...(key ? { tlsKey: key } : {}),
  };
}

/** The memcached servers in use now, as host:port. */
export function memcachedLocation(now: StatusReport): string[] | undefined {
  const loc = now.hosts.find((h) => h.backend === 'memcached')?.cache?.location;
  const list = Array.isArray(loc) ? loc : typeof loc === 'string' ? loc.split(/[;,]/) : [];
  const servers = list.filter((s): s is string => typeof s === 'string').map((s) => s.trim()).filter(Boolean);
  return servers.length ? servers : undefined;
}

export function askMemcached(ask: Prompts, now: StatusReport, current: string[] | undefined): Promise<string[]> {
  return askServers(ask, 'memcached servers, host:port, comma separated', 'session.memcached.servers', current ?? memcachedLocation(now));
}

async function askServers(ask: Prompts, message: string, key: string, current: string[] | undefined): Promise<string[]> {
  const split = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);
  const text = await ask.input(message, { ...defaultOf(current?.join(',')), validate: (v) => check(answerProblem(key, split(v))) });
  return split(text);
}

export async function askDatabase(ask: Prompts, current: Inventory['session']['database']): Promise<NonNullable<Answers['database']>> {
  const engine = await ask.select('Database engine', [{ name: 'MariaDB / MySQL', value: 'mysql' as const }, { name: 'PostgreSQL', value: 'postgresql' as const }], current?.engine ?? 'mysql');
  const host = await ask.input('Database host (as seen from the Horizon containers)', { ...defaultOf(current?.host), validate: (v) => check(answerProblem('session.database.host', v)) });
  const port = await ask.input(`Port (empty: ${engine === 'mysql' ? 3306 : 5432})`, {
    ...defaultOf(current?.port === undefined ? undefined : String(current.port)),
    validate: (v) => (v.trim() === '' ? true : check(answerProblem('session.database.port', numberOrText(v)))),
  });
  const name = await ask.input('Database name', { default: current?.name ?? 'horizon', validate: (v) => check(answerProblem('session.database.name', v)) });
  const user = await ask.input('Database user', { default: current?.user ?? 'horizon', validate: (v) => check(answerProblem('session.database.user', v)) });
  const password = await askSecret(ask, 'Database password', 'HORIZON_DB_PASSWORD', current?.password);
  const sessionEngine = await ask.select(
    'Session engine',
    [{ name: 'db: sessions in the database', value: 'db' as const }, { name: 'cached_db: the database with the cache in front', value: 'cached_db' as const }],
    current?.sessionEngine ?? 'db',
  );
  return { engine, host, ...(port.trim() ? { port: Number(port) } : {}), name, user, ...(password ? { password } : {}), sessionEngine };
}

/**
 * A password is referenced, never stored: an environment variable (asked for, masked, when it is
 * not set: it then lives in this process only) or a file the run reads.
 */
async function askSecret(ask: Prompts, what: string, suggested: string, current: SecretRef | undefined): Promise<SecretAnswer | undefined> {
  const kind = await ask.select(
    `${what}? (the inventory only names where it comes from)`,
    [
      { name: 'none', value: 'none' as const },
      { name: 'from an environment variable (password_env)', value: 'env' as const },
      { name: 'from a file (password_file)', value: 'file' as const },
    ],
    current?.kind === 'env' ? 'env' : current ? 'file' : 'none',
  );
  if (kind === 'none') return undefined;
  if (kind === 'env') {
    const name = await ask.input('Environment variable name', {
      default: current?.kind === 'env' ? current.name : suggested,
      validate: (v) => check(answerProblem('session.redis.password_env', v)),
    });
    if (!process.env[name]) {
      const value = await ask.password(`${name} is not set here: type the password (masked, used for this run only, never written)`, (v) => (v ? true : 'empty'));
      masker.add(value);
      process.env[name] = value;
    }
    return { env: name };
  }
  const file = await ask.input('File holding the password', {
    ...defaultOf(current?.kind === 'file' ? current.path : undefined),
    validate: async (v) => {
      const full = localPath(v);
      if (full instanceof Bad) return full.message ?? 'not a usable path';
      try {
        await resolveSecret({ kind: 'file', path: full }, what);
        return true;
      } catch (err) {
        return (err as Error).message;
      }
    },
  });
  return { file: localPath(file) as string };
}

// ---- 4. security ----------------------------------------------------------------------------

export function securityFrom(now: StatusReport): SecurityConfig {
  const s = now.hosts.find((h) => h.security)?.security ?? {};
  const out: SecurityConfig = {};
  if (typeof s.SESSION_TIMEOUT === 'number') out.timeout = s.SESSION_TIMEOUT;
  if (typeof s.SESSION_REFRESH === 'boolean') out.refresh = s.SESSION_REFRESH;
  if (typeof s.SESSION_COOKIE_SECURE === 'boolean') out.cookieSecure = s.SESSION_COOKIE_SECURE;
  if (typeof s.SESSION_COOKIE_HTTPONLY === 'boolean') out.cookieHttponly = s.SESSION_COOKIE_HTTPONLY;
  if (['Lax', 'Strict', 'None', false].includes(s.SESSION_COOKIE_SAMESITE as string)) out.cookieSamesite = s.SESSION_COOKIE_SAMESITE as SecurityConfig['cookieSamesite'];
  if (typeof s.CSRF_COOKIE_SECURE === 'boolean') out.csrfCookieSecure = s.CSRF_COOKIE_SECURE;
  return out;
}

export async function askSecurity(ask: Prompts, now: SecurityConfig): Promise<SecurityConfig | undefined> {
  if (!(await ask.confirm('Also set session expiry and cookie security (current values are the defaults)?', false))) return undefined;
  const timeout = await ask.input('Session timeout, seconds (SESSION_TIMEOUT)', {
    default: String(now.timeout ?? 3600),
    validate: (v) => check(answerProblem('session.security.timeout', numberOrText(v))),
  });
  return {
    timeout: Number(timeout),
    refresh: await ask.confirm('Extend the session on activity (SESSION_REFRESH)?', now.refresh ?? true),
    cookieSecure: await ask.confirm('Send the session cookie over HTTPS only (SESSION_COOKIE_SECURE)?', now.cookieSecure ?? false),
    cookieHttponly: await ask.confirm('Hide the session cookie from JavaScript (SESSION_COOKIE_HTTPONLY)?', now.cookieHttponly ?? true),
    cookieSamesite: await ask.select<NonNullable<SecurityConfig['cookieSamesite']>>(
      'SameSite of the session cookie (SESSION_COOKIE_SAMESITE)',
      [{ name: 'Lax', value: 'Lax' }, { name: 'Strict', value: 'Strict' }, { name: 'None', value: 'None' }, { name: 'not set', value: false }],
      now.cookieSamesite ?? 'Lax',
    ),
    csrfCookieSecure: await ask.confirm('Send the CSRF cookie over HTTPS only (CSRF_COOKIE_SECURE)?', now.csrfCookieSecure ?? false),
  };
}

export async function askInstall(ask: Prompts): Promise<NonNullable<Answers['install']>> {
  const method = await ask.select(
    'How to install the client library (django-redis, pymemcache, DB driver) where it is missing',
    [
      { name: 'pip (from the package index the hosts reach)', value: 'pip' as const },
      { name: 'wheelhouse (offline: a folder of .whl files here)', value: 'wheelhouse' as const },
      { name: "distro (the container's OS packages)", value: 'distro' as const },
    ],
    'pip',
  );
  if (method !== 'wheelhouse') return { method };
  const dir = await ask.input('Wheelhouse folder', { validate: (v) => existingFile(v) });
  return { method, wheelhouse: localPath(dir) as string };
}
