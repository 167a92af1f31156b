/**
 * kolla.deploy_host: the same managed block goes where kolla-ansible reads it for each host
 * (<config_dir>/horizon/<host>/_9999-custom-settings.py, else the shared file) on the deploy host
 * (here dash1, as on a small cloud), shown in the plan, written by apply, left alone by a second
 * run, restored to its exact bytes when the rollout fails, and unchanged by Jinja rendering.
 */
import test from 'ava';
import { cli, djangoSettings, docker, fleetSnapshot, hostFileBytes, labsFor, labWheelhouse, onHost, redisInventory, runs, scratch, skipUnlessRuns, writeFile } from './harness.js';
import { readFileSync } from 'node:fs';
import { labReset, waitHorizonHealthy, type LabInfo } from './lab.js';
import type { SwitchReport } from '../../src/report/types.js';

const OVERRIDE = '/etc/kolla/config/horizon/_9999-custom-settings.py';
const lab = labsFor('kolla-override', 'kolla-override:plan')[0];

function inventory(lab: LabInfo, wheelhouse: string, hosts?: Record<string, Record<string, unknown>>): string {
  return redisInventory(lab, wheelhouse, { ...(hosts ? { hosts } : {}), extra: ['kolla: { deploy_host: dash1, config_dir: /etc/kolla/config }'] });
}

