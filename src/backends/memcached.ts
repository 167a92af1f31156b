import { HostError } from '../errors.js';
import { runCheck } from '../facts/horizon.js';
import type { BackendTarget, ClientLibrary, ContainerCheck, HostSettings } from './types.js';
import { splitHostPort } from './redis.js';

const PYMEMCACHE: ClientLibrary = {
  module: 'pymemcache',
  package: 'pymemcache',
  fits: 'pymemcache',
  knownFit: () => '4.0.0',
  distroPackage: 'python3-pymemcache',
};

function djangoAtLeast(django: string, major: number, minor: number): boolean {
  const [a = 0, b = 0] = django.split('.').map(Number);
  return a > major || (a === major && b >= minor);
}

/**
 * Pure: memcached settings for a host. PyMemcacheCache where Django has it (>= 3.2); the old
 * MemcachedCache only on Django < 4.1 (removed there) with python-memcached and no pymemcache.
 * ignore_exc keeps Horizon up when one memcached node is down.
 */
export function memcachedSettings(servers: string[], django: string, modules: Record<string, string | null>): HostSettings {
  const legacy = !djangoAtLeast(django, 3, 2) || (!modules.pymemcache && modules.memcache && !djangoAtLeast(django, 4, 1));
  if (legacy) {
    if (djangoAtLeast(django, 4, 1)) throw new Error(`Django ${django} has no MemcachedCache`);
    const backend = 'django.core.cache.backends.memcached.MemcachedCache';
    return {
      block: [
        ['SESSION_ENGINE', 'django.contrib.sessions.backends.cache'],
        ['CACHES', { default: { BACKEND: backend, LOCATION: servers } }],
      ],
      expect: { sessionEngine: 'django.contrib.sessions.backends.cache', cacheBackend: backend, location: servers },
    };
  }
  const backend = 'django.core.cache.backends.memcached.PyMemcacheCache';
  return {
    block: [
      ['SESSION_ENGINE', 'django.contrib.sessions.backends.cache'],
      ['CACHES', { default: { BACKEND: backend, LOCATION: servers, OPTIONS: { ignore_exc: true } } }],
    ],
    expect: { sessionEngine: 'django.contrib.sessions.backends.cache', cacheBackend: backend, location: servers },
    library: PYMEMCACHE,
  };
}

interface CheckAnswer {
  servers: { server: string; ok: boolean; version?: string; error?: string; has?: boolean }[];
}

export function memcachedTarget(servers: string[]): BackendTarget {
  const check: ContainerCheck = {
    script: 'memcached_check.py',
    input: {
      servers: servers.map((s) => {
        const { host, port } = splitHostPort(s, 11211);
        return [host, port];
      }),
    },
  };
  return {
    name: 'memcached',
    where: `memcached at ${servers.join(', ')}`,
    owns: ['SESSION_ENGINE', 'CACHES'],
    settingsFor: (django, modules) => memcachedSettings(servers, django, modules),
    reachCheck: check,
    reached(host, answer) {
      const down = (answer as CheckAnswer).servers.filter((s) => !s.ok);
      if (down.length) {
        throw new HostError(host, `memcached not reachable from the horizon container: ${down.map((s) => `${s.server} (${s.error})`).join(', ')}`);
      }
      return `ok: ${(answer as CheckAnswer).servers.map((s) => `${s.server} memcached ${s.version}`).join(', ')} answered from the container`;
    },
    async holds(ctx, { cacheKey }) {
      if (!cacheKey) return false;
      return (await runCheck<CheckAnswer>(ctx, check, { key: cacheKey })).servers.some((s) => s.has);
    },
  };
}
