/** Each backend's read-only check from inside the container: its script and input, and how its answer is judged. */
import test from 'ava';
import { memcachedTarget } from '../../../src/backends/memcached.js';
import { redisBackend, redisTarget } from '../../../src/backends/redis.js';
import { databaseTarget, type DatabaseTarget } from '../../../src/backends/database.js';
import { cookieTarget } from '../../../src/backends/cookie.js';
import { HostError } from '../../../src/errors.js';
import type { RedisConfig } from '../../../src/inventory/types.js';

test('backend checks judge the answer from the container: ok, or a HostError naming the host and why', (t) => {
  const mc = memcachedTarget(['10.0.0.1:11211', '10.0.0.2:11211']);
  t.deepEqual(mc.reachCheck, { script: 'memcached_check.py', input: { servers: [['10.0.0.1', 11211], ['10.0.0.2', 11211]] } });
  t.is(mc.reached('dash1', { servers: [{ server: '10.0.0.1:11211', ok: true, version: '1.6.21' }] }), 'ok: 10.0.0.1:11211 memcached 1.6.21 answered from the container');
  const down = t.throws(() => mc.reached('dash1', { servers: [{ server: '10.0.0.2:11211', ok: false, error: 'timed out' }] }), { instanceOf: HostError });
  t.is(down!.message, 'dash1: memcached not reachable from the horizon container: 10.0.0.2:11211 (timed out)');

  const redis = redisBackend(redisTarget({ url: 'redis://10.0.0.50:6379/0' } as RedisConfig, 's3cret'));
  t.is(redis.reachCheck?.script, 'redis_check.py');
  t.is(redis.reachCheck?.input.password, 's3cret', 'the password travels in the input (stdin), never in argv');
  t.regex(redis.reached('dash2', { ok: true, version: '7.0.15', role: 'master' }), /Redis 7\.0\.15 \(master\) answered PING/);
  // The server says which it is, and whether sessions outlive its restart.
  const rdb = { aof: false, rdb: '3600 1 300 100 60 10000' };
  t.is(
    redis.reached('dash2', { ok: true, server: 'valkey', version: '8.1.1', role: 'master', persistence: rdb }),
    'ok: Valkey 8.1.1 (master) answered PING from the container; sessions survive its restart (RDB save 3600 1 300 100 60 10000; AOF off)',
  );
  t.regex(redis.reached('dash2', { ok: true, server: 'redis', version: '7.0.15', role: 'master', persistence: { aof: true, rdb: '' } }), /^ok: Redis 7\.0\.15 .*; sessions survive its restart \(no RDB save points; AOF on\)$/);
  t.regex(redis.reached('dash2', { ok: true, version: '7.0.15', role: 'master', persistence: { aof: false, rdb: '' } }), /; sessions are lost when it restarts \(no RDB save points, AOF off\)$/);
  const hidden = { aof: false, rdb: null, hidden: "NoPermissionError: this user has no permissions to run the 'config|get' command" };
  t.regex(
    redis.reached('dash2', { ok: true, version: '7.0.15', role: 'master', persistence: hidden }),
    /; whether sessions survive its restart is unknown: AOF off, and the RDB save points are hidden \(CONFIG GET save: NoPermissionError: .*config\|get/,
  );
  // Told before the confirmation: sessions lost with a restart of the server, or no way to tell.
  t.is(redis.warning!({ ok: true, persistence: rdb }), null);
  t.is(redis.warning!({ ok: true, persistence: { aof: true, rdb: '' } }), null);
  t.is(
    redis.warning!({ ok: true, persistence: { aof: false, rdb: '' } }),
    'Redis at redis://10.0.0.50:6379/0: sessions are lost when it restarts (no RDB save points, AOF off): every user is logged out then. Turn on RDB snapshots or AOF there; session.redis.require_persistence: true refuses such a server.',
  );
  t.regex(redis.warning!({ ok: true, persistence: hidden }) ?? '', /^Redis at \S+: whether sessions survive its restart is unknown: AOF off, and the RDB save points are hidden \(CONFIG GET save: NoPermissionError.*\); session\.redis\.require_persistence: true refuses such a server\.$/);
  // session.redis.require_persistence: such a server is refused at the preflight.
  const strict = redisBackend(redisTarget({ url: 'redis://10.0.0.50:6379/0', requirePersistence: true } as RedisConfig, 's3cret'));
  t.regex(strict.reached('dash2', { ok: true, version: '7.0.15', role: 'master', persistence: rdb }), /sessions survive its restart/);
  t.throws(() => strict.reached('dash2', { ok: true, version: '7.0.15', role: 'master', persistence: { aof: false, rdb: '' } }), {
    message: 'dash2: Redis at redis://10.0.0.50:6379/0: sessions are lost when it restarts (no RDB save points, AOF off), and session.redis.require_persistence is true',
  });
  t.throws(() => strict.reached('dash2', { ok: true, version: '7.0.15', role: 'master', persistence: hidden }), { message: /: whether sessions survive its restart is unknown: .*, and session\.redis\.require_persistence is true$/ });
  t.throws(() => redis.reached('dash2', { ok: true, version: '7.0.15', role: 'slave' }), { message: /^dash2: .* is a slave, not a master/ });
  t.throws(() => redis.reached('dash2', { ok: false, error: 'AuthenticationError: invalid password' }), { message: /^dash2: .*not usable .*AuthenticationError/ });

  const db = databaseTarget({ engine: 'mysql', host: '10.0.0.60', name: 'horizon', user: 'horizon', passwordValue: 'x' } as DatabaseTarget);
  t.regex(db.reached('dash3', { ok: true, tcp_only: true }), /accepts connections \(no driver in the container yet/);
  t.throws(() => db.reached('dash3', { ok: true, can_create: false }), { message: /may not create tables/ });
  t.is(cookieTarget().reachCheck, undefined, 'signed cookies have nothing to reach');
});