skipUnlessRuns(test, 'kolla-override', 'kolla-override:plan');
if (lab) {
  if (runs('kolla-override:plan', lab)) test.serial('deploy host: plan shows the override diff, apply writes it, a second run leaves it', async (t) => {
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

  if (runs('kolla-override:rollout-failure', lab)) test.serial('deploy host: a rollout that fails on host 2 restores every file, the override included, to its exact bytes', async (t) => {
    await labReset(lab.name);
    const dash1 = lab.hosts[0]!.container;
    // The operator's own override, which must come back byte for byte.
    await onHost(dash1, ['sh', '-c', 'mkdir -p /etc/kolla/config/horizon && cat > /etc/kolla/config/horizon/_9999-custom-settings.py'], "# operator's theme\nDEFAULT_THEME = 'material'\n");
    const files = ['/etc/kolla/horizon/_9999-custom-settings.py', OVERRIDE];
    const before = await fleetSnapshot(lab, files);
    // dash2's health check points at a closed port: its restart never looks healthy.
    const hosts = Object.fromEntries(lab.hosts.map((h) => [h.name, { address: h.address, port: h.sshPort, ...(h.name === 'dash2' ? { health_url: 'http://127.0.0.1:1/auth/login/' } : {}) }]));
    // Long enough for a restart that recompresses (dash1's), short for dash2's that never answers.
    // --restart: the restart gate waits on that port (a reload would too, in its own words).
    const res = await cli(['apply', '-i', inventory(lab, await labWheelhouse(), hosts), '--health-timeout', '45', '--restart', '--yes', '--json']);
    t.is(res.code, 2);
    const report = JSON.parse(res.stdout) as SwitchReport;
    t.regex(report.error ?? '', /dash2: not healthy within 45s/);
    t.true(report.fleet.some((r) => r.step === 'kolla-override' && r.outcome === 'rolled-back'));
    const after = await fleetSnapshot(lab, files);
    t.deepEqual(after.map((h) => h.files), before.map((h) => h.files), 'every settings file and the override have their exact bytes again');
    t.deepEqual([after[2]!.started, after[2]!.serving], [before[2]!.started, before[2]!.serving], 'host 3 was never restarted or reloaded');
  });

  if (runs('kolla-override', lab)) test.serial('deploy host: a per-host file where one exists, the shared file for the rest; the block renders through Jinja byte for byte, hostile password included', async (t) => {
    await labReset(lab.name);
    const [dash1, dash2, dash3] = lab.hosts.map((h) => h.container) as [string, string, string];
    const perHost = '/etc/kolla/config/horizon/dash2/_9999-custom-settings.py';
    // The operator's templates: the shared one uses Jinja (a variable in a string, a block tag
    // pair); dash2 has its own file, which kolla-ansible takes for dash2 instead.
    const shared = "# operator's shared template\nSITE_BRANDING = '{{ site_name }}'\n{% if extra_theme %}\nDEFAULT_THEME = 'material'\n{% endif %}\n";
    await onHost(dash1, ['sh', '-c', `rm -rf /etc/kolla/config && mkdir -p /etc/kolla/config/horizon/dash2 && cat > ${OVERRIDE}`], shared);
    await onHost(dash1, ['sh', '-c', `cat > ${perHost}`], "# dash2's own\nDEFAULT_THEME = 'default'\n");
    // A Redis user whose password is Jinja syntax, quotes and a backslash: nothing in the block may render differently.
    const password = `p{{a}}s{%s%}{#w#}'"\\x`;
    const admin = readFileSync(lab.services.redis.passwordFile, 'utf8').trim();
    await docker(['exec', '-e', `REDISCLI_AUTH=${admin}`, `sessionctl-${lab.name}-redis`, 'redis-cli', 'ACL', 'SETUSER', 'jinja', 'on', `>${password}`, '~*', '+@all']);
    try {
      const dir = scratch();
      const inv = redisInventory(lab, await labWheelhouse(), {
        dir,
        redisUrl: `redis://jinja@${lab.services.redis.ip}:${lab.services.redis.port}/0`,
        extra: ['kolla: { deploy_host: dash1, config_dir: /etc/kolla/config }'],
      });
      // The same inventory with the hostile password file in place of the lab's.
      const hostile = writeFile(dir, 'jinja.password', password);
      writeFile(dir, 'inventory.yaml', readFileSync(inv, 'utf8').replace(lab.services.redis.passwordFile, hostile));

      const plan = JSON.parse((await cli(['plan', '-i', inv, '--json'])).stdout) as SwitchReport;
      t.deepEqual(
        plan.deployFiles?.map((f) => [f.path, f.kind, f.readBy]).sort(),
        [[OVERRIDE, 'shared', ['dash1', 'dash3']], [perHost, 'host', ['dash2']]].sort(),
        'dash2 reads its own file, the others the shared one',
      );
      const res = await cli(['apply', '-i', inv, '--yes', '--json']);
      t.is(res.code, 0, res.stderr + res.stdout);
      t.false((res.stdout + res.stderr).includes(password), 'the password is never printed');
      t.regex((await hostFileBytes(dash1, perHost))?.toString() ?? '', /^# dash2's own\nDEFAULT_THEME = 'default'\n/, "dash2's own lines kept");

      // Render both deploy-host files as kolla-ansible's template module does (Jinja2 with Ansible's options).
      const render = [
        'import jinja2, json, sys',
        'req = json.load(sys.stdin)',
        'env = jinja2.Environment(trim_blocks=True, lstrip_blocks=False, keep_trailing_newline=True, undefined=jinja2.StrictUndefined)',
        "print(json.dumps({p: env.from_string(open(p).read()).render(**req['vars']) for p in req['paths']}))",
      ].join('\n');
      const rendered = JSON.parse(await onHost(dash1, ['python3', '-c', render], JSON.stringify({ paths: [OVERRIDE, perHost], vars: { site_name: 'Cloud', extra_theme: true } }))) as Record<string, string>;
      const block = (text: string) => text.slice(text.indexOf('# BEGIN sessionctl'), text.indexOf('# END sessionctl'));
      const onDash = async (c: string) => (await hostFileBytes(c, '/etc/kolla/horizon/_9999-custom-settings.py'))?.toString() ?? '';
      t.true(block(rendered[OVERRIDE]!).includes('RedisCache'));
      t.is(block(rendered[OVERRIDE]!), block(await onDash(dash1)), 'the shared file renders to the block dash1 got, byte for byte');
      t.is(block(rendered[perHost]!), block(await onDash(dash2)), "dash2's own file renders to the block dash2 got, byte for byte");

      // A reconfigure: dash3 gets the rendered shared file, restarts, and Django there resolves the same backend and password.
      await onHost(dash3, ['sh', '-c', 'cat > /etc/kolla/horizon/_9999-custom-settings.py'], rendered[OVERRIDE]!);
      await onHost(dash3, ['docker', 'restart', '-t', '10', 'horizon']);
      await waitHorizonHealthy(lab.hosts[2]!);
      t.is((await djangoSettings(dash3)).backend, 'django_redis.cache.RedisCache');
      const seen = await onHost(dash3, ['docker', 'exec', '-i', 'horizon', 'python3', '-c', "import os, contextlib, sys\nos.environ['DJANGO_SETTINGS_MODULE'] = 'openstack_dashboard.settings'\nfrom django.conf import settings\nwith contextlib.redirect_stdout(sys.stderr): settings.CACHES\nprint(settings.CACHES['default']['OPTIONS']['PASSWORD'] == sys.stdin.read())"], password);
      t.is(seen.trim(), 'True', 'Django reads the password exactly, after Jinja');
      const after = JSON.parse((await cli(['plan', '-i', inv, '--json'])).stdout) as SwitchReport;
      t.is(after.outcome, 'no-change', 'after the reconfigure sessionctl sees nothing to do');
    } finally {
      await docker(['exec', '-e', `REDISCLI_AUTH=${admin}`, `sessionctl-${lab.name}-redis`, 'redis-cli', 'ACL', 'DELUSER', 'jinja']);
    }
  });

  test.after.always(async () => {
    await onHost(lab.hosts[0]!.container, ['rm', '-rf', '/etc/kolla/config']);
    await labReset(lab.name);
  });
}
