import { ConfigError, HostError } from '../errors.js';
import { runCheck, type RedisServerFacts } from '../facts/horizon.js';
import type { RedisConfig } from '../inventory/types.js';
import type { BackendTarget, ClientLibrary, ContainerCheck, OwnModule } from './types.js';
import type { SettingsBlock } from '../settings/block.js';
import type { PyValue } from '../util/quote.js';

/** Redis target with its secrets resolved (values never leave the process except on stdin). */
export interface RedisTarget {
  url: string;
  password?: string;
  /** rediss:// only: how the server's certificate is checked. */
  tls?: RedisTls;
  requirePersistence?: boolean;
  sentinel?: { service: string; hosts: string[]; password?: string };
  /** Redis Cluster's startup nodes, "host:port". */
  cluster?: { nodes: string[] };
}

export interface RedisTls {
  /** PEM text of the CA (from tls_ca); unset: the container's system CAs. */
  caData?: string;
  /** Where the CA came from, for messages. */
  caFile?: string;
  checkHostname: boolean;
  /** A client certificate and its key, paths inside the container (redis-py loads them by path). */
  certFile?: string;
  keyFile?: string;
}

const SESSION_CACHE = 'django.contrib.sessions.backends.cache';
const TLS_FIELDS = { tls_ca: 'tlsCa', tls_check_hostname: 'tlsCheckHostname', tls_cert: 'tlsCert', tls_key: 'tlsKey' } as const;
const SENTINEL_CLIENT = 'django_redis.client.SentinelClient';
const SENTINEL_FACTORY = 'django_redis.pool.SentinelConnectionFactory';
/** sessionctl's own module (src/backends/python/sessionctl_redis_cluster.py), installed into the container. */
const CLUSTER_FACTORY = 'sessionctl_redis_cluster.ClusterConnectionFactory';
/** A demoted master is converted by the sentinels within seconds (11 s measured in the lab); twice that, and some. */
const SENTINEL_SETTLE_MS = 30_000;

/** Pure: sentinel addresses as "host:port", sorted, from "host[:port]" or Django's [host, port] pairs. */
export function sentinelHosts(hosts: (string | unknown[])[]): string[] {
  return hosts
    .map((h) => {
      if (Array.isArray(h)) return `${String(h[0])}:${String(h[1])}`;
      const { host, port } = splitHostPort(String(h), 26379);
      return `${host}:${port}`;
    })
    .sort();
}

/**
 * Pure: the settings that make Horizon keep sessions in Redis through django-redis.
 * The password goes to OPTIONS['PASSWORD'] rather than into the URL, so the URL stays printable.
 */
