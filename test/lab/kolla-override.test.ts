/**
 * kolla.deploy_host: the same managed block goes into <config_dir>/horizon/_9999-custom-settings.py
 * on the deploy host (here dash1, as on a small cloud), shown in the plan, written by apply, left
 * alone by a second run, and restored to its exact bytes when the rollout fails.
 */
import test from 'ava';
import { cli, fleetSnapshot, hostFileBytes, labsFor, labWheelhouse, onHost, redisInventory } from './harness.js';
import { labReset, type LabInfo } from './lab.js';
import type { SwitchReport } from '../../src/report/types.js';

const OVERRIDE = '/etc/kolla/config/horizon/_9999-custom-settings.py';
const lab = labsFor('kolla-override')[0];

function inventory(lab: LabInfo, wheelhouse: string, hosts?: Record<string, Record<string, unknown>>): string {
  return redisInventory(lab, wheelhouse, { ...(hosts ? { hosts } : {}), extra: ['kolla: { deploy_host: dash1, config_dir: /etc/kolla/config }'] });
}

if (!lab) test.skip('the deploy-host scenario needs a lab (npm test)', () => undefined);
else {
  test.serial('deploy host: plan shows the override diff, apply writes it, a second run leaves it', async (t) => {
    await labReset(lab.name);
    const dash1 = lab.hosts[0]!.container;
    await onHost(dash1, ['rm', '-rf', '/etc/kolla/config']);
    const inv = inventory(lab, await labWheelhouse());
    const plan = JSON.parse((await cli(['plan', '-i', inv, '--json'])).stdout) as SwitchReport;
    t.deepEqual(plan.deployFiles?.map((f) => [f.path, f.kind, f.readBy]), [[OVERRIDE, 'shared', lab.hosts.map((h) => h.name)]], 'no per-host file: every host reads the shared one');
    t.regex(plan.deployFiles?.[0]?.diff ?? '', /^\+CACHES = \{'default': \{'BACKEND': 'django_redis\.cache\.RedisCache'/m);
    t.false(plan.warnings.some((w) => w.includes('kolla-ansible reconfigure')));
    t.is(await hostFileBytes(dash1, OVERRIDE), null, 'plan wrote nothing');

    const res = await cli(['apply', '-i', inv, '--yes', '--json']);
    t.is(res.code, 0, res.stderr + res.stdout);
    const override = (await hostFileBytes(dash1, OVERRIDE))?.toString() ?? '';
    const custom = (await hostFileBytes(dash1, '/etc/kolla/horizon/_9999-custom-settings.py'))?.toString() ?? '';
    const block = (text: string) => text.slice(text.indexOf('# BEGIN sessionctl'));
    t.true(override.includes('django_redis.cache.RedisCache'));
    t.is(block(override), block(custom), 'the deploy host says exactly what the Dashboard hosts say');

    const again = await cli(['apply', '-i', inv, '--yes', '--json']);
    t.is((JSON.parse(again.stdout) as SwitchReport).outcome, 'no-change');
    t.is((await hostFileBytes(dash1, OVERRIDE))?.toString(), override);
  });

  test.serial('deploy host: a rollout that fails on host 2 restores every file, the override included, to its exact bytes', async (t) => {
    await labReset(lab.name);
    const dash1 = lab.hosts[0]!.container;
    // The operator's own override, which must come back byte for byte.
    await onHost(dash1, ['sh', '-c', 'mkdir -p /etc/kolla/config/horizon && cat > /etc/kolla/config/horizon/_9999-custom-settings.py'], "# operator's theme\nDEFAULT_THEME = 'material'\n");
    const files = ['/etc/kolla/horizon/_9999-custom-settings.py', OVERRIDE];
    const before = await fleetSnapshot(lab, files);
    // dash2's health check points at a closed port: its restart never looks healthy.
    const hosts = Object.fromEntries(lab.hosts.map((h) => [h.name, { address: h.address, port: h.sshPort, ...(h.name === 'dash2' ? { health_url: 'http://127.0.0.1:1/auth/login/' } : {}) }]));
    const res = await cli(['apply', '-i', inventory(lab, await labWheelhouse(), hosts), '--health-timeout', '3', '--yes', '--json']);
    t.is(res.code, 2);
    const report = JSON.parse(res.stdout) as SwitchReport;
    t.regex(report.error ?? '', /dash2: not healthy within 3s/);
    t.true(report.fleet.some((r) => r.step === 'kolla-override' && r.outcome === 'rolled-back'));
    const after = await fleetSnapshot(lab, files);
    t.deepEqual(after.map((h) => h.files), before.map((h) => h.files), 'every settings file and the override have their exact bytes again');
    t.is(after[2]!.started, before[2]!.started, 'host 3 was never restarted');
  });

  test.after.always(async () => {
    await onHost(lab.hosts[0]!.container, ['rm', '-rf', '/etc/kolla/config']);
    await labReset(lab.name);
  });
}
