import test from 'ava';
import { djangoRedisRequirement, redisBlock, splitHostPort } from '../../../src/backends/redis.js';
import { STEPS } from '../../../src/steps/index.js';
import { checkRedisUrl } from '../../../src/backends/desired.js';

const requirements: [string, string | undefined, string][] = [
  ['3.2.19', undefined, 'django-redis>=5.0,<6'],
  ['4.1.0', undefined, 'django-redis>=5.0,<6'],
  ['4.2.16', undefined, 'django-redis>=5.4,<7'],
  ['5.2', undefined, 'django-redis>=5.4,<7'],
  ['4.2.16', '5.4.0', 'django-redis==5.4.0'],
];
for (const [django, pin, expected] of requirements) {
  test(`django-redis for Django ${django}${pin ? ` pinned ${pin}` : ''}: ${expected}`, (t) => {
    t.is(djangoRedisRequirement(django, pin), expected);
  });
}

test('Django older than 2.2 is refused', (t) => {
  t.throws(() => djangoRedisRequirement('2.1.15'), { message: /too old/ });
});

test('standalone Redis: password in OPTIONS, never in the URL', (t) => {
  const block = redisBlock({ url: 'redis://10.0.0.50:6379/0', password: 's3cret' });
  t.deepEqual(block, [
    ['SESSION_ENGINE', 'django.contrib.sessions.backends.cache'],
    ['CACHES', { default: { BACKEND: 'django_redis.cache.RedisCache', LOCATION: 'redis://10.0.0.50:6379/0', OPTIONS: { CLIENT_CLASS: 'django_redis.client.DefaultClient', PASSWORD: 's3cret' } } }],
  ]);
});

test('Sentinel: service URL, sentinel client, tuples of sentinels, connection factory', (t) => {
  const block = redisBlock({ url: 'redis://ignored:6379/2', sentinel: { service: 'mymaster', hosts: ['10.0.0.1:26379', '[fd00::2]'], password: 'sp' } });
  const caches = block[1]![1] as { default: { LOCATION: string; OPTIONS: Record<string, unknown> } };
  t.is(caches.default.LOCATION, 'redis://mymaster/2');
  t.is(caches.default.OPTIONS.CLIENT_CLASS, 'django_redis.client.SentinelClient');
  t.deepEqual(caches.default.OPTIONS.SENTINELS, [{ tuple: ['10.0.0.1', 26379] }, { tuple: ['fd00::2', 26379] }]);
  t.deepEqual(caches.default.OPTIONS.SENTINEL_KWARGS, { password: 'sp' });
  t.deepEqual(block[2], ['DJANGO_REDIS_CONNECTION_FACTORY', 'django_redis.pool.SentinelConnectionFactory']);
});

test('splitHostPort handles IPv4, names and bracketed IPv6', (t) => {
  t.deepEqual(splitHostPort('10.0.0.1:6380', 1), { host: '10.0.0.1', port: 6380 });
  t.deepEqual(splitHostPort('redis.local', 6379), { host: 'redis.local', port: 6379 });
  t.deepEqual(splitHostPort('[fd00::1]:26380', 1), { host: 'fd00::1', port: 26380 });
});

test('--redis-url: a password in it is refused (it would be in the process list)', (t) => {
  t.throws(() => checkRedisUrl('redis://:pw@10.0.0.1:6379/0'), { message: /must not contain a password/ });
  t.throws(() => checkRedisUrl('http://10.0.0.1'), { message: /must start with redis/ });
  t.notThrows(() => checkRedisUrl('rediss://10.0.0.1:6380/1'));
});
