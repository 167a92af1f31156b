import test from 'ava';
import type { HostStatus, StatusReport } from '../../../src/report/types.js';
import { inUse, memcachedLocation, redisLocation, securityFrom } from '../../../src/guide/session.js';

const row = (host: string, more: Partial<HostStatus>): HostStatus => ({ host, address: '10.0.0.1', reachable: true, ...more });
const report = (...hosts: HostStatus[]): StatusReport => ({ hosts, warnings: [] });

test('the backend in use is what most hosts run', (t) => {
  t.is(inUse(report(row('a', { backend: 'memcached' }), row('b', { backend: 'redis' }), row('c', { backend: 'memcached' }))), 'memcached');
  t.is(inUse(report(row('a', { reachable: false }))), undefined);
});

test('memcached servers in use become the default answer, whatever shape LOCATION has', (t) => {
  const mc = (location: unknown) => report(row('a', { backend: 'memcached', cache: { backend: 'x', location } }));
  t.deepEqual(memcachedLocation(mc(['10.0.0.5:11211', '10.0.0.6:11211'])), ['10.0.0.5:11211', '10.0.0.6:11211']);
  t.deepEqual(memcachedLocation(mc('10.0.0.5:11211;10.0.0.6:11211')), ['10.0.0.5:11211', '10.0.0.6:11211']);
  t.deepEqual(memcachedLocation(mc('10.0.0.5:11211')), ['10.0.0.5:11211']);
  t.is(memcachedLocation(report(row('a', { backend: 'redis' }))), undefined);
});

test('a Redis URL in use is offered without its credentials', (t) => {
  const rd = (location: unknown) => report(row('a', { backend: 'redis', cache: { backend: 'django_redis.cache.RedisCache', location } }));
  t.is(redisLocation(rd('redis://:hunter2@10.0.0.50:6379/0')), 'redis://10.0.0.50:6379/0');
  t.is(redisLocation(rd(['redis://10.0.0.50:6379/1'])), 'redis://10.0.0.50:6379/1');
  t.is(redisLocation(rd(null)), undefined);
});

test('current expiry and cookie settings (as Django resolved them) become session.security defaults', (t) => {
  const now = report(
    row('a', {
      security: { SESSION_TIMEOUT: 3600, SESSION_REFRESH: true, SESSION_COOKIE_SECURE: false, SESSION_COOKIE_HTTPONLY: true, SESSION_COOKIE_SAMESITE: 'Lax', CSRF_COOKIE_SECURE: false, SESSION_SERIALIZER: 'x' },
    }),
  );
  t.deepEqual(securityFrom(now), { timeout: 3600, refresh: true, cookieSecure: false, cookieHttponly: true, cookieSamesite: 'Lax', csrfCookieSecure: false });
  t.deepEqual(securityFrom(report(row('a', { security: { SESSION_COOKIE_SAMESITE: 'bogus', SESSION_TIMEOUT: null } }))), {});
});
