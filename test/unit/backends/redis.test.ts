import test from 'ava';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../../../src/util/assets.js';
import { redisBackend, redisBlock, redisInput, redisTarget, serverName, splitHostPort, sslKwargs, tlsProblem } from '../../../src/backends/redis.js';
import { STEPS } from '../../../src/steps/index.js';
import { checkRedisUrl } from '../../../src/backends/desired.js';

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

const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

test('TLS: the CA travels as its text and the name check is explicit, in the settings and the container check alike', (t) => {
  const target = redisTarget({ url: 'rediss://redis.example:6380/0', tlsCa: '/pki/ca.pem' }, 'pw', undefined, CA);
  const caches = redisBlock(target)[1]![1] as { default: { LOCATION: string; OPTIONS: Record<string, unknown> } };
  const ssl = { ssl_cert_reqs: 'required', ssl_check_hostname: true, ssl_ca_data: CA };
  t.is(caches.default.LOCATION, 'rediss://redis.example:6380/0');
  t.deepEqual(caches.default.OPTIONS.CONNECTION_POOL_KWARGS, ssl);
  t.deepEqual(redisInput(target).tls, ssl);
});

test('TLS: without tls_ca the system CAs are used; tls_check_hostname: false is carried as written', (t) => {
  const target = redisTarget({ url: 'rediss://redis.example:6380/0', tlsCheckHostname: false }, undefined);
  t.deepEqual(target.tls, { checkHostname: false });
  t.deepEqual(sslKwargs(target.tls!), { ssl_cert_reqs: 'required', ssl_check_hostname: false });
});

