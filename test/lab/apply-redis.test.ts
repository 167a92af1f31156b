/**
 * The main job on the real lab: memcached -> Redis on every host, with plan first, then apply,
 * then a second apply that must change nothing. Outcomes are checked with Django inside each
 * container and with redis-cli on the Redis server, never with sessionctl's own report alone.
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cli, djangoPython, djangoSettings, horizonStartedAt, hostFileBytes, labsFor, labWheelhouse, onHost, redisCli, redisInventory, runs, scratch, servingPids, skipUnlessRuns } from './harness.js';
import { labReset, type LabInfo } from './lab.js';
import type { StatusReport, SwitchReport } from '../../src/report/types.js';

const CUSTOM = '/etc/kolla/horizon/_9999-custom-settings.py';

skipUnlessRuns(test, 'apply-redis', 'apply-redis:plan');

function redisUrl(lab: LabInfo): string {
  return `redis://${lab.services.redis.ip}:${lab.services.redis.port}/0`;
}


async function snapshot(lab: LabInfo) {
  return Promise.all(lab.hosts.map(async (h) => ({ file: await hostFileBytes(h.container, CUSTOM), started: await horizonStartedAt(h.container), serving: await servingPids(h.container) })));
}

for (const lab of labsFor('apply-redis', 'apply-redis:plan')) {
  if (runs('apply-redis:plan', lab)) test.serial(`${lab.name}: plan shows the diff per host and changes nothing`, async (t) => {
    await labReset(lab.name);
    const before = await snapshot(lab);
    const res = await cli(['plan', '-i', redisInventory(lab, await labWheelhouse()), '--json']);
    t.is(res.code, 0, res.stderr);
    const report = JSON.parse(res.stdout) as SwitchReport;
    t.is(report.outcome, 'planned');
    for (const h of report.hosts) {
      t.regex(h.diff ?? '', /^\+CACHES = \{'default': \{'BACKEND': 'django_redis\.cache\.RedisCache'/m);
      t.notRegex(h.diff ?? '', new RegExp(readPassword(lab)), 'the Redis password never shows in a diff');
      t.is(h.before, 'memcached');
    }
    t.deepEqual(await snapshot(lab), before, 'no file written, no container restarted');
    for (const h of lab.hosts) t.is((await djangoSettings(h.container)).backend, 'django.core.cache.backends.memcached.PyMemcacheCache');
    // What the server itself says: Redis, no save points, no AOF (the lab's Redis keeps nothing).
    const [version, save, aof] = [(await redisCli(lab, ['INFO', 'server'])).match(/redis_version:(\S+)/)![1]!, await redisCli(lab, ['CONFIG', 'GET', 'save']), await redisCli(lab, ['CONFIG', 'GET', 'appendonly'])];
    t.deepEqual([save.split('\n')[1] ?? '', aof.split('\n')[1]], ['', 'no']);
    for (const h of report.hosts) {
      t.is(h.steps.find((s) => s.step === 'backend-reachable')?.detail, `ok: Redis ${version} (master) answered PING from the container; sessions are lost when it restarts (no RDB save points, AOF off)`, h.host);
    }
    t.is(report.warnings.filter((w) => /: sessions are lost when it restarts \(no RDB save points, AOF off\): every user is logged out then/.test(w)).length, 1, report.warnings.join('\n'));
    // session.redis.require_persistence makes it a refusal at the preflight.
    const strict = await cli(['plan', '-i', redisInventory(lab, await labWheelhouse(), { redisKeys: 'require_persistence: true' }), '--json']);
    t.is(strict.code, 2, strict.stderr);
    const refused = JSON.parse(strict.stdout) as SwitchReport;
    t.is(refused.outcome, 'failed');
    t.regex(refused.error ?? '', /^preflight failed, nothing changed: dash1: Redis at \S+: sessions are lost when it restarts \(no RDB save points, AOF off\), and session\.redis\.require_persistence is true/);
    t.deepEqual(await snapshot(lab), before, 'still nothing written, no container restarted');
  });

  if (runs('apply-redis:plan', lab)) test.serial(`${lab.name}: an earlier run's facts are reused only while nothing they depend on changed`, async (t) => {
    const inv = redisInventory(lab, await labWheelhouse());
    const stateDir = scratch();
    const [dash1] = lab.hosts;
    const plan = async (code = 0) => {
      const res = await cli(['plan', '-i', inv, '--json', '--state-dir', stateDir]);
      t.is(res.code, code, res.stderr);
      const report = JSON.parse(res.stdout) as SwitchReport;
      const reused = (h: SwitchReport['hosts'][number]) => /answer reused/.test(h.steps.find((s) => s.step === 'django-version')?.detail ?? '');
      return { before: report.hosts.map((h) => h.before), reused: report.hosts.map(reused) };
    };
    const inContainer = (script: string) => onHost(dash1!.container, ['docker', 'exec', '-u', 'root', 'horizon', 'sh', '-c', script]);
    t.deepEqual(await plan(), { before: ['memcached', 'memcached', 'memcached'], reused: [false, false, false] });
    t.deepEqual(await plan(), { before: ['memcached', 'memcached', 'memcached'], reused: [true, true, true] });
    // A settings file changed in the container behind sessionctl's back: Django is asked again and its new answer shows.
    const extra = '/etc/openstack-dashboard/local_settings.d/zz-sessionctl-test.py'; // read after Kolla's files
    await inContainer(`echo "SESSION_ENGINE = 'django.contrib.sessions.backends.signed_cookies'" > ${extra}`);
    // (It would override sessionctl's file, so the plan refuses dash1.)
    t.deepEqual(await plan(2), { before: ['cookie', 'memcached', 'memcached'], reused: [false, true, true] });
    await inContainer(`rm ${extra}`);
    t.deepEqual(await plan(), { before: ['memcached', 'memcached', 'memcached'], reused: [false, true, true] });
    // A package appears where Python looks for them (as pip or apt would put it).
    const python = 'if [ -x /var/lib/kolla/venv/bin/python3 ]; then /var/lib/kolla/venv/bin/python3 "$@"; else python3 "$@"; fi';
    const site = (await inContainer(`set -- -c 'import os, sys; print([p for p in sys.path if p.endswith("-packages") and os.path.isdir(p)][0])'; ${python}`)).trim();
    await inContainer(`mkdir ${site}/sessionctl_test-1.0.dist-info`);
    t.deepEqual((await plan()).reused, [false, true, true]);
    await inContainer(`rmdir ${site}/sessionctl_test-1.0.dist-info`);
    // --fresh-facts asks Django everywhere.
    const fresh = await cli(['plan', '-i', inv, '--json', '--state-dir', stateDir, '--fresh-facts']);
    t.notRegex(fresh.stdout, /answer reused/);
  });

  if (runs('apply-redis', lab)) test.serial(`${lab.name}: apply switches every host to Redis; Django and redis-cli agree; a second apply changes nothing`, async (t) => {
    const inv = redisInventory(lab, await labWheelhouse());
    const res = await cli(['apply', '-i', inv, '--yes', '--json']);
    t.is(res.code, 0, res.stderr);
    const report = JSON.parse(res.stdout) as SwitchReport;
    t.is(report.outcome, 'applied');
    t.notRegex(res.stdout + res.stderr, new RegExp(readPassword(lab)), 'no secret in output or logs');

    for (const h of lab.hosts) {
      const truth = await djangoSettings(h.container);
      t.is(truth.engine, 'django.contrib.sessions.backends.cache', h.name);
      t.is(truth.backend, 'django_redis.cache.RedisCache', h.name);
      t.is(truth.location, redisUrl(lab), h.name);
    }
    // A session created through Django on dash1 (outside sessionctl) is in Redis and readable on the last host.
    const token = randomBytes(8).toString('hex');
    const written = JSON.parse(
      await djangoPython(lab.hosts[0]!.container, `from django.contrib.sessions.backends.cache import SessionStore\nfrom django.core.cache import cache\ns = SessionStore(); s['t'] = '${token}'; s.save()\nprint(json.dumps({'key': s.session_key, 'redis': cache.make_key(s.cache_key)}))`),
    ) as { key: string; redis: string };
    t.is(await redisCli(lab, ['EXISTS', written.redis]), '1');
    const read = await djangoPython(lab.hosts.at(-1)!.container, `from django.contrib.sessions.backends.cache import SessionStore\nprint(SessionStore(session_key='${written.key}').get('t'))`);
    t.is(read, token);

    const started = await snapshot(lab);
    const again = await cli(['apply', '-i', inv, '--yes', '--json']);
    t.is(again.code, 0, again.stderr);
    t.is((JSON.parse(again.stdout) as SwitchReport).outcome, 'no-change');
    t.deepEqual(await snapshot(lab), started, 'second apply wrote nothing and restarted nothing');

    // status asks the server Django now uses, through Django's own client: the lab's Redis keeps nothing (redis-cli agrees).
    const version = (await redisCli(lab, ['INFO', 'server'])).match(/redis_version:(\S+)/)![1]!;
    t.is((await redisCli(lab, ['CONFIG', 'GET', 'save'])).split('\n')[1] ?? '', '');
    const status = JSON.parse((await cli(['status', '-i', inv, '--json'])).stdout) as StatusReport;
    for (const h of status.hosts) t.deepEqual(h.persistence, { survives: false, detail: `Redis ${version}: sessions are lost when it restarts (no RDB save points, AOF off)` }, h.host);
    t.notRegex(JSON.stringify(status), new RegExp(readPassword(lab)), 'no secret in the status');
  });

  test.after.always(`${lab.name}: reset the lab`, async () => {
    await labReset(lab.name);
  });
}

function readPassword(lab: LabInfo): string {
  return readFileSync(lab.services.redis.passwordFile, 'utf8').trim();
}
