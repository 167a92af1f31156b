import { ConfigError } from '../errors.js';
import { REDIS_PROTOCOLS, redisUrlProblem } from '../inventory/load.js';
import { FILE_LIMITS, listLocalFiles, readLocalFile } from '../util/files.js';
import { resolveSecret, urlSecret } from '../util/secret.js';
import { isHostPort } from '../inventory/schema.js';
import type { Backend, InstallConfig, Inventory, SecurityConfig } from '../inventory/types.js';
import type { SettingsBlock } from '../settings/block.js';
import { masker } from '../util/secret.js';
import type { Desired } from './types.js';
import { redisBackend, redisTarget } from './redis.js';
import { memcachedTarget } from './memcached.js';
import { COOKIE_WARNING, cookieTarget } from './cookie.js';
import { databaseTarget } from './database.js';

/** Flags that override the inventory's session and install sections. */
export interface BackendFlags {
  backend?: string;
  redisUrl?: string;
  memcachedServers?: string;
  allowInsecureCookieSessions?: boolean;
  installMethod?: string;
  wheelhouse?: string;
  /** --carry-sessions / --no-carry-sessions; absent: session.carry, else true. */
  carrySessions?: boolean;
}

/** The session backends (also what shell completion offers for --backend). */
export const BACKENDS: readonly Backend[] = ['memcached', 'redis', 'database', 'cookie'];
/** --install-method's values. */
export const INSTALL_METHODS = ['pip', 'wheelhouse', 'distro'] as const;

/** Register a secret for masking in every form it can take in our output (the masker knows them all, a Python literal's too). */
function secret(value: string | undefined): string | undefined {
  if (value) masker.add(value);
  return value;
}

/** Inventory + flags -> the typed target of the run, secrets resolved. Throws ConfigError (exit 5). */
export async function resolveDesired(inv: Inventory, flags: BackendFlags): Promise<Desired> {
  const backend = flags.backend ?? inv.session.backend;
  if (!backend) throw new ConfigError(`no backend chosen: pass --backend (${BACKENDS.join('|')}) or set session.backend in ${inv.file}`);
  if (!BACKENDS.includes(backend as Backend)) throw new ConfigError(`--backend must be one of ${BACKENDS.join(', ')}, got '${backend}'`);
  const warnings: string[] = [];
  if (backend === 'database') warnings.push(CLEARSESSIONS_REMINDER);
  if (!inv.kolla?.deployHost) warnings.push(RECONFIGURE_WARNING);
  if (backend === 'cookie') {
    if (!flags.allowInsecureCookieSessions) {
      throw new ConfigError(`refusing signed-cookie sessions without --allow-insecure-cookie-sessions: ${COOKIE_WARNING}`);
    }
    warnings.push(COOKIE_WARNING);
  }

  const install: InstallConfig = { ...inv.install };
  if (flags.installMethod) {
    if (!(INSTALL_METHODS as readonly string[]).includes(flags.installMethod)) {
      throw new ConfigError(`--install-method must be pip, wheelhouse or distro, got '${flags.installMethod}'`);
    }
    install.method = flags.installMethod as InstallConfig['method'];
  }
  if (flags.wheelhouse) install.wheelhouse = flags.wheelhouse;
  // A mirror URL may carry credentials (https://user:token@mirror/simple/, https://token@mirror/simple/): never print them.
  if (install.indexUrl) secret(urlSecret(install.indexUrl, 'install.index_url'));
  if (install.proxy) secret(urlSecret(install.proxy, 'install.proxy'));
  if (install.method === 'wheelhouse' && !install.wheelhouse) throw new ConfigError('install method wheelhouse needs --wheelhouse PATH or install.wheelhouse');
  // Checked before any host is touched: the install step reads the wheels half-way through the run.
  if (install.method === 'wheelhouse' && install.wheelhouse) {
    if (!(await listLocalFiles(install.wheelhouse, '.whl', 'the wheelhouse', FILE_LIMITS.wheel)).length) throw new ConfigError(`no .whl files in the wheelhouse ${install.wheelhouse}`);
  }

  const target =
    backend === 'redis'
      ? await redisFrom(inv, flags)
      : backend === 'memcached'
        ? memcachedFrom(inv, flags)
        : backend === 'database'
          ? await databaseFrom(inv)
          : cookieTarget();
  const security = securityBlock(inv.session.security);
  const carry = flags.carrySessions ?? inv.session.carry ?? true;
  return { target, owned: [...target.owns, ...security.map(([name]) => name)], security, install, warnings, carry };
}

/** Pure: session.security -> Django/Horizon settings, in a fixed order (the block stays byte-stable). */
export function securityBlock(s: SecurityConfig | undefined): SettingsBlock {
  if (!s) return [];
  const out: SettingsBlock = [];
  if (s.timeout !== undefined) out.push(['SESSION_TIMEOUT', s.timeout]);
  if (s.refresh !== undefined) out.push(['SESSION_REFRESH', s.refresh]);
  if (s.cookieSecure !== undefined) out.push(['SESSION_COOKIE_SECURE', s.cookieSecure]);
  if (s.cookieHttponly !== undefined) out.push(['SESSION_COOKIE_HTTPONLY', s.cookieHttponly]);
  if (s.cookieSamesite !== undefined) out.push(['SESSION_COOKIE_SAMESITE', s.cookieSamesite]);
  if (s.csrfCookieSecure !== undefined) out.push(['CSRF_COOKIE_SECURE', s.csrfCookieSecure]);
  return out;
}

