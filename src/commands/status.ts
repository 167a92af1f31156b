import type { Inventory, HostConfig } from '../inventory/types.js';
import { Fleet } from '../transport/fleet.js';
import { gatherHostFacts, type HostFacts } from '../facts/gather.js';
import { backendOf, hostsBySecretKey, loginUrl, type HorizonFacts } from '../facts/horizon.js';
import { persistenceNote, serverName, survives } from '../backends/redis.js';
import { sessionModules } from '../facts/libraries.js';
import { ExitCode, type ExitCodeValue } from '../errors.js';
import type { SshOptions } from '../transport/ssh.js';
import type { HostStatus, StatusReport } from '../report/types.js';
import { kollaSection } from '../report/kolla.js';

export async function status(inventory: Inventory, hosts: HostConfig[], ssh: SshOptions): Promise<{ report: StatusReport; exitCode: ExitCodeValue }> {
  const fleet = new Fleet(inventory.hosts, ssh);
  try {
    // A bad key or known_hosts is a ConfigError (exit 5) before any connection, not a host's failure.
    await fleet.readLocalFiles(hosts);
    const facts = await Promise.all(hosts.map((h) => gatherHostFacts(fleet, h, { currentRedis: true })));
    const report = buildStatus(facts);
    const kolla = kollaSection(inventory.kolla);
    if (kolla) report.kolla = kolla;
    return { report, exitCode: statusExitCode(facts) };
  } finally {
    await fleet.close();
  }
}

/** Pure: facts -> report rows and fleet-wide warnings. */
export function buildStatus(all: HostFacts[]): StatusReport {
  const hosts = all.map(toRow);
  const warnings: string[] = [];
  const keys = hostsBySecretKey(hosts.filter((h) => h.secretKeySha256 !== undefined).map((h) => ({ host: h.host, sha256: h.secretKeySha256 ?? null })));
  if (keys.size > 1) {
    warnings.push(
      `SECRET_KEY differs between hosts (${[...keys.entries()].map(([k, hs]) => `${hs.join(',')}: ${k}`).join('; ')}); ` +
        'sessions and signed data break when the load balancer moves a user',
    );
  }
  const backends = new Set(hosts.filter((h) => h.backend).map((h) => `${h.backend} ${JSON.stringify(h.cache?.location ?? h.database ?? '')}`));
  if (backends.size > 1) warnings.push('hosts do not share one session backend: users are logged out when they move between hosts');
  for (const h of hosts) {
    if (h.backend?.startsWith('database')) warnings.push(`${h.host}: database sessions need 'manage.py clearsessions' on a schedule`);
    if (h.settingsError) warnings.push(`${h.host}: Horizon's settings do not load: ${h.settingsError}`);
    if (h.container && h.container.health === 'unhealthy') warnings.push(`${h.host}: container ${h.container.name} is unhealthy`);
    for (const lib of h.libraries ?? []) {
      if (lib.origin === 'container layer') {
        warnings.push(
          `${h.host}: ${lib.module} ${lib.version} is only in the container's writable layer: recreating the container ` +
            "(kolla-ansible upgrade or deploy) loses it and Horizon's sessions fail; bake it into the image " +
            `(sessionctl plan --backend ${h.backend} prints the kolla-build override)`,
        );
      }
      if (lib.origin === 'missing') warnings.push(`${h.host}: the session backend needs ${lib.module}, which does not import in the container (${lib.why}): Horizon cannot keep sessions`);
    }
  }
  return { hosts, warnings };
}

function toRow(f: HostFacts): HostStatus {
  const row: HostStatus = { host: f.host.name, address: f.host.address, reachable: f.reachable };
  if (f.error) row.error = f.error.message;
  if (f.engineVia) row.engine = f.engineVia;
  if (f.container !== undefined) {
    row.container = f.container && { name: f.container.name, state: f.container.state, health: f.container.health, image: f.container.image };
  }
  if (f.layout) {
    row.layout = f.layout.layout;
    row.configDir = f.layout.configDir;
    row.settingsFile = f.layout.customFile;
  }
  const hz = f.horizon;
  if (hz) {
    row.python = hz.python;
    row.horizon = hz.horizon;
    const m = hz.modules;
    row.imports = {
      django_redis: m.django_redis ?? null,
      mysql: m.MySQLdb ? `MySQLdb ${m.MySQLdb}` : m.pymysql ? `pymysql ${m.pymysql}` : null,
      postgresql: m.psycopg2 ? `psycopg2 ${m.psycopg2}` : m.psycopg ? `psycopg ${m.psycopg}` : null,
      pymemcache: m.pymemcache ?? null,
    };
    if (hz.webServer) row.webServer = { kind: hz.webServer.kind, loginUrl: loginUrl(f.host.healthUrl, hz) };
    if (hz.settingsError) row.settingsError = hz.settingsError;
    const s = hz.settings;
    if (s) {
      row.django = s.django;
      row.sessionEngine = s.sessionEngine;
      row.backend = backendOf(s.sessionEngine, s.cache.backend);
      row.persistence = sessionsSurvive(row.backend, hz.currentRedis);
      row.cache = { backend: s.cache.backend, location: s.cache.location };
      row.database = s.database;
      row.security = s.security;
      row.secretKeySha256 = s.secretKeySha256;
      if (f.libraries) {
        const needed = sessionModules({ sessionEngine: s.sessionEngine, cacheBackend: s.cache.backend, databaseEngine: s.database?.engine, connectionFactory: s.cache.connectionFactory }, hz.modules);
        row.libraries = needed.flatMap((m) => (f.libraries![m] ? [f.libraries![m]!] : []));
      }
    }
  }
  return row;
}

/** Pure: whether the current backend keeps the sessions when it restarts (Redis and Valkey say so themselves). */
export function sessionsSurvive(backend: string, redis: HorizonFacts['currentRedis']): NonNullable<HostStatus['persistence']> {
  if (backend.startsWith('database')) return { survives: true, detail: 'yes: rows in the database' };
  if (backend === 'cookie') return { survives: true, detail: "yes: in the users' browsers (signed cookies)" };
  if (backend === 'file') return { survives: true, detail: 'yes: files on each host' };
  if (backend === 'memcached' || backend === 'local-memory' || backend === 'none') return { survives: false, detail: `no: ${backend} keeps them in memory only` };
  if (backend !== 'redis') return { survives: null, detail: `unknown for ${backend}` };
  if (!redis) return { survives: null, detail: 'unknown: the server was not asked' };
  if ('error' in redis) return { survives: null, detail: `unknown: the server did not answer (${redis.error})` };
  return { survives: survives(redis.persistence), detail: `${serverName(redis)}: ${persistenceNote(redis.persistence)}` };
}

/** 4 when a host is unreachable, else 2 when a host failed, else 0. */
export function statusExitCode(all: HostFacts[]): ExitCodeValue {
  if (all.some((f) => f.error?.kind === 'unreachable')) return ExitCode.hostUnreachable;
  if (all.some((f) => f.error)) return ExitCode.hostFailed;
  return ExitCode.ok;
}
