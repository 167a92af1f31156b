/**
 * Where the backend's client library comes from, on the real lab. On an image without django_redis
 * (zed, h25) the switch to Redis installs it into the container's writable layer: plan and apply
 * say so before the confirmation and print the kolla-build override pinned to the version installed,
 * status says "container layer". Recreating a container from its image (what kolla-ansible upgrade
 * or deploy does, done here without sessionctl) loses it: status says "missing" on that host. On an
 * image that bakes django_redis in (k2026, Kolla 2026.1-like) status says "image", and the switch
 * installs nothing and warns nothing. What is installed is read with Python in the container.
 */
import test from 'ava';
import { cli, labsFor, labWheelhouse, loginPageStatus, onHost, redisInventory, skipUnlessRuns } from './harness.js';
import { labReset, recreateHorizon, type LabHost, type LabInfo } from './lab.js';
import type { StatusReport, SwitchReport } from '../../src/report/types.js';


const LAYER_WARNING = /^django_redis will be only in the horizon container's writable layer on dash1, dash2, dash3 \((this run installs it there|pip or apt added it after the container was created)\)/;

skipUnlessRuns(test, 'library-origin:layer', 'library-origin:image');

/** pip's name and the version of the django-redis that imports in a host's container (outer engine). */
async function installedDjangoRedis(container: string): Promise<{ name: string; version: string }> {
  const script = 'import json, django_redis\nfrom importlib.metadata import distribution\nd = distribution("django-redis")\nprint(json.dumps({"name": d.metadata["Name"], "version": d.version}))';
  return JSON.parse((await onHost(container, ['docker', 'exec', '-i', 'horizon', 'python3', '-'], script)).trim()) as { name: string; version: string };
}