async function redisFrom(inv: Inventory, flags: BackendFlags) {
  // --redis-url names another server: Kolla's Sentinel (and its password) are not carried over to it.
  const cfg = flags.redisUrl && inv.kolla?.derived?.some((d) => d.backend === 'redis') ? undefined : inv.session.redis;
  const url = flags.redisUrl ?? cfg?.url;
  if (!url) throw new ConfigError(`no Redis URL: pass --redis-url or set session.redis.url in ${inv.file}${kollaWhy(inv, 'redis')}`);
  if (flags.redisUrl) checkRedisUrl(flags.redisUrl);
  const password = secret(cfg?.password ? await resolveSecret(cfg.password, 'session.redis.password') : undefined);
  const sentinelPassword = secret(cfg?.sentinel?.password ? await resolveSecret(cfg.sentinel.password, 'session.redis.sentinel.password') : undefined);
  const caData = cfg?.tlsCa ? await readCa(cfg.tlsCa) : undefined;
  return redisBackend(redisTarget({ ...cfg, url }, password, sentinelPassword, caData));
}

/** tls_ca's PEM certificates, read once here. */
export async function readCa(file: string): Promise<string> {
  const what = `session.redis.tls_ca: ${file}`;
  let text: string;
  try {
    text = (await readLocalFile(file, `the CA file ${file}`, FILE_LIMITS.ca)).toString('utf8');
  } catch (err) {
    throw err instanceof ConfigError ? new ConfigError(`session.redis.tls_ca: ${err.message}`) : err;
  }
  const pems = pemCertificates(text);
  if (!pems.length) throw new ConfigError(`${what} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  return `${pems.join('\n')}\n`;
}

const BEGIN = '-----BEGIN CERTIFICATE-----';
const END = '-----END CERTIFICATE-----';

/** Each BEGIN..END block, in order. Not a lazy regex: over many BEGINs without an END it takes quadratic time. */
function pemCertificates(text: string): string[] {
  const pems: string[] = [];
  for (let at = text.indexOf(BEGIN); at >= 0; ) {
    const end = text.indexOf(END, at + BEGIN.length);
    if (end < 0) break;
    pems.push(text.slice(at, end + END.length));
    at = text.indexOf(BEGIN, end + END.length);
  }
  return pems;
}

/** The Dashboard hosts' files are re-rendered from the deploy host by kolla-ansible. */
export const RECONFIGURE_WARNING =
  "no kolla.deploy_host in the inventory: a later 'kolla-ansible reconfigure' or deploy re-renders the Dashboard hosts' " +
  'settings and undoes this switch unless /etc/kolla/config/horizon/_9999-custom-settings.py on the deploy host says the same';

/** Expired rows stay in django_session until something deletes them. */
export const CLEARSESSIONS_REMINDER =
  "database sessions: schedule 'manage.py clearsessions' (e.g. daily, on one host) or expired rows pile up in django_session";

async function databaseFrom(inv: Inventory) {
  const cfg = inv.session.database;
  if (!cfg) throw new ConfigError(`no database: set session.database (engine, host, name, user, password_env|password_file) in ${inv.file}${kollaWhy(inv, 'database')}`);
  const passwordValue = secret(cfg.password ? await resolveSecret(cfg.password, 'session.database.password') : undefined);
  return databaseTarget({ ...cfg, ...(passwordValue ? { passwordValue } : {}) });
}

function memcachedFrom(inv: Inventory, flags: BackendFlags) {
  const servers = flags.memcachedServers
    ? flags.memcachedServers.split(',').map((s) => s.trim()).filter(Boolean)
    : inv.session.memcached?.servers;
  if (!servers?.length) throw new ConfigError(`no memcached servers: pass --memcached-servers host:port,... or set session.memcached.servers in ${inv.file}${kollaWhy(inv, 'memcached')}`);
  const bad = servers.find((s) => !isHostPort(s));
  if (bad !== undefined) throw new ConfigError(`--memcached-servers: '${bad}' is not host:port (IPv6 as [addr]:port)`);
  return memcachedTarget(servers);
}

/** Why kolla-ansible's files did not give this backend's settings, when they were read. */
function kollaWhy(inv: Inventory, backend: 'memcached' | 'redis' | 'database'): string {
  const why = inv.kolla?.unresolved?.[backend];
  return why ? ` (not derived from kolla-ansible's files: ${why})` : '';
}

/** --redis-url gets the same checks as session.redis.url in the inventory. */
export function checkRedisUrl(raw: string): void {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError(`--redis-url is not a URL: ${masker.mask(raw)}`);
  }
  if (!REDIS_PROTOCOLS.includes(u.protocol)) throw new ConfigError(`--redis-url must start with redis://, rediss:// or unix://`);
  const problem = redisUrlProblem(u);
  if (problem) throw new ConfigError(`--redis-url ${problem}`);
}
