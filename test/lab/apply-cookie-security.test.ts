/**
 * Signed-cookie sessions (refused without the flag, warned about with it) and the session
 * security settings written in the same managed block, checked with Django in the containers.
 */
import test from 'ava';
import { cli, djangoPython, fleetSnapshot, labInventory, labsFor, scratch, skipUnlessRuns } from './harness.js';
import { labReset, type LabInfo } from './lab.js';
import type { SwitchReport } from '../../src/report/types.js';

const CUSTOM = ['/etc/kolla/horizon/_9999-custom-settings.py'];

skipUnlessRuns(test, 'apply-cookie-security');

function inventory(lab: LabInfo, extra: string[] = []): string {
  return labInventory(lab, scratch(), {
    extra: ['session:', `  memcached: { servers: ["${lab.services.memcached.ip}:${lab.services.memcached.port}"] }`, ...extra].join('\n'),
  });
}

for (const lab of labsFor('apply-cookie-security')) {
  test.serial(`${lab.name}: cookie sessions: refused without the flag; with it, a cookie signed on one host reads on another`, async (t) => {
    await labReset(lab.name);
    const before = await fleetSnapshot(lab, CUSTOM);
    const refused = await cli(['apply', '-i', inventory(lab), '--backend', 'cookie', '--yes', '--json']);
    t.is(refused.code, 5);
    t.regex(refused.stderr, /refusing signed-cookie sessions without --allow-insecure-cookie-sessions/);
    t.deepEqual(await fleetSnapshot(lab, CUSTOM), before, 'nothing changed');

    const res = await cli(['apply', '-i', inventory(lab), '--backend', 'cookie', '--allow-insecure-cookie-sessions', '--yes', '--json']);
    t.is(res.code, 0, res.stderr + res.stdout);
    const report = JSON.parse(res.stdout) as SwitchReport;
    t.true(report.warnings.some((w) => w.includes('development only')));
    const key = await djangoPython(
      lab.hosts[0]!.container,
      "from django.conf import settings\nassert settings.SESSION_ENGINE.endswith('signed_cookies'), settings.SESSION_ENGINE\nfrom django.contrib.sessions.backends.signed_cookies import SessionStore\ns = SessionStore(); s['c'] = 'yes'; s.save()\nprint(s.session_key)",
    );
    for (const h of lab.hosts.slice(1)) {
      const read = await djangoPython(h.container, `from django.conf import settings\nfrom importlib import import_module\nprint(import_module(settings.SESSION_ENGINE).SessionStore(session_key=${JSON.stringify(key)}).get('c'))`);
      t.is(read, 'yes', h.name);
    }
  });

  test.serial(`${lab.name}: session security settings are written, shown in the diff and effective after the restart`, async (t) => {
    await labReset(lab.name);
    const inv = inventory(lab, ['  backend: memcached', '  security: { timeout: 1200, refresh: false, cookie_samesite: Strict, csrf_cookie_secure: true }']);
    const plan = JSON.parse((await cli(['plan', '-i', inv, '--json'])).stdout) as SwitchReport;
    t.regex(plan.hosts[0]?.diff ?? '', /^\+SESSION_TIMEOUT = 1200$/m);
    t.regex(plan.hosts[0]?.diff ?? '', /^\+SESSION_COOKIE_SAMESITE = 'Strict'$/m);
    const res = await cli(['apply', '-i', inv, '--yes', '--json']);
    t.is(res.code, 0, res.stderr + res.stdout);
    for (const h of lab.hosts) {
      const truth = JSON.parse(
        await djangoPython(h.container, "from django.conf import settings as s\nprint(json.dumps([s.SESSION_TIMEOUT, s.SESSION_REFRESH, s.SESSION_COOKIE_SAMESITE, s.CSRF_COOKIE_SECURE]))"),
      );
      t.deepEqual(truth, [1200, false, 'Strict', true], h.name);
    }
    const again = await cli(['apply', '-i', inv, '--yes', '--json']);
    t.is((JSON.parse(again.stdout) as SwitchReport).outcome, 'no-change');
  });

  test.after.always(`${lab.name}: reset the lab`, async () => {
    await labReset(lab.name);
  });
}