export function redisBlock(t: RedisTarget): SettingsBlock {
  const options: Record<string, PyValue> = {};
  // A Sentinel LOCATION is redis://service: ssl tells the Sentinel pool to speak TLS to the master.
  const tls = t.tls && { ...(t.sentinel ? { ssl: true } : {}), ...sslKwargs(t.tls) };
  let location = t.url;
  if (t.sentinel) {
    const db = new URL(t.url).pathname.replace(/^\//, '') || '0';
    location = `redis://${t.sentinel.service}/${db}`;
    options.CLIENT_CLASS = SENTINEL_CLIENT;
    options.SENTINELS = t.sentinel.hosts.map((hp) => {
      const { host, port } = splitHostPort(hp, 26379);
      return { tuple: [host, port] };
    });
    // The sentinels get their own arguments (django-redis passes SENTINEL_KWARGS alone to them),
    // the master's connections the pool's: over TLS both, as SentinelManagedSSLConnection.
    const toSentinels = { ...tls, ...(t.sentinel.password ? { password: t.sentinel.password } : {}) };
    if (Object.keys(toSentinels).length) options.SENTINEL_KWARGS = toSentinels;
  } else {
    options.CLIENT_CLASS = 'django_redis.client.DefaultClient';
    if (t.cluster) options.CLUSTER_NODES = t.cluster.nodes;
  }
  if (t.password) options.PASSWORD = t.password;
  if (tls) options.CONNECTION_POOL_KWARGS = tls;
  const block: SettingsBlock = [
    ['SESSION_ENGINE', SESSION_CACHE],
    ['CACHES', { default: { BACKEND: 'django_redis.cache.RedisCache', LOCATION: location, OPTIONS: options } }],
  ];
  if (t.sentinel) block.push(['DJANGO_REDIS_CONNECTION_FACTORY', SENTINEL_FACTORY]);
  if (t.cluster) block.push(['DJANGO_REDIS_CONNECTION_FACTORY', CLUSTER_FACTORY]);
  return block;
}

/**
 * Pure: redis-py's SSL connection arguments. The CA travels as its contents (ssl_ca_data, redis-py
 * >= 4.1), so no file has to exist inside the containers; the name check is explicit because
 * redis-py 4.x leaves it off by default.
 */
export function sslKwargs(tls: RedisTls): Record<string, PyValue> {
  return {
    ssl_cert_reqs: 'required',
    ssl_check_hostname: tls.checkHostname,
    ...(tls.caData ? { ssl_ca_data: tls.caData } : {}),
    ...(tls.certFile ? { ssl_certfile: tls.certFile } : {}),
    ...(tls.keyFile ? { ssl_keyfile: tls.keyFile } : {}),
  };
}

/**
 * Pure: redis.url from the inventory or --redis-url with the CA's text read from tls_ca, checked
 * together: TLS settings need a rediss:// URL; with Sentinel, rediss:// means TLS to the sentinels
 * and to the master they name.
 */
export function redisTarget(cfg: RedisConfig, password: string | undefined, sentinelPassword?: string, caData?: string): RedisTarget {
  const t: RedisTarget = { url: cfg.url };
  if (password) t.password = password;
  const tlsUrl = cfg.url.startsWith('rediss:');
  const tlsKey = (['tls_ca', 'tls_check_hostname', 'tls_cert', 'tls_key'] as const).find((k) => cfg[TLS_FIELDS[k]] !== undefined);
  if (!tlsUrl && tlsKey) throw new ConfigError(`session.redis.${tlsKey} is set but the Redis URL ${cfg.url} is not TLS: use rediss://`);
  if (cfg.tlsKey && !cfg.tlsCert) throw new ConfigError('session.redis.tls_key is set without tls_cert: the key belongs to a client certificate');
  if (cfg.cluster && cfg.sentinel) throw new ConfigError('session.redis: cluster and sentinel exclude each other (a Redis Cluster fails over by itself)');
  if (cfg.cluster && !/^\/?0?$/.test(new URL(cfg.url).pathname)) throw new ConfigError(`session.redis.url ${cfg.url}: a Redis Cluster has only database 0`);
  if (cfg.cluster) t.cluster = { nodes: [...cfg.cluster.nodes] };
  if (tlsUrl) {
    t.tls = {
      checkHostname: cfg.tlsCheckHostname ?? true,
      ...(caData ? { caData } : {}),
      ...(cfg.tlsCa ? { caFile: cfg.tlsCa } : {}),
      ...(cfg.tlsCert ? { certFile: cfg.tlsCert } : {}),
      ...(cfg.tlsKey ? { keyFile: cfg.tlsKey } : {}),
    };
  }
  if (cfg.requirePersistence) t.requirePersistence = true;
  if (cfg.sentinel) t.sentinel = { service: cfg.sentinel.service, hosts: cfg.sentinel.hosts, ...(sentinelPassword ? { password: sentinelPassword } : {}) };
  return t;
}

/** Pure: "host:port" or "[v6]:port" -> parts. */
export function splitHostPort(hp: string, defaultPort: number): { host: string; port: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(hp) ?? /^([^:]+)(?::(\d+))?$/.exec(hp);
  if (!m) throw new Error(`not host:port: ${hp}`);
  return { host: m[1]!, port: m[2] ? Number(m[2]) : defaultPort };
}

/** The JSON redis_check.py reads on stdin (secrets travel only there). */
export function redisInput(r: RedisTarget): Record<string, unknown> {
  return {
    url: r.url,
    password: r.password,
    tls: r.tls && sslKwargs(r.tls),
    cluster: r.cluster && {
      nodes: r.cluster.nodes.map((hp) => {
        const { host, port } = splitHostPort(hp, 6379);
        return [host, port];
      }),
    },
    sentinel: r.sentinel && {
      service: r.sentinel.service,
      password: r.sentinel.password,
      hosts: r.sentinel.hosts.map((hp) => {
        const { host, port } = splitHostPort(hp, 26379);
        return [host, port];
      }),
    },
  };
}

/** Pure: the newest django-redis known to fit this Django (5.2 is the last for Django 2.2, 5.4 for 3.2 to 4.1; 6.0 needs 4.2). */
export function djangoRedisKnownFit(django: string): string {
  const [major = 0, minor = 0] = django.split('.').map(Number);
  const v = major * 100 + minor;
  return v < 302 ? '5.2.0' : v < 402 ? '5.4.0' : '6.0.0';
}

const CLUSTER_MODULE: OwnModule = { module: 'sessionctl_redis_cluster', version: '1.0.0', source: 'src/backends/python/sessionctl_redis_cluster.py' };

const DJANGO_REDIS: ClientLibrary = {
  module: 'django_redis',
  package: 'django-redis',
  fits: 'django-redis',
  knownFit: djangoRedisKnownFit,
  distroPackage: 'python3-django-redis',
};

/** redis_check.py's answer: the server's own facts when it answered. */
interface RedisAnswer extends Partial<RedisServerFacts> {
  ok: boolean;
  error?: string;
  exists?: boolean;
}

type Persistence = RedisServerFacts['persistence'];

/** Pure: "Valkey 8.1.1", "Redis 7.0.15", "Redis 7.0.15 cluster (3 masters)": what the server says it is. */
export function serverName(s: Partial<Pick<RedisServerFacts, 'server' | 'version' | 'masters'>>): string {
  return `${s.server === 'valkey' ? 'Valkey' : 'Redis'} ${s.version ?? '?'}${s.masters ? ` cluster (${s.masters} masters)` : ''}`;
}

/** Pure: whether sessions outlive a restart of the server: yes, no, or unknown (null: ACLs hide the save points). */
export function survives(p: Persistence | undefined): boolean | null {
  if (!p) return null;
  return p.aof || Boolean(p.rdb) ? true : p.rdb === '' ? false : null;
}

/** Pure: whether sessions outlive a restart of the server, in words. */
export function persistenceNote(p: Persistence): string {
  const aof = `AOF ${p.aof ? 'on' : 'off'}`;
  const kept = survives(p);
  if (kept) return `sessions survive its restart (${p.rdb ? `RDB save ${p.rdb}; ` : p.rdb === '' ? 'no RDB save points; ' : ''}${aof})`;
  if (kept === false) return `sessions are lost when it restarts (no RDB save points, ${aof})`;
  return `whether sessions survive its restart is unknown: ${aof}, and the RDB save points are hidden (CONFIG GET save: ${p.hidden ?? 'refused'})`;
}

/** Pure: what a TLS failure from redis-py means for the operator, or undefined when it is not one. */
export function tlsProblem(error: string, tls: RedisTls | undefined): string | undefined {
  if (!tls) return undefined;
  const ca = tls.caFile ? `the CA in tls_ca (${tls.caFile})` : "the container's system CAs (no tls_ca)";
  if (/hostname mismatch|ip address mismatch|doesn't match/i.test(error)) {
    return `the server's TLS certificate does not name the host of the URL (hostname checking is on; tls_check_hostname: false turns it off)`;
  }
  if (/CERTIFICATE_VERIFY_FAILED/.test(error)) return `the server's TLS certificate is not trusted by ${ca}`;
  if (/certificate required|peer did not return a certificate/i.test(error)) {
    return tls.certFile ? `the server refused the client certificate in tls_cert (${tls.certFile})` : 'the server asks for a client certificate: set tls_cert (and tls_key), paths inside the horizon container';
  }
  // TLS 1.3 ends the handshake before the server checks the client: a server that wants a
  // certificate then alerts and closes, and a write that races the alert sees only the EOF.
  if (/EOF occurred in violation of protocol/i.test(error)) {
    return tls.certFile
      ? `the server closed the TLS connection after the handshake, as one that refuses the client certificate in tls_cert (${tls.certFile}) does`
      : 'the server closed the TLS connection after the handshake, as one that asks for a client certificate does: set tls_cert (and tls_key), paths inside the horizon container';
  }
  const client = [tls.certFile, tls.keyFile].filter(Boolean).join(' and ');
  if (client && /No such file|Permission denied|Errno (2|13)\b/.test(error)) return `the client certificate (${client}) cannot be read inside the container`;
  if (client && /PEM lib|KEY_VALUES_MISMATCH|no start line/i.test(error)) return `tls_cert and tls_key (${client}) are not a PEM certificate and its matching key`;
  if (/WRONG_VERSION_NUMBER|record layer failure|unexpected eof|packet length too long/i.test(error)) return 'the server does not speak TLS on this port';
  // A plain Redis port reads a TLS hello as the start of a command and waits for the rest.
  if (/Timeout connecting/i.test(error)) return "no TLS handshake within 5 s: is this the server's TLS port (tls-port)?";
  return undefined;
}

/** Redis as the run's target: same settings on every host, django-redis needed. */
export function redisBackend(t: RedisTarget): BackendTarget {
  const block = redisBlock(t);
  const caches = block.find(([name]) => name === 'CACHES')![1] as { default: { BACKEND: string; LOCATION: string } };
  const where = t.sentinel ? `Redis (sentinel service ${t.sentinel.service})` : t.cluster ? `Redis Cluster (nodes ${t.cluster.nodes.join(', ')})` : `Redis at ${t.url}`;
  const check: ContainerCheck = { script: 'redis_check.py', input: redisInput(t) };
  return {
    name: 'redis',
    where,
    owns: ['SESSION_ENGINE', 'CACHES', 'DJANGO_REDIS_CONNECTION_FACTORY'],
    settingsFor: () => ({
      block,
      expect: {
        sessionEngine: 'django.contrib.sessions.backends.cache',
        cacheBackend: caches.default.BACKEND,
        location: caches.default.LOCATION,
        ...(t.sentinel ? { sentinel: { hosts: sentinelHosts(t.sentinel.hosts), clientClass: SENTINEL_CLIENT, connectionFactory: SENTINEL_FACTORY } } : {}),
      },
      library: DJANGO_REDIS,
      ...(t.cluster ? { ownModule: CLUSTER_MODULE } : {}),
    }),
    reachCheck: check,
    ...(t.sentinel ? { settleMs: SENTINEL_SETTLE_MS } : {}),
    reached(host, answer) {
      const a = answer as RedisAnswer;
      if (!a.ok) {
        const tls = tlsProblem(a.error ?? '', t.tls);
        throw new HostError(host, `${where} is not usable from the horizon container: ${tls ? `${tls} (${a.error})` : a.error}`);
      }
      if (a.role && a.role !== 'master') throw new HostError(host, `${where} is a ${a.role}, not a master: sessions would fail to save`);
      const kept = a.persistence ? persistenceNote(a.persistence) : 'persistence unknown';
      if (t.requirePersistence && !survives(a.persistence)) throw new HostError(host, `${where}: ${kept}, and session.redis.require_persistence is true`);
      const over = t.tls ? ` over TLS (certificate checked against ${t.tls.caFile ?? 'the system CAs'}, name ${t.tls.checkHostname ? 'checked' : 'NOT checked'}${t.tls.certFile ? `, client certificate ${t.tls.certFile}` : ''})` : '';
      const who = a.masters ? `${serverName(a)}, every slot served,` : `${serverName(a)} (${a.role ?? 'master'})`;
      return `ok: ${who} answered PING from the container${over}${a.persistence ? `; ${kept}` : ''}`;
    },
    warning(answer) {
      const p = (answer as RedisAnswer).persistence;
      const kept = survives(p);
      if (kept || !p) return null;
      const fix = kept === false ? ': every user is logged out then. Turn on RDB snapshots or AOF there' : '';
      return `${where}: ${persistenceNote(p)}${fix}; session.redis.require_persistence: true refuses such a server.`;
    },
    async holds(ctx, { cacheKey }) {
      if (!cacheKey) return false;
      const answer = await runCheck<RedisAnswer>(ctx, check, { exists: cacheKey });
      if (!answer.ok) throw new HostError(ctx.host.name, `cannot look the session up in Redis: ${answer.error}`);
      return Boolean(answer.exists);
    },
  };
}
