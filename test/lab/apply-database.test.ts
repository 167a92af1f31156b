/**
 * Database sessions on both flavours: MariaDB (PyMySQL from the wheelhouse, SESSION_ENGINE db) and
 * PostgreSQL (Debian's psycopg2, cached_db). The sessions migration runs exactly once (counted in
 * the run's report and in django_migrations), rows land in django_session, a second run changes
 * nothing, and MariaDB down at preflight changes nothing.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { cli, djangoPython, docker, fleetSnapshot, labInventory, labsFor, labWheelhouse, runs, scratch, skipUnlessRuns } from './harness.js';
import { labReset, type LabInfo } from './lab.js';
import type { SwitchReport } from '../../src/report/types.js';

const FILES = ['/etc/kolla/horizon/_9999-custom-settings.py'];

skipUnlessRuns(test, 'apply-database', 'apply-database:refusals');

/** SQL on the lab's own database containers, as their admin (independent of sessionctl and Horizon). */
async function sql(lab: LabInfo, engine: 'mysql' | 'postgresql', query: string): Promise<string> {
  const out =
    engine === 'mysql'
      ? await docker(['exec', `sessionctl-${lab.name}-mariadb`, 'mariadb', '-N', '-B', 'horizon', '-e', query])
      : await docker(['exec', '-u', 'postgres', `sessionctl-${lab.name}-postgres`, 'psql', '-At', '-d', 'horizon', '-c', query]);
  return out.trim();
}

function inventory(lab: LabInfo, engine: 'mysql' | 'postgresql', sessionEngine: 'db' | 'cached_db', install: string): string {
  const db = engine === 'mysql' ? lab.services.mariadb : lab.services.postgres;
  return labInventory(lab, scratch(), {
    extra: [
      'session:',
      '  backend: database',
      `  database: { engine: ${engine}, host: "${db.ip}", port: ${db.port}, name: ${db.database}, user: ${db.user}, password_file: "${db.passwordFile}", session_engine: ${sessionEngine} }`,
      `install: ${install}`,
    ].join('\n'),
  });
}

async function switchAndCheck(t: import('ava').ExecutionContext, lab: LabInfo, engine: 'mysql' | 'postgresql', sessionEngine: 'db' | 'cached_db', install: string) {
  await labReset(lab.name);
  await sql(lab, engine, 'DROP TABLE IF EXISTS django_session, django_migrations');
  const inv = inventory(lab, engine, sessionEngine, install);
  const res = await cli(['apply', '-i', inv, '--yes', '--json']);
  t.is(res.code, 0, res.stderr + res.stdout);
  const report = JSON.parse(res.stdout) as SwitchReport;
  t.is(report.fleet.filter((r) => r.step === 'migrate-sessions' && r.outcome === 'changed').length, 1, 'the migration ran once');
  t.is(await sql(lab, engine, "SELECT COUNT(*) FROM django_migrations WHERE app = 'sessions'"), '1');
  t.true(report.warnings.some((w) => w.includes('clearsessions')));
  const password = readFileSync((engine === 'mysql' ? lab.services.mariadb : lab.services.postgres).passwordFile, 'utf8').trim();
  t.false((res.stdout + res.stderr).includes(password), 'the database password is never printed');

  for (const h of lab.hosts) {
    const truth = JSON.parse(await djangoPython(h.container, "from django.conf import settings as s\nprint(json.dumps([s.SESSION_ENGINE, s.DATABASES['default']['ENGINE']]))"));
    t.deepEqual(truth, [`django.contrib.sessions.backends.${sessionEngine}`, `django.db.backends.${engine}`], h.name);
  }
  const key = await djangoPython(
    lab.hosts[1]!.container,
    "from django.conf import settings\nfrom importlib import import_module\ns = import_module(settings.SESSION_ENGINE).SessionStore(); s['d'] = 1; s.save()\nprint(s.session_key)",
  );
  t.is(await sql(lab, engine, `SELECT COUNT(*) FROM django_session WHERE session_key = '${key.replace(/[^a-z0-9]/g, '')}'`), '1', 'the row is in django_session');

  const before = await fleetSnapshot(lab, FILES);
  const again = await cli(['apply', '-i', inv, '--yes', '--json']);
  t.is(again.code, 0, again.stderr);
  const second = JSON.parse(again.stdout) as SwitchReport;
  t.is(second.outcome, 'no-change');
  t.is(second.fleet.filter((r) => r.step === 'migrate-sessions' && r.outcome === 'changed').length, 0, 'no second migration');
  t.deepEqual(await fleetSnapshot(lab, FILES), before);
}

for (const lab of labsFor('apply-database', 'apply-database:refusals')) {
  if (runs('apply-database', lab)) test.serial(`${lab.name}: memcached -> MariaDB (PyMySQL from the wheelhouse, db): migrated once, rows in django_session`, async (t) => {
    await switchAndCheck(t, lab, 'mysql', 'db', `{ method: wheelhouse, wheelhouse: "${await labWheelhouse()}" }`);
  });

  if (runs('apply-database:postgresql', lab)) test.serial(`${lab.name}: memcached -> PostgreSQL (Debian's psycopg2, cached_db): migrated once, rows in django_session`, async (t) => {
    await switchAndCheck(t, lab, 'postgresql', 'cached_db', '{ method: distro }');
  });

  if (runs('apply-database:refusals', lab)) test.serial(`${lab.name}: MariaDB down at preflight: refused, every file byte-identical, nothing restarted`, async (t) => {
    await labReset(lab.name);
    const before = await fleetSnapshot(lab, FILES);
    await docker(['stop', `sessionctl-${lab.name}-mariadb`]);
    try {
      const res = await cli(['apply', '-i', inventory(lab, 'mysql', 'db', `{ method: wheelhouse, wheelhouse: "${await labWheelhouse()}" }`), '--yes', '--json']);
      t.is(res.code, 2);
      t.regex((JSON.parse(res.stdout) as SwitchReport).error ?? '', /MariaDB\/MySQL database horizon at \S+ is not usable from the horizon container/);
    } finally {
      await docker(['start', `sessionctl-${lab.name}-mariadb`]);
    }
    t.deepEqual(await fleetSnapshot(lab, FILES), before);
  });

  test.after.always(`${lab.name}: reset the lab`, async () => {
    await labReset(lab.name);
  });
}
