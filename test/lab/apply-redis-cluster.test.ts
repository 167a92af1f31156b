/**
 * Redis Cluster (issue 16): memcached -> a 3-master cluster -> memcached, sessions carried both
 * ways. Checked apart from sessionctl: Django in every container (its settings and the sessions it
 * reads), and the cluster itself (every master holds a share of the keys; redis-cli -c finds a
 * session saved through Django).
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { cli, djangoPython, fleetSnapshot, horizonSessions, journalShows, labInventory, labsFor, labWheelhouse, memcachedAsk, runs, scratch, skipUnlessRuns } from './harness.js';
import { clusterCli, labReset, type LabInfo } from './lab.js';
import type { StatusReport, SwitchReport } from '../../src/report/types.js';

skipUnlessRuns(test, 'apply-redis-cluster', 'apply-redis-cluster:node-restart', 'apply-redis-cluster:tls');

const SETTINGS = ['/etc/kolla/horizon/_9999-custom-settings.py', '/etc/kolla/horizon/_9998-kolla-settings.py'];

/** The lab cluster as a target: its plain ports, or with `tlsCa` its TLS ports checked against that CA. */
function inventory(lab: LabInfo, wheelhouse: string, tlsCa?: string): string {
  const { cluster, memcached } = lab.services;
  const port = (n: { port: number }) => (tlsCa ? cluster.tlsPort : n.port);
  const [first] = cluster.nodes;
  const url = `${tlsCa ? 'rediss' : 'redis'}://${first!.ip}:${port(first!)}/0`;
  return labInventory(lab, scratch(), {
    extra: [
      'session:',
      `  redis: { url: "${url}", password_file: "${cluster.passwordFile}", cluster: { nodes: [${cluster.nodes.map((n) => `"${n.ip}:${port(n)}"`).join(', ')}] }${tlsCa ? `, tls_ca: "${tlsCa}"` : ''} }`,
      `  memcached: { servers: ["${memcached.ip}:${memcached.port}"] }`,
      `install: { method: wheelhouse, wheelhouse: "${wheelhouse}" }`,
    ].join('\n'),
  });
}

async function readAll(t: import('ava').ExecutionContext, lab: LabInfo, made: [string, string, number, number][], engine: string) {
  const keys = made.map(([key]) => key);
  for (const h of lab.hosts) {
    const read = await horizonSessions(h.container, { op: 'read', keys });
    t.is(read.cache, engine, `${h.name}: Django resolves ${engine}`);
    const lost = made.filter(([key, value]) => read.found![key]![0] !== value).length;
    t.is(lost, 0, `${h.name}: ${lost} of ${keys.length} sessions not readable`);
  }
}

