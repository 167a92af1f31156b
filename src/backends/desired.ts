import { ConfigError } from '../errors.js';
import { resolveSecret } from '../inventory/load.js';
import type { Backend, InstallConfig, Inventory } from '../inventory/types.js';
import { masker } from '../util/secret.js';
import { pyLiteral } from '../util/quote.js';
import type { Desired } from '../runner/types.js';
import { redisBackend, redisTarget } from './redis.js';
import { memcachedTarget } from './memcached.js';

/** Flags that override the inventory's session and install sections. */
export interface BackendFlags {
  backend?: string;
  redisUrl?: string;
  memcachedServers?: string;
  installMethod?: string;
  wheelhouse?: string;
}

const BACKENDS: Backend[] = ['memcached', 'redis', 'database', 'cookie'];

/** Register a secret for masking in every form it can take in our output (plain, inside a Python literal). */
function secret(value: string | undefined): string | undefined {
  if (value) {
    masker.add(value);
    masker.add(pyLiteral(value).slice(1, -1));
  }
  return value;
}

/** Inventory + flags -> the typed target of the run, secrets resolved. Throws ConfigError (exit 5). */
export async function resolveDesired(inv: Inventory, flags: BackendFlags): Promise<Desired> {
  const backend = flags.backend ?? inv.session.backend;
  if (!backend) throw new ConfigError(`no backend chosen: pass --backend (${BACKENDS.join('|')}) or set session.backend in ${inv.file}`);
  if (!BACKENDS.includes(backend as Backend)) throw new ConfigError(`--backend must be one of ${BACKENDS.join(', ')}, got '${backend}'`);
  if (backend !== 'redis' && backend !== 'memcached') {
    throw new ConfigError(`switching to '${backend}' is not available in this version yet; redis and memcached are`);
  }

  const install: InstallConfig = { ...inv.install };
  if (flags.installMethod) {
    if (!['pip', 'wheelhouse', 'distro'].includes(flags.installMethod)) {
      throw new ConfigError(`--install-method must be pip, wheelhouse or distro, got '${flags.installMethod}'`);
    }
    install.method = flags.installMethod as InstallConfig['method'];
  }
  if (flags.wheelhouse) install.wheelhouse = flags.wheelhouse;
  // A mirror URL may carry credentials (https://user:token@mirror/simple/): never print them.
  for (const u of [install.indexUrl, install.proxy]) if (u) secret(decodeURIComponent(new URL(u).password) || undefined);
  if (install.method === 'wheelhouse' && !install.wheelhouse) throw new ConfigError('install method wheelhouse needs --wheelhouse PATH or install.wheelhouse');

  const target = backend === 'redis' ? await redisFrom(inv, flags) : memcachedFrom(inv, flags);
  return { target, owned: [...SESSION_NAMES], install };
}

/** What a session block may set; earlier assignments of these in the patched file are commented out. */
const SESSION_NAMES = ['SESSION_ENGINE', 'CACHES', 'DJANGO_REDIS_CONNECTION_FACTORY'];

async function redisFrom(inv: Inventory, flags: BackendFlags) {
  const cfg = inv.session.redis;
  const url = flags.redisUrl ?? cfg?.url;
  if (!url) throw new ConfigError(`no Redis URL: pass --redis-url or set session.redis.url in ${inv.file}`);
  if (flags.redisUrl) checkRedisUrl(flags.redisUrl);
  const password = secret(cfg?.password ? await resolveSecret(cfg.password, 'session.redis.password') : undefined);
  const sentinelPassword = secret(cfg?.sentinel?.password ? await resolveSecret(cfg.sentinel.password, 'session.redis.sentinel.password') : undefined);
  return redisBackend(redisTarget({ ...cfg, url }, password, sentinelPassword));
}

function memcachedFrom(inv: Inventory, flags: BackendFlags) {
  const servers = flags.memcachedServers
    ? flags.memcachedServers.split(',').map((s) => s.trim()).filter(Boolean)
    : inv.session.memcached?.servers;
  if (!servers?.length) throw new ConfigError(`no memcached servers: pass --memcached-servers host:port,... or set session.memcached.servers in ${inv.file}`);
  for (const s of servers) {
    if (!/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(s) || Number(s.split(':').pop()) > 65535) {
      throw new ConfigError(`--memcached-servers: '${s}' is not host:port (IPv6 as [addr]:port)`);
    }
  }
  return memcachedTarget(servers);
}

/** --redis-url gets the same checks as session.redis.url in the inventory. */
export function checkRedisUrl(raw: string): void {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError(`--redis-url is not a URL: ${masker.mask(raw)}`);
  }
  if (!['redis:', 'rediss:', 'unix:'].includes(u.protocol)) throw new ConfigError(`--redis-url must start with redis://, rediss:// or unix://`);
  if (u.password || u.searchParams.has('password')) {
    throw new ConfigError('--redis-url must not contain a password (it would show in the process list): use session.redis.password_env or password_file');
  }
  if (u.protocol !== 'unix:' && !u.hostname) throw new ConfigError('--redis-url must name a host, like redis://10.0.0.50:6379/0');
}
