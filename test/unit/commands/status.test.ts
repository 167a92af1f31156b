import test from 'ava';
import { buildStatus, statusExitCode } from '../../../src/commands/status.js';
import type { HostFacts } from '../../../src/facts/gather.js';
import type { HostConfig } from '../../../src/inventory/types.js';
import { renderStatus } from '../../../src/report/status.js';
import { renderTable } from '../../../src/report/table.js';

const host = (name: string): HostConfig => ({
  name, address: '10.0.0.1', port: 22, user: 'root', knownHosts: '/k', become: false, container: 'horizon', role: 'dashboard',
  layout: 'auto', configDir: '/etc/kolla/horizon', healthUrl: 'http://127.0.0.1/auth/login/', connectTimeout: 15, commandTimeout: 300,
});

const healthy = (name: string, secret: string, location = ['10.0.0.5:11211']): HostFacts => ({
  host: host(name),
  reachable: true,
  engineVia: 'api',
  container: { id: 'i', name: 'horizon', image: 'img', imageId: 's', state: 'running', health: 'healthy', startedAt: '', restartCount: 0, mounts: [] },
  layout: { layout: 'kolla-local-settings-d', configDir: '/etc/kolla/horizon', customFile: '/etc/kolla/horizon/_9999-custom-settings.py' },
  horizon: {
    python: '3.11.2', executable: '/usr/bin/python3', horizon: '23.0.0', managepy: null, kollaConfigFiles: [], settingsD: [],
    modules: { django_redis: null, pymysql: '1.0.2', psycopg2: null, pymemcache: '4.0.0' },
    settings: {
      django: '3.2.19', sessionEngine: 'django.contrib.sessions.backends.cache',
      cache: { backend: 'django.core.cache.backends.memcached.PyMemcacheCache', location, options: [] },
      database: null, security: {}, secretKeySha256: secret,
    },
  },
});

test('same SECRET_KEY and backend everywhere: no warning, exit 0', (t) => {
  const facts = [healthy('a', 'k1'), healthy('b', 'k1')];
  const report = buildStatus(facts);
  t.deepEqual(report.warnings, []);
  t.is(report.hosts[0]?.backend, 'memcached');
  t.is(report.hosts[0]?.imports?.mysql, 'pymysql 1.0.2');
  t.is(statusExitCode(facts), 0);
});

test('SECRET_KEY differing between hosts is warned about, naming the hosts', (t) => {
  const report = buildStatus([healthy('a', 'k1'), healthy('b', 'k2'), healthy('c', 'k1')]);
  t.true(report.warnings.some((w) => w.includes('SECRET_KEY differs') && w.includes('a,c: k1') && w.includes('b: k2')));
});

test('hosts on different memcached servers are warned about', (t) => {
  const report = buildStatus([healthy('a', 'k'), healthy('b', 'k', ['10.9.9.9:11211'])]);
  t.true(report.warnings.some((w) => w.includes('do not share one session backend')));
});

test('an unreachable host gives exit 4 even when another failed; a failed host alone gives 2', (t) => {
  const down: HostFacts = { host: host('x'), reachable: false, error: { kind: 'unreachable', message: 'connection refused' } };
  const broken: HostFacts = { host: host('y'), reachable: true, error: { kind: 'failed', message: "no container named 'horizon'" } };
  t.is(statusExitCode([healthy('a', 'k'), down, broken]), 4);
  t.is(statusExitCode([healthy('a', 'k'), broken]), 2);
  const text = renderStatus(buildStatus([healthy('a', 'k'), down]));
  t.regex(text, /x\s+UNREACHABLE/);
  t.regex(text, /Errors:\n {2}x: connection refused/);
});

test('renderTable aligns columns', (t) => {
  t.is(renderTable(['A', 'BB'], [['xxx', 'y'], ['z', 'w']]), 'A    BB\nxxx  y\nz    w');
});
