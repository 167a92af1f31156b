/**
 * Back from Redis to memcached (the Kolla default), on both flavours: Django in each container
 * resolves PyMemcacheCache at the lab's memcached, and memcached itself holds a session saved
 * through Django; a second run changes nothing.
 */
import test from 'ava';
import { cli, djangoPython, djangoSettings, fleetSnapshot, labInventory, labsFor, labWheelhouse, memcachedHas, scratch, skipUnlessRuns } from './harness.js';
import { labReset, type LabInfo } from './lab.js';
import type { SwitchReport } from '../../src/report/types.js';

skipUnlessRuns(test, 'apply-memcached');

function inventory(lab: LabInfo, wheelhouse: string): string {
  return labInventory(lab, scratch(), {
    extra: [
      'session:',
      `  redis: { url: "redis://${lab.services.redis.ip}:${lab.services.redis.port}/0", password_file: "${lab.services.redis.passwordFile}" }`,
      `  memcached: { servers: ["${lab.services.memcached.ip}:${lab.services.memcached.port}"] }`,
      `install: { method: wheelhouse, wheelhouse: "${wheelhouse}" }`,
    ].join('\n'),
  });
}

for (const lab of labsFor('apply-memcached')) {
  test.serial(`${lab.name}: Redis -> memcached: Django and memcached agree; a second run changes nothing`, async (t) => {
    await labReset(lab.name);
    const inv = inventory(lab, await labWheelhouse());
    const toRedis = await cli(['apply', '-i', inv, '--backend', 'redis', '--yes', '--json']);
    t.is(toRedis.code, 0, toRedis.stderr);

    const res = await cli(['apply', '-i', inv, '--backend', 'memcached', '--yes', '--json']);
    t.is(res.code, 0, res.stderr + res.stdout);
    const report = JSON.parse(res.stdout) as SwitchReport;
    t.is(report.outcome, 'applied');
    t.true(report.hosts.every((h) => h.before === 'redis' && h.after === 'memcached'));
    const server = `${lab.services.memcached.ip}:${lab.services.memcached.port}`;
    for (const h of lab.hosts) {
      const truth = await djangoSettings(h.container);
      t.is(truth.backend, 'django.core.cache.backends.memcached.PyMemcacheCache', h.name);
      t.deepEqual(truth.location, [server], h.name);
    }
    const key = await djangoPython(
      lab.hosts[2]!.container,
      "from django.contrib.sessions.backends.cache import SessionStore\nfrom django.core.cache import cache\ns = SessionStore(); s['m'] = 1; s.save()\nprint(cache.make_key(s.cache_key))",
    );
    t.true(await memcachedHas(lab, key), 'memcached holds the session saved through Django');

    const before = await fleetSnapshot(lab, ['/etc/kolla/horizon/_9999-custom-settings.py']);
    const again = await cli(['apply', '-i', inv, '--backend', 'memcached', '--yes', '--json']);
    t.is(again.code, 0, again.stderr);
    t.is((JSON.parse(again.stdout) as SwitchReport).outcome, 'no-change');
    t.deepEqual(await fleetSnapshot(lab, ['/etc/kolla/horizon/_9999-custom-settings.py']), before);
  });

  test.serial(`${lab.name}: memcached that is already in use is a no-change (nothing written, nothing restarted)`, async (t) => {
    await labReset(lab.name);
    const before = await fleetSnapshot(lab, ['/etc/kolla/horizon/_9999-custom-settings.py']);
    const res = await cli(['apply', '-i', inventory(lab, await labWheelhouse()), '--backend', 'memcached', '--yes', '--json']);
    t.is(res.code, 0, res.stderr);
    t.is((JSON.parse(res.stdout) as SwitchReport).outcome, 'no-change');
    t.deepEqual(await fleetSnapshot(lab, ['/etc/kolla/horizon/_9999-custom-settings.py']), before);
  });

  test.after.always(`${lab.name}: reset the lab`, async () => {
    await labReset(lab.name);
  });
}
