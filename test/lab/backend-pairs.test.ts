/**
 * Every ordered pair of backends, on both flavours, in one tour that takes each of the 12 pairs
 * exactly once (an Eulerian circuit of memcached, Redis, database, cookie). After every hop, Django
 * in each container resolves the new backend and the backend itself holds a session saved through
 * Django (redis-cli, memcached's own protocol, a row in django_session; for cookies, another host
 * reads the signed cookie).
 */
import test from 'ava';
import { allBackendsInventory, cli, djangoPython, docker, labsFor, labWheelhouse, memcachedHas, redisCli, skipUnlessRuns } from './harness.js';
import { labReset, type LabInfo } from './lab.js';
import type { SwitchReport } from '../../src/report/types.js';

type Backend = 'memcached' | 'redis' | 'database' | 'cookie';
// Starts from the lab's memcached: M->R->D->C->M->D->R->C->D->M->C->R->M.
const TOUR: Backend[] = ['redis', 'database', 'cookie', 'memcached', 'database', 'redis', 'cookie', 'database', 'memcached', 'cookie', 'redis', 'memcached'];

const EXPECT: Record<Backend, { engine: string; cache?: string }> = {
  memcached: { engine: 'django.contrib.sessions.backends.cache', cache: 'django.core.cache.backends.memcached.PyMemcacheCache' },
  redis: { engine: 'django.contrib.sessions.backends.cache', cache: 'django_redis.cache.RedisCache' },
  database: { engine: 'django.contrib.sessions.backends.db' },
  cookie: { engine: 'django.contrib.sessions.backends.signed_cookies' },
};

skipUnlessRuns(test, 'backend-pairs');

/** A session saved through Django on the last host; where it must now be found, checked at the source. */
async function sessionLandsIn(lab: LabInfo, backend: Backend): Promise<boolean> {
  const saved = JSON.parse(
    await djangoPython(
      lab.hosts.at(-1)!.container,
      "from django.conf import settings\nfrom importlib import import_module\ns = import_module(settings.SESSION_ENGINE).SessionStore(); s['p'] = 'pair'; s.save()\n" +
        "from django.core.cache import cache\nprint(json.dumps({'key': s.session_key, 'cache': cache.make_key(s.cache_key) if hasattr(s, 'cache_key') else None}))",
    ),
  ) as { key: string; cache: string | null };
  switch (backend) {
    case 'redis':
      return (await redisCli(lab, ['EXISTS', saved.cache!])) === '1';
    case 'memcached':
      return memcachedHas(lab, saved.cache!);
    case 'database':
      return (await docker(['exec', `sessionctl-${lab.name}-mariadb`, 'mariadb', '-N', '-B', 'horizon', '-e', `SELECT COUNT(*) FROM django_session WHERE session_key = '${saved.key.replace(/[^a-z0-9]/g, '')}'`])).trim() === '1';
    case 'cookie':
      return (await djangoPython(lab.hosts[0]!.container, `from django.conf import settings\nfrom importlib import import_module\nprint(import_module(settings.SESSION_ENGINE).SessionStore(session_key=${JSON.stringify(saved.key)}).get('p'))`)) === 'pair';
  }
}

// Once (see MATRIX): the switches on the other flavours are covered by apply-*, carry and the guide.
for (const lab of labsFor('backend-pairs')) {
  test.serial(`${lab.name}: all 12 ordered backend pairs, each verified by Django and by the backend itself`, async (t) => {
    // 36 restarts, each recompressing: more than ava's default wait for a result.
    t.timeout(40 * 60_000);
    await labReset(lab.name);
    const inv = allBackendsInventory(lab, await labWheelhouse());
    let from: Backend = 'memcached';
    for (const to of TOUR) {
      const res = await cli(['apply', '-i', inv, '--backend', to, '--allow-insecure-cookie-sessions', '--yes', '--json']);
      t.is(res.code, 0, `${from} -> ${to}: ${res.stderr}`);
      const report = JSON.parse(res.stdout) as SwitchReport;
      t.is(report.outcome, 'applied', `${from} -> ${to}`);
      for (const h of lab.hosts) {
        const truth = JSON.parse(await djangoPython(h.container, "from django.conf import settings as s\nprint(json.dumps([s.SESSION_ENGINE, s.CACHES['default']['BACKEND']]))")) as [string, string];
        t.is(truth[0], EXPECT[to].engine, `${from} -> ${to} on ${h.name}`);
        if (EXPECT[to].cache) t.is(truth[1], EXPECT[to].cache, `${from} -> ${to} on ${h.name}`);
      }
      t.true(await sessionLandsIn(lab, to), `${from} -> ${to}: a session saved through Django is in ${to}`);
      from = to;
    }
  });

  test.after.always(`${lab.name}: reset the lab`, async () => {
    await labReset(lab.name);
  });
}