test('TLS settings with a plain redis:// URL are refused (not silently dropped); a key needs its certificate', (t) => {
  t.throws(() => redisTarget({ url: 'redis://r:6379/0', tlsCa: '/pki/ca.pem' }, undefined, undefined, CA), { message: /tls_ca is set but the Redis URL redis:\/\/r:6379\/0 is not TLS: use rediss:\/\// });
  t.throws(() => redisTarget({ url: 'redis://r:6379/0', tlsCheckHostname: true }, undefined), { message: /tls_check_hostname is set/ });
  t.throws(() => redisTarget({ url: 'redis://r:6379/0', tlsCert: '/etc/c.pem' }, undefined), { message: /tls_cert is set but the Redis URL/ });
  t.throws(() => redisTarget({ url: 'rediss://r:6380/0', tlsKey: '/etc/k.pem' }, undefined), { message: /tls_key is set without tls_cert/ });
  t.is(redisTarget({ url: 'redis://r:6379/0' }, undefined).tls, undefined);
});

test('TLS: a client certificate and key are paths in the container, for the settings and the check alike', (t) => {
  const target = redisTarget({ url: 'rediss://r:6380/0', tlsCert: '/etc/horizon/redis.crt', tlsKey: '/etc/horizon/redis.key' }, undefined);
  const ssl = { ssl_cert_reqs: 'required', ssl_check_hostname: true, ssl_certfile: '/etc/horizon/redis.crt', ssl_keyfile: '/etc/horizon/redis.key' };
  t.deepEqual((redisBlock(target)[1]![1] as { default: { OPTIONS: Record<string, unknown> } }).default.OPTIONS.CONNECTION_POOL_KWARGS, ssl);
  t.deepEqual(redisInput(target).tls, ssl);
});

test('TLS through Sentinel: LOCATION names the service over redis://, ssl for the master\'s pool and the sentinels (with their password)', (t) => {
  const target = redisTarget({ url: 'rediss://ignored:6380/2', tlsCa: '/pki/ca.pem', sentinel: { service: 'kolla', hosts: ['10.0.0.5:26380'] } }, 'pw', 'sp', CA);
  const caches = redisBlock(target)[1]![1] as { default: { LOCATION: string; OPTIONS: Record<string, unknown> } };
  const ssl = { ssl_cert_reqs: 'required', ssl_check_hostname: true, ssl_ca_data: CA };
  t.is(caches.default.LOCATION, 'redis://kolla/2');
  t.deepEqual(caches.default.OPTIONS.CONNECTION_POOL_KWARGS, { ssl: true, ...ssl });
  t.deepEqual(caches.default.OPTIONS.SENTINEL_KWARGS, { ssl: true, ...ssl, password: 'sp' });
  t.is(caches.default.OPTIONS.PASSWORD, 'pw');
  t.deepEqual(redisInput(target).tls, ssl);
});

const tls = { caFile: '/pki/ca.pem', checkHostname: true };
const tlsCases: [string, string, RegExp | undefined][] = [
  ['IP address mismatch', "ConnectionError: Error 1 connecting to 10.0.0.5:6380. [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: IP address mismatch, certificate is not valid for '10.0.0.5'. (_ssl.c:1006).", /does not name the host of the URL/],
  ['host name mismatch', "ConnectionError: Error 1 connecting to r:6380. [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: Hostname mismatch, certificate is not valid for 'r'.", /does not name the host/],
  ['another CA', 'ConnectionError: Error 1 connecting to r:6380. [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate (_ssl.c:992).', /not trusted by the CA in tls_ca \(\/pki\/ca\.pem\)/],
  ['a plain port', 'ConnectionError: Error 1 connecting to r:6379. [SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:992).', /does not speak TLS on this port/],
  ['a plain Redis port (it waits for the rest of a command)', 'TimeoutError: Timeout connecting to server', /no TLS handshake within 5 s: is this the server's TLS port/],
  ['not a TLS error', 'AuthenticationError: invalid username-password pair', undefined],
  ['the server wants a client certificate', 'ConnectionError: Error while reading from r:6380 : [SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] tlsv13 alert certificate required (_ssl.c:2648)', /asks for a client certificate: set tls_cert/],
  // Seen on zed (Python 3.11, redis-py 4.3): the write raced the server's alert.
  ['the server wants a client certificate, its alert lost to the EOF', 'ConnectionError: Error 8 while writing to socket. EOF occurred in violation of protocol (_ssl.c:2393).', /as one that asks for a client certificate does: set tls_cert/],
];
for (const [name, error, expected] of tlsCases) {
  test(`tlsProblem: ${name}`, (t) => {
    const got = tlsProblem(error, tls);
    if (expected) t.regex(got ?? '', expected);
    else t.is(got, undefined);
  });
}

test('tlsProblem: no TLS configured, no TLS reading of the error', (t) => {
  t.is(tlsProblem('[SSL: CERTIFICATE_VERIFY_FAILED]', undefined), undefined);
  t.regex(tlsProblem('[SSL: CERTIFICATE_VERIFY_FAILED] x', { checkHostname: true }) ?? '', /system CAs \(no tls_ca\)/);
});

test('Sentinel: the served-session proof waits out a failover (settleMs); a standalone server gets no such wait', (t) => {
  t.is(redisBackend(redisTarget({ url: 'redis://m/0', sentinel: { service: 'm', hosts: ['s:26379'] } }, undefined)).settleMs, 30_000);
  t.is(redisBackend(redisTarget({ url: 'redis://r:6379/0' }, undefined)).settleMs, undefined);
});

test('Cluster: sessionctl\'s connection factory, the startup nodes in OPTIONS, one database only, not with Sentinel', (t) => {
  const target = redisTarget({ url: 'redis://10.0.0.1:7000/0', cluster: { nodes: ['10.0.0.1:7000', '10.0.0.2:7000', '10.0.0.3:7000'] } }, 'pw');
  const block = redisBlock(target);
  const caches = block[1]![1] as { default: { LOCATION: string; OPTIONS: Record<string, unknown> } };
  t.is(caches.default.LOCATION, 'redis://10.0.0.1:7000/0');
  t.deepEqual(caches.default.OPTIONS.CLUSTER_NODES, ['10.0.0.1:7000', '10.0.0.2:7000', '10.0.0.3:7000']);
  t.deepEqual(block[2], ['DJANGO_REDIS_CONNECTION_FACTORY', 'sessionctl_redis_cluster.ClusterConnectionFactory']);
  t.deepEqual(redisInput(target).cluster, { nodes: [['10.0.0.1', 7000], ['10.0.0.2', 7000], ['10.0.0.3', 7000]] });
  t.throws(() => redisTarget({ url: 'redis://10.0.0.1:7000/2', cluster: { nodes: ['10.0.0.1:7000'] } }, undefined), { message: /a Redis Cluster has only database 0/ });
  t.throws(() => redisTarget({ url: 'redis://m/0', cluster: { nodes: ['10.0.0.1:7000'] }, sentinel: { service: 'm', hosts: ['s:26379'] } }, undefined), { message: /cluster and sentinel exclude each other/ });
});

test("Cluster: the own module's version in the plan is the one its source declares", (t) => {
  const own = redisBackend(redisTarget({ url: 'redis://10.0.0.1:7000/0', cluster: { nodes: ['10.0.0.1:7000'] } }, undefined)).settingsFor('4.2', {}).ownModule!;
  const source = readFileSync(path.join(ROOT, own.source), 'utf8');
  t.is(/^__version__ = "([^"]+)"$/m.exec(source)?.[1], own.version);
  t.is(path.basename(own.source, '.py'), own.module);
});

test('a cluster is named with its masters, in the plan and in status', (t) => {
  t.is(serverName({ server: 'redis', version: '7.0.15', masters: 3 }), 'Redis 7.0.15 cluster (3 masters)');
  const target = redisBackend(redisTarget({ url: 'redis://10.0.0.1:7000/0', cluster: { nodes: ['10.0.0.1:7000'] } }, undefined));
  t.is(
    target.reached('dash1', { ok: true, server: 'redis', version: '7.0.15', masters: 3, persistence: { aof: true, rdb: '' } }),
    'ok: Redis 7.0.15 cluster (3 masters), every slot served, answered PING from the container; sessions survive its restart (no RDB save points; AOF on)',
  );
});
