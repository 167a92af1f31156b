/**
 * Issue 13's scenario: Horizon already keeps its sessions in the database through Kolla's own
 * settings (kolla-ansible's `horizon_backend_database: true` renders SESSION_ENGINE db and a MySQL
 * DATABASES into _9998-kolla-settings.py; the table is migrated; no sessionctl block anywhere).
 * Asking for the database is "no change" (exit 0, no file written, no restart); a switch away to
 * Redis works, and `sessionctl rollback` brings Kolla's database sessions back.
 * One flavour: the data flow it guards is the same code on both.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { allBackendsInventory, cli, djangoSettings, docker, fleetSnapshot, labsFor, labWheelhouse, onHost, scratch, skipUnlessRuns } from './harness.js';
import { labReset, waitHorizonHealthy, type LabInfo } from './lab.js';
import type { RollbackReport, SwitchReport } from '../../src/report/types.js';

const KOLLA = '/etc/kolla/horizon/_9998-kolla-settings.py';
const CUSTOM = '/etc/kolla/horizon/_9999-custom-settings.py';
const DB = 'django.contrib.sessions.backends.db';
const lab = labsFor('kolla-own-database')[0];

skipUnlessRuns(test, 'kolla-own-database');

/** What kolla-ansible renders for horizon_backend_database (the driver line stands in for the MySQL driver Kolla's image ships). */
function kollaDatabaseSettings(l: LabInfo): string {
  const db = l.services.mariadb;
  const password = readFileSync(db.passwordFile, 'utf8').trim();
  return [
    '',
    '# horizon_backend_database: true (kolla-ansible)',
    'import pymysql  # the lab image has no MySQL driver of its own; Kolla\'s image does',
    'pymysql.install_as_MySQLdb()',
    `SESSION_ENGINE = '${DB}'`,
    'DATABASES = {',
    "    'default': {",
    "        'ENGINE': 'django.db.backends.mysql',",
    `        'NAME': '${db.database}',`,
    `        'USER': '${db.user}',`,
    `        'PASSWORD': '${password}',`,
    `        'HOST': '${db.ip}',`,
    `        'PORT': '${db.port}',`,
    '    }',
    '}',
    '',
  ].join('\n');
}

if (lab) {
  test.serial(`${lab.name}: Kolla's own database sessions: asking for them is no change; a switch away and its rollback work`, async (t) => {
    await labReset(lab.name);
    const inv = allBackendsInventory(lab, await labWheelhouse());
    // Put the driver in the containers and migrate the table the way an operator might have: a
    // switch to the database and its rollback (the driver stays, as the README says), then
    // Kolla's own rendering of database sessions, loaded by a restart as a reconfigure would.
    const setup = scratch('sessionctl-state-');
    t.is((await cli(['apply', '-i', inv, '--backend', 'database', '--state-dir', setup, '--yes', '--json'])).code, 0, 'setup: the driver and the table');
    t.is((await cli(['rollback', '-i', inv, '--state-dir', setup, '--yes', '--json'])).code, 0, 'setup: back to memcached');
    for (const h of lab.hosts) {
      await onHost(h.container, ['sh', '-c', `cat >> ${KOLLA}`], kollaDatabaseSettings(lab));
      await onHost(h.container, ['docker', 'restart', '-t', '10', 'horizon']);
    }
    for (const h of lab.hosts) {
      await waitHorizonHealthy(h);
      t.is((await djangoSettings(h.container)).engine, DB, `${h.name} runs Kolla's database sessions`);
    }
    t.false((await onHost(lab.hosts[0]!.container, ['cat', CUSTOM])).includes('sessionctl'), 'no sessionctl block anywhere');
    const kolla = await fleetSnapshot(lab, [KOLLA, CUSTOM]);

    const state = scratch('sessionctl-state-');
    const same = await cli(['apply', '-i', inv, '--backend', 'database', '--state-dir', state, '--yes', '--json']);
    t.is(same.code, 0, same.stderr + same.stdout);
    const report = JSON.parse(same.stdout) as SwitchReport;
    t.is(report.outcome, 'no-change', report.error);
    t.deepEqual(report.hosts.map((h) => h.before), lab.hosts.map(() => 'database'), 'status reads Kolla\'s settings as the current backend');
    t.deepEqual(await fleetSnapshot(lab, [KOLLA, CUSTOM]), kolla, 'no file written, no container restarted');

    const away = await cli(['apply', '-i', inv, '--backend', 'redis', '--state-dir', state, '--yes', '--json']);
    t.is(away.code, 0, away.stderr + away.stdout);
    t.is((JSON.parse(away.stdout) as SwitchReport).outcome, 'applied');
    for (const h of lab.hosts) t.regex((await djangoSettings(h.container)).backend, /django_redis/, `${h.name} switched to Redis`);

    const back = await cli(['rollback', '-i', inv, '--state-dir', state, '--yes', '--json']);
    t.is(back.code, 0, back.stderr + back.stdout);
    t.is((JSON.parse(back.stdout) as RollbackReport).outcome, 'rolled-back');
    const after = await fleetSnapshot(lab, [KOLLA, CUSTOM]);
    t.deepEqual(after.map((h) => h.files), kolla.map((h) => h.files), 'every file byte-identical to Kolla\'s');
    for (const h of lab.hosts) t.is((await djangoSettings(h.container)).engine, DB, `${h.name} is back on Kolla's database sessions`);
    const rows = await docker(['exec', `sessionctl-${lab.name}-mariadb`, 'mariadb', '-N', '-B', 'horizon', '-e', "SHOW TABLES LIKE 'django_session'"]);
    t.is(rows.trim(), 'django_session');
  });

  test.after.always(async () => {
    await labReset(lab.name);
  });
}
