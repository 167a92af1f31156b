/**
 * Kolla <= 2023.2 layout (local_settings + custom_local_settings) on the zed lab: status detects it,
 * and a switch that a later local_settings.d snippet would override is refused before any write.
 */
import test from 'ava';
import { cli, fleetSnapshot, labInventory, labsFor, labWheelhouse, scratch, skipUnlessRuns } from './harness.js';
import { labUp } from './lab.js';
import type { StatusReport } from '../../src/report/types.js';
import type { SwitchReport } from '../../src/report/types.js';

const lab = labsFor('layout-legacy')[0];

skipUnlessRuns(test, 'layout-legacy');
if (lab) {
  test.before(async () => {
    await labUp({ name: lab.name, horizon: lab.horizon, hosts: lab.hosts.length, layout: 'legacy' });
  });
  test.after.always(async () => {
    await labUp({ name: lab.name, horizon: lab.horizon, hosts: lab.hosts.length, layout: 'd' });
  });

  test.serial('legacy layout: status detects it and still reports the effective memcached backend', async (t) => {
    const res = await cli(['status', '-i', lab.inventory, '--json']);
    t.is(res.code, 0, res.stderr);
    for (const h of (JSON.parse(res.stdout) as StatusReport).hosts) {
      t.is(h.layout, 'kolla-local-settings');
      t.is(h.settingsFile, '/etc/kolla/horizon/custom_local_settings');
      t.is(h.backend, 'memcached');
    }
  });

  test.serial("legacy layout: Debian's later CACHES snippet would win, so the switch is refused with nothing changed", async (t) => {
    const files = ['/etc/kolla/horizon/custom_local_settings', '/etc/kolla/horizon/local_settings'];
    const before = await fleetSnapshot(lab, files);
    const inv = labInventory(lab, scratch(), {
      extra: [
        'session:',
        `  redis: { url: "redis://${lab.services.redis.ip}:6379/0", password_file: "${lab.services.redis.passwordFile}" }`,
        'install: { method: wheelhouse, wheelhouse: "' + (await labWheelhouse()) + '" }',
      ].join('\n'),
    });
    const res = await cli(['apply', '-i', inv, '--backend', 'redis', '--yes', '--json']);
    t.is(res.code, 2);
    const report = JSON.parse(res.stdout) as SwitchReport;
    t.is(report.outcome, 'failed');
    t.regex(report.error ?? '', /CACHES\['default'\] BACKEND would be django\.core\.cache\.backends\.memcached\.PyMemcacheCache.*_0006_debian_cache\.py.*nothing was written/);
    t.deepEqual(await fleetSnapshot(lab, files), before);
  });
}
