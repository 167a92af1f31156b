/**
 * Where the client libraries of Horizon's session backends come from in a host's container, as far
 * as recreating the container goes. `image`: in the image's layers, so a container recreated by
 * `kolla-ansible upgrade`/`deploy` has it too. `container layer`: only in the container's writable
 * layer (pip or apt added it after the container was created), so a recreated container lacks it.
 * Decided from two reads: when the module's files last changed (python/libraries.py, in the facts
 * probe's process) and when the container was created (`docker inspect`). Asking Docker for the
 * layer's changes instead (`docker diff`) took 2-4 s a host once Kolla's recompress had filled it.
 */
import type { ContainerCheck } from '../backends/types.js';
import { alsoAnswer, type HorizonFacts } from './horizon.js';

/** Every client library a session backend may import: the probe asks about all of them at once. */
export const LIBRARY_MODULES = ['django_redis', 'redis', 'pymemcache', 'memcache', 'MySQLdb', 'pymysql', 'psycopg2', 'psycopg', 'sessionctl_redis_cluster'];

/** The facts probe runs libraries.py in its own process (no extra Python start). */
export const LIBRARIES_CHECK: ContainerCheck = { script: 'libraries.py', input: { modules: LIBRARY_MODULES } };

export type Origin = 'image' | 'container layer' | 'missing' | 'unknown';

/** What libraries.py answers for one module. */
export type LibraryAnswer =
  | {
      version: string;
      path: string | null;
      dist: { name: string; version: string; path: string | null } | null;
      /** Latest change time (s since the epoch) of the module's file and its metadata file. */
      ctime?: number | null;
    }
  | { error: string };

/** One client library in one container. */
export interface LibraryFact {
  /** Import name, e.g. django_redis. */
  module: string;
  origin: Origin;
  /** The version that imports now (null: it does not import). */
  version: string | null;
  /** The package's directory or the module's file. */
  path: string | null;
  /** The distribution that installed it, as pip names it (null: no metadata found). */
  dist: { name: string; version: string } | null;
  /** Why it is missing, or why its origin is unknown. */
  why?: string;
}

/**
 * Pure: where one library comes from. Its files changed after the container was created: pip or apt
 * wrote them into the container layer. Before: they were unpacked with an image layer.
 */
export function libraryOrigin(module: string, answer: LibraryAnswer | undefined, containerCreated: string): LibraryFact {
  if (!answer) return { module, origin: 'unknown', version: null, path: null, dist: null, why: 'the container did not say where it is' };
  if ('error' in answer) return { module, origin: 'missing', version: null, path: null, dist: null, why: answer.error };
  const fact: LibraryFact = { module, origin: 'image', version: answer.version, path: answer.path, dist: answer.dist && { name: answer.dist.name, version: answer.dist.version } };
  const created = Date.parse(containerCreated) / 1000;
  if (Number.isNaN(created)) return { ...fact, origin: 'unknown', why: `the container's creation time is unknown (${JSON.stringify(containerCreated)})` };
  if (typeof answer.ctime !== 'number') return { ...fact, origin: 'unknown', why: "its files' change time could not be read" };
  return answer.ctime > created ? { ...fact, origin: 'container layer' } : fact;
}

/** Pure: every known library's fact on a host, from the probe's answers and the container's creation time. */
export function libraryFacts(horizon: HorizonFacts, containerCreated: string): Record<string, LibraryFact> {
  const answers = alsoAnswer<Record<string, LibraryAnswer>>(horizon, LIBRARIES_CHECK.script);
  const failed = horizon.also?.[LIBRARIES_CHECK.script]?.error;
  const out: Record<string, LibraryFact> = {};
  for (const module of LIBRARY_MODULES) {
    // Without libraries.py's answer the probe's own import still tells what is missing.
    const answer = answers?.[module] ?? (horizon.modules[module] === null ? { error: 'does not import' } : undefined);
    const fact = libraryOrigin(module, answer, containerCreated);
    out[module] = !answer && failed ? { ...fact, why: `libraries.py failed: ${failed}` } : fact;
  }
  return out;
}

/** What a session backend is made of, as Django resolves it (or as a run expects it). */
export interface SessionBackendShape {
  sessionEngine: string;
  cacheBackend: string | null | undefined;
  databaseEngine: string | null | undefined;
  /** django-redis's CONNECTION_FACTORY option, when set. */
  connectionFactory?: unknown;
}

/**
 * Pure: the client libraries a session backend imports: the cache's client when sessions live in
 * the cache, the database driver when they live in the database. `modules` (what imports) decides
 * between drivers that stand in for each other (PyMySQL for MySQLdb, psycopg for psycopg2).
 */
export function sessionModules(s: SessionBackendShape, modules: Record<string, string | null>): string[] {
  const engine = s.sessionEngine.replace('django.contrib.sessions.backends.', '');
  const out: string[] = [];
  if (engine === 'cache' || engine === 'cached_db') {
    const cache = s.cacheBackend ?? '';
    if (cache.startsWith('django_redis.')) out.push('django_redis');
    // Redis Cluster goes through sessionctl's own module (not on PyPI; gone when the container is recreated).
    if (cache.startsWith('django_redis.') && typeof s.connectionFactory === 'string' && s.connectionFactory.startsWith('sessionctl_redis_cluster.')) out.push('sessionctl_redis_cluster');
    else if (cache === 'django.core.cache.backends.redis.RedisCache') out.push('redis');
    else if (cache.endsWith('.PyMemcacheCache')) out.push('pymemcache');
    else if (cache.endsWith('.MemcachedCache')) out.push('memcache');
  }
  if (engine === 'db' || engine === 'cached_db') {
    const db = s.databaseEngine ?? '';
    if (db === 'django.db.backends.mysql') out.push(modules.MySQLdb ? 'MySQLdb' : 'pymysql');
    else if (db === 'django.db.backends.postgresql') out.push(!modules.psycopg2 && modules.psycopg ? 'psycopg' : 'psycopg2');
  }
  return out;
}