for (const lab of labsFor('apply-redis-cluster', 'apply-redis-cluster:node-restart', 'apply-redis-cluster:tls')) {
  if (runs('apply-redis-cluster', lab)) test.serial(`${lab.name}: memcached -> Redis Cluster -> memcached: every session carried both ways, every master holds a share`, async (t) => {
    await labReset(lab.name);
    for (let i = 0; i < lab.services.cluster.nodes.length; i++) await clusterCli(lab, i, ['FLUSHALL']);
    const inv = inventory(lab, await labWheelhouse());
    const made = (await horizonSessions(lab.hosts[1]!.container, { op: 'create', n: 300, token: 'cluster', ttl: 900, step: 2 })).sessions!;

    const into = await cli(['apply', '-i', inv, '--backend', 'redis', '--yes', '--json']);
    const report = JSON.parse(into.stdout) as SwitchReport;
    t.is(into.code, 0, `${report.error}\n${into.stderr.slice(-3000)}`);
    t.true(report.sessionsCarried![0]!.carried >= 300 && report.sessionsCarried!.every((p) => p.failed === 0), JSON.stringify(report.sessionsCarried));
    for (const h of lab.hosts) {
      const truth = JSON.parse(await djangoPython(h.container, "from django.conf import settings as s\nimport sessionctl_redis_cluster as m\nc = s.CACHES['default']\nprint(json.dumps([s.DJANGO_REDIS_CONNECTION_FACTORY, c['OPTIONS']['CLUSTER_NODES'], m.__version__]))"));
      t.deepEqual(truth, ['sessionctl_redis_cluster.ClusterConnectionFactory', lab.services.cluster.nodes.map((n) => `${n.ip}:${n.port}`), '1.0.0'], h.name);
    }
    await readAll(t, lab, made, 'django_redis.cache.RedisCache');
    // In the cluster itself: the sessions are spread over every master, and redis-cli -c follows a key to its master.
    const sizes = await Promise.all(lab.services.cluster.nodes.map((_, i) => clusterCli(lab, i, ['DBSIZE'])));
    t.true(sizes.every((n) => Number(n) > 0), `keys per master: ${sizes.join(', ')}`);
    t.true(sizes.reduce((a, n) => a + Number(n), 0) >= 300);
    const saved = await djangoPython(lab.hosts[2]!.container, "from django.contrib.sessions.backends.cache import SessionStore\nfrom django.core.cache import cache\ns = SessionStore(); s['x'] = 1; s.save()\nprint(cache.make_key(s.cache_key))");
    t.is(await clusterCli(lab, 0, ['-c', 'EXISTS', saved]), '1', 'a session Django saved is in the cluster');
    // status asks the cluster through Django's own client: every master's persistence (AOF on in the lab).
    const status = JSON.parse((await cli(['status', '-i', inv, '--json'])).stdout) as StatusReport;
    for (const h of status.hosts) t.regex(h.persistence?.detail ?? '', /^Redis \d+\.\d+\.\d+ cluster \(3 masters\): sessions survive its restart \(.*AOF on\)$/, h.host);

    // Out again, with memcached emptied first: every session can only come from the cluster's masters.
    await memcachedAsk(lab, 'flush_all');
    const out = await cli(['apply', '-i', inv, '--backend', 'memcached', '--yes', '--json']);
    const back = JSON.parse(out.stdout) as SwitchReport;
    t.is(out.code, 0, `${back.error}\n${out.stderr.slice(-3000)}`);
    t.true(back.sessionsCarried![0]!.carried >= 300 && back.sessionsCarried!.every((p) => p.failed === 0), JSON.stringify(back.sessionsCarried));
    await readAll(t, lab, made, 'django.core.cache.backends.memcached.PyMemcacheCache');
  });

  if (runs('apply-redis-cluster:node-restart', lab)) test.serial(`${lab.name}: a cluster node restarts during the carry-over: no session lost, what failed to copy is counted and copied again; all of them carried out again`, async (t) => {
    await labReset(lab.name);
    for (let i = 0; i < lab.services.cluster.nodes.length; i++) await clusterCli(lab, i, ['FLUSHALL']);
    const made = (await horizonSessions(lab.hosts[1]!.container, { op: 'create', n: 5000, token: 'restart', ttl: 900, step: 1 })).sessions!;
    const state = scratch('sessionctl-state-');
    const started = Date.now();
    const running = cli(['apply', '-i', inventory(lab, await labWheelhouse()), '--backend', 'redis', '--state-dir', state, '--yes', '--json']);
    // Every settings file is written: the carry-over starts now. The node restarts in place
    // (DEBUG RESTART: the same container, its AOF reloaded).
    const restarted = (async () => {
      for (const h of lab.hosts) if (!(await journalShows(state, new RegExp(`"step":"patch-settings","host":"${h.name}","outcome":"changed"`)))) return false;
      await clusterCli(lab, 1, ['DEBUG', 'RESTART']).catch(() => '');
      return true;
    })();
    const [res, didRestart] = await Promise.all([running, restarted]);
    const report = JSON.parse(res.stdout) as SwitchReport;
    t.true(didRestart);
    t.is(res.code, 0, `${report.error}\n${res.stderr.slice(-3000)}`);
    const uptime = Number(/uptime_in_seconds:(\d+)/.exec(await clusterCli(lab, 1, ['INFO', 'server']))?.[1]);
    t.true(uptime * 1000 < Date.now() - started, `the node restarted during the run (up ${uptime} s)`);
    const [first, second] = report.sessionsCarried!;
    t.log(JSON.stringify(report.sessionsCarried));
    t.is(first!.carried + first!.failed + first!.newer + first!.unchanged + first!.expired, first!.live, 'every live session of the first pass is accounted for');
    t.is(second!.failed, 0, 'the second pass copied what the first could not');
    t.true(second!.carried >= first!.failed);
    await readAll(t, lab, made, 'django_redis.cache.RedisCache');
    // status names sessionctl's own module among the session's libraries: in the container layer, so a recreated container lacks it.
    const status = JSON.parse((await cli(['status', '-i', inventory(lab, await labWheelhouse()), '--json'])).stdout) as StatusReport;
    for (const h of status.hosts) t.true(h.libraries?.some((l) => l.module === 'sessionctl_redis_cluster' && l.origin === 'container layer'), `${h.host}: ${JSON.stringify(h.libraries)}`);

    // Out again, with memcached emptied first: every session can only come from the cluster's masters (each SCANned).
    await memcachedAsk(lab, 'flush_all');
    const out = await cli(['apply', '-i', inventory(lab, await labWheelhouse()), '--backend', 'memcached', '--state-dir', state, '--yes', '--json']);
    const back = JSON.parse(out.stdout) as SwitchReport;
    t.is(out.code, 0, `${back.error}\n${out.stderr.slice(-3000)}`);
    t.true(back.sessionsCarried![0]!.carried >= made.length && back.sessionsCarried!.every((p) => p.failed === 0), JSON.stringify(back.sessionsCarried));
    await readAll(t, lab, made, 'django.core.cache.backends.memcached.PyMemcacheCache');
  });

  if (runs('apply-redis-cluster:tls', lab)) test.serial(`${lab.name}: Redis Cluster over TLS: another CA refused with nothing changed; then sessions carried in, Django talking TLS to every master`, async (t) => {
    await labReset(lab.name);
    for (let i = 0; i < lab.services.cluster.nodes.length; i++) await clusterCli(lab, i, ['FLUSHALL']);
    const { tls } = lab.services.redis;
    const wheelhouse = await labWheelhouse();
    const before = await fleetSnapshot(lab, SETTINGS);
    const refused = await cli(['apply', '-i', inventory(lab, wheelhouse, tls.otherCa), '--backend', 'redis', '--yes', '--json']);
    t.is(refused.code, 2, refused.stderr + refused.stdout);
    t.regex((JSON.parse(refused.stdout) as SwitchReport).error ?? '', /not trusted by the CA in tls_ca \(.*other-ca\.pem\)/);
    t.deepEqual(await fleetSnapshot(lab, SETTINGS), before, 'every settings file byte-identical, Horizon not restarted or reloaded');

    const made = (await horizonSessions(lab.hosts[1]!.container, { op: 'create', n: 100, token: 'cluster-tls', ttl: 900, step: 2 })).sessions!;
    const res = await cli(['apply', '-i', inventory(lab, wheelhouse, tls.ca), '--backend', 'redis', '--yes', '--json']);
    const report = JSON.parse(res.stdout) as SwitchReport;
    t.is(res.code, 0, `${report.error}\n${res.stderr.slice(-3000)}`);
    t.true(report.sessionsCarried![0]!.carried >= made.length && report.sessionsCarried!.every((p) => p.failed === 0), JSON.stringify(report.sessionsCarried));
    const ca = readFileSync(tls.ca, 'utf8');
    for (const h of lab.hosts) {
      // What Django's own client is connected to: every master, each over TLS (an SSLConnection in its pool).
      const truth = JSON.parse(await djangoPython(h.container, "from django.core.cache import cache\nc = cache.client.get_client()\nc.ping()\nfrom django.conf import settings\nprint(json.dumps([settings.CACHES['default']['OPTIONS']['CONNECTION_POOL_KWARGS'], sorted({'%s:%s %s' % (n.host, n.port, type(n.redis_connection.connection_pool.make_connection()).__name__) for n in c.get_primaries()})]))"));
      t.deepEqual(truth, [{ ssl_cert_reqs: 'required', ssl_check_hostname: true, ssl_ca_data: ca }, lab.services.cluster.nodes.map((n) => `${n.ip}:${lab.services.cluster.tlsPort} SSLConnection`).sort()], h.name);
    }
    await readAll(t, lab, made, 'django_redis.cache.RedisCache');
  });

  test.after.always(`${lab.name}: reset the lab`, async () => {
    await labReset(lab.name);
  });
}