async function waitAnswering(lab: LabInfo, host: LabHost, timeoutMs = 300_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await loginPageStatus(lab, host);
    if (status !== '000' || Date.now() > deadline) return status;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function status(stdout: string): StatusReport {
  return JSON.parse(stdout) as StatusReport;
}

async function inventory(lab: LabInfo): Promise<string> {
  return redisInventory(lab, await labWheelhouse());
}

// Images without django_redis (zed, h25) and one that bakes it in (k2026): see MATRIX.
for (const lab of labsFor('library-origin:layer')) {
  test.serial(`${lab.name}: switching to Redis puts django_redis in the container layer: warned before the change, override pinned to the version installed, status says container layer`, async (t) => {
    await labReset(lab.name);
    const inv = await inventory(lab);

    const plan = await cli(['plan', '-i', inv, '--json']);
    t.is(plan.code, 0, plan.stderr);
    const planned = JSON.parse(plan.stdout) as SwitchReport;
    t.true(planned.warnings.some((w) => LAYER_WARNING.test(w)), planned.warnings.join('\n'));
    t.deepEqual(planned.layerOnlyLibraries?.map((l) => [l.host, l.module, l.installs]), lab.hosts.map((h) => [h.name, 'django_redis', true]));
    t.is(planned.imageOverrides?.length, 1, 'one image for the fleet');
    t.regex(planned.imageOverrides?.[0]?.template ?? '', /^\{% extends parent_template %\}\n\{% set horizon_pip_packages_append = \['django-redis==[\d.]+'\] %\}\n$/);

    // Unattended, as text: the override is printed all the same.
    const res = await cli(['apply', '-i', inv, '--yes']);
    t.is(res.code, 0, res.stderr + res.stdout);
    const installed = await installedDjangoRedis(lab.hosts[0]!.container);
    t.true(res.stdout.includes('{% extends parent_template %}'), res.stdout);
    t.true(res.stdout.includes(`{% set horizon_pip_packages_append = ['${installed.name}==${installed.version}'] %}`), `pinned to ${installed.version}:\n${res.stdout}`);
    t.regex(res.stdout, /^! django_redis will be only in the horizon container's writable layer on dash1, dash2, dash3 \(this run installs it there\)/m);

    const after = await cli(['status', '-i', inv, '--json']);
    t.is(after.code, 0, after.stderr);
    const report = status(after.stdout);
    for (const h of report.hosts) {
      t.deepEqual(h.libraries?.map((l) => [l.module, l.origin, l.version]), [['django_redis', 'container layer', installed.version]], h.host);
    }
    t.true(report.warnings.some((w) => w.startsWith(`${lab.hosts[0]!.name}: django_redis ${installed.version} is only in the container's writable layer`)), report.warnings.join('\n'));

    // The second run changes nothing, and still says the library is only in the layer, with the same pin.
    const again = await cli(['apply', '-i', inv, '--yes', '--json']);
    t.is(again.code, 0, again.stderr);
    const second = JSON.parse(again.stdout) as SwitchReport;
    t.is(second.outcome, 'no-change');
    t.true(second.warnings.some((w) => /\(pip or apt added it after the container was created\)/.test(w)), second.warnings.join('\n'));
    t.deepEqual(second.imageOverrides?.map((o) => o.packages), [[`${installed.name}==${installed.version}`]]);
  });

  test.serial(`${lab.name}: a container recreated from its image (as kolla-ansible upgrade does) has lost django_redis: status says missing there`, async (t) => {
    const inv = await inventory(lab);
    // On the state the test before left (applied); applied here if it did not get that far.
    const applied = await cli(['apply', '-i', inv, '--yes', '--json']);
    t.is(applied.code, 0, applied.stderr);
    const target = lab.hosts[1]!;
    await recreateHorizon(lab, target.name);
    // Up again, but the settings name django_redis, which the new container lacks: every page fails.
    t.is(await waitAnswering(lab, target), '500', 'Apache answers, Horizon cannot keep a session');

    const res = await cli(['status', '-i', inv, '--json']);
    t.is(res.code, 0, res.stderr);
    const report = status(res.stdout);
    const row = report.hosts.find((h) => h.host === target.name)!;
    t.is(row.backend, 'redis', 'the settings still name Redis');
    t.deepEqual(row.libraries?.map((l) => [l.module, l.origin]), [['django_redis', 'missing']]);
    t.true(report.warnings.some((w) => w.startsWith(`${target.name}: the session backend needs django_redis, which does not import in the container`)), report.warnings.join('\n'));
    for (const h of report.hosts.filter((r) => r.host !== target.name)) {
      t.deepEqual(h.libraries?.map((l) => l.origin), ['container layer'], `${h.host} still has its layer`);
    }
    t.regex(JSON.stringify(row.libraries), /No module named 'django_redis'/);
  });

  test.after.always(`${lab.name}: back to the lab's baseline`, async () => {
    await labReset(lab.name);
  });
}

for (const lab of labsFor('library-origin:image')) {
  test.serial(`${lab.name}: django_redis baked into the image: status says image; the switch to Redis installs nothing and warns nothing`, async (t) => {
    await labReset(lab.name);
    const inv = await inventory(lab);
    const baseline = status((await cli(['status', '-i', inv, '--json'])).stdout);
    for (const h of baseline.hosts) t.true((h.libraries ?? []).every((l) => l.origin === 'image'), `${h.host}: ${JSON.stringify(h.libraries)}`);

    const plan = JSON.parse((await cli(['plan', '-i', inv, '--json'])).stdout) as SwitchReport;
    t.is(plan.outcome, 'planned');
    for (const h of plan.hosts) {
      const install = h.steps.find((s) => s.step === 'install-client-library');
      t.is(install?.outcome, 'unchanged', h.host);
      t.regex(install?.detail ?? '', /django_redis .* already imports/);
    }
    t.false(plan.warnings.some((w) => /writable layer/.test(w)), plan.warnings.join('\n'));
    t.is(plan.imageOverrides, undefined);

    const res = await cli(['apply', '-i', inv, '--yes', '--json']);
    t.is(res.code, 0, res.stderr + res.stdout);
    const applied = JSON.parse(res.stdout) as SwitchReport;
    t.is(applied.outcome, 'applied');
    t.is(applied.imageOverrides, undefined, 'no override: the image has it');
    const after = status((await cli(['status', '-i', inv, '--json'])).stdout);
    for (const h of after.hosts) t.deepEqual(h.libraries?.map((l) => [l.module, l.origin]), [['django_redis', 'image']], h.host);

    const again = JSON.parse((await cli(['apply', '-i', inv, '--yes', '--json'])).stdout) as SwitchReport;
    t.is(again.outcome, 'no-change');
  });

  test.after.always(`${lab.name}: back to the lab's baseline`, async () => {
    await labReset(lab.name);
  });
}
