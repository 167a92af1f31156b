import test from 'ava';
import { memcachedSettings } from '../../../src/backends/memcached.js';

const servers = ['10.0.0.1:11211', '[fd00::1]:11211'];

const cases: [string, string, Record<string, string | null>, string, boolean][] = [
  ['Django 3.2 with pymemcache', '3.2.25', { pymemcache: '3.5.2', memcache: '1.58' }, 'PyMemcacheCache', true],
  ['Django 3.2 with only python-memcached', '3.2.25', { pymemcache: null, memcache: '1.58' }, 'MemcachedCache', false],
  ['Django 3.2 with neither (pymemcache gets installed)', '3.2.25', { pymemcache: null, memcache: null }, 'PyMemcacheCache', true],
  ['Django 4.2 with only python-memcached (MemcachedCache is gone)', '4.2.16', { pymemcache: null, memcache: '1.58' }, 'PyMemcacheCache', true],
  ['Django 3.1 (no PyMemcacheCache yet)', '3.1.14', { pymemcache: '3.5.2', memcache: '1.58' }, 'MemcachedCache', false],
];
for (const [title, django, modules, cls, needsPymemcache] of cases) {
  test(`memcached: ${title} -> ${cls}`, (t) => {
    const s = memcachedSettings(servers, django, modules);
    const caches = s.block[1]![1] as { default: { BACKEND: string; LOCATION: string[]; OPTIONS?: Record<string, unknown> } };
    t.is(caches.default.BACKEND, `django.core.cache.backends.memcached.${cls}`);
    t.deepEqual(caches.default.LOCATION, servers, 'IPv6 servers keep their brackets');
    t.is(s.expect.cacheBackend, caches.default.BACKEND);
    t.is(Boolean(s.library), needsPymemcache);
    if (cls === 'PyMemcacheCache') t.deepEqual(caches.default.OPTIONS, { ignore_exc: true }, 'one dead node does not take Horizon down');
  });
}
