import test from 'ava';
import { mismatches } from '../../../src/backends/effective.js';
import { redisBackend } from '../../../src/backends/redis.js';
import type { HorizonFacts } from '../../../src/facts/horizon.js';

/** Django's view of kolla-ansible 2026.1's Valkey Sentinel block (OPTIONS CONNECTION_FACTORY, tuples as lists). */
function kollaValkey(sentinels: [string, number][], factory: string | null = 'django_redis.pool.SentinelConnectionFactory'): HorizonFacts {
  return {
    python: '3.13.5', executable: '/var/lib/kolla/venv/bin/python3', horizon: '25.3.0', modules: {}, kollaConfigFiles: [], settingsD: [], managepy: null,
    settings: {
      django: '4.2.28',
      sessionEngine: 'django.contrib.sessions.backends.cache',
      cache: { backend: 'django_redis.cache.RedisCache', location: 'redis://kolla/0', options: ['CLIENT_CLASS', 'CONNECTION_FACTORY', 'PASSWORD', 'SENTINELS'], clientClass: 'django_redis.client.SentinelClient', sentinels: sentinels, connectionFactory: factory },
      database: null, security: {}, secretKeySha256: null,
    },
  };
}

const expectOf = (hosts: string[]) => redisBackend({ url: 'redis://ignored/0', password: 'pw', sentinel: { service: 'kolla', hosts } }).settingsFor('4.2.28', {}).expect;

test("Kolla's own Valkey Sentinel block is the backend asked for when service, sentinels and classes agree (any order)", (t) => {
  t.deepEqual(mismatches(expectOf(['10.0.0.2:26379', '10.0.0.1']), kollaValkey([['10.0.0.1', 26379], ['10.0.0.2', 26379]])), []);
});

test('Sentinel settings that differ in the sentinels, the client class or the factory are not "no change"', (t) => {
  t.regex(mismatches(expectOf(['10.0.0.9:26379']), kollaValkey([['10.0.0.1', 26379]])).join(), /sentinels would be \["10.0.0.1:26379"\]/);
  t.regex(mismatches(expectOf(['10.0.0.1:26379']), kollaValkey([['10.0.0.1', 26379]], null)).join(), /connection factory would be null/);
  const standalone = kollaValkey([]);
  standalone.settings!.cache.clientClass = 'django_redis.client.DefaultClient';
  t.regex(mismatches(expectOf([]), standalone).join(), /CLIENT_CLASS would be/);
});
