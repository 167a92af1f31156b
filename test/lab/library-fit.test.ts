/**
 * Issue 19 on Django 4.2 (k2026): client libraries the container's Django accepts, proven before any
 * settings change. The plan refuses a wheelhouse with only Debian bookworm's PyMySQL 1.0.2 and a
 * redis-py older than the Redis Cluster client needs (Debian bullseye's 3.5.3 in the venv), naming
 * what is there and what is needed; a PyMySQL whose version the plan cannot know (apt without
 * package lists, bookworm's repository) is installed, then refused by Django's own MySQL backend
 * in the prepare stage: the journal has the package and no file, every settings file is byte-identical.
 * The switch with trixie's PyMySQL 1.1.1 is apply-database's (k2026).
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, fleetSnapshot, labInventory, labsFor, labWheelhouse, runs, scratch, skipUnlessRuns } from './harness.js';
import { labReset, type LabInfo } from './lab.js';
import type { SwitchReport } from '../../src/report/types.js';

const FILES = ['/etc/kolla/horizon/_9999-custom-settings.py'];

skipUnlessRuns(test, 'library-fit:plan', 'library-fit:prepare');

function databaseInventory(lab: LabInfo, install: string, hosts = lab.hosts): string {
  const db = lab.services.mariadb;
  return labInventory(lab, scratch(), {
    hosts: Object.fromEntries(hosts.map((h) => [h.name, { address: h.address, port: h.sshPort }])),
    extra: [
      'session:',
      '  backend: database',
      `  database: { engine: mysql, host: "${db.ip}", port: ${db.port}, name: ${db.database}, user: ${db.user}, password_file: "${db.passwordFile}", session_engine: db }`,
      `install: ${install}`,
    ].join('\n'),
  });
}

function clusterInventory(lab: LabInfo, wheelhouse: string): string {
  const { cluster } = lab.services;
  const [first] = cluster.nodes;
  return labInventory(lab, scratch(), {
    extra: [
      'session:',
      '  backend: redis',
      `  redis: { url: "redis://${first!.ip}:${first!.port}/0", password_file: "${cluster.passwordFile}", cluster: { nodes: [${cluster.nodes.map((n) => `"${n.ip}:${n.port}"`).join(', ')}] } }`,
      `install: { method: wheelhouse, wheelhouse: "${wheelhouse}" }`,
    ].join('\n'),
  });
}

/** A command in a host's horizon container, as root, `stdin` on its standard input. */
function inHorizon(lab: LabInfo, host: number, script: string, stdin: Buffer = Buffer.alloc(0)): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('docker', ['exec', '-i', lab.hosts[host]!.container, 'docker', 'exec', '-i', '-u', 'root', 'horizon', 'sh', '-c', script], { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${script}: ${stderr}`)) : resolve(stdout),
    );
    child.stdin!.end(stdin);
  });
}

/** The journal records of the only run under `state`, parsed without sessionctl's reader. */
function journal(state: string): { type: string; [k: string]: unknown }[] {
  const dir = join(state, 'runs');
  const files = readdirSync(dir).filter((f) => f.endsWith('.jsonl'));
  if (files.length !== 1) throw new Error(`expected one journal in ${dir}, found ${files.join(', ') || 'none'}`);
  return readFileSync(join(dir, files[0]!), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string });
}

for (const lab of labsFor('library-fit:plan', 'library-fit:prepare')) {
  if (runs('library-fit:plan', lab)) test.serial(`${lab.name}: plan refuses a wheelhouse with only PyMySQL 1.0.2, naming the range Django 4.2 needs; nothing changed`, async (t) => {
    await labReset(lab.name);
    const wheels = scratch('sessionctl-wheels-');
    copyFileSync(join(await labWheelhouse(), 'pymysql-1.0.2-py3-none-any.whl'), join(wheels, 'pymysql-1.0.2-py3-none-any.whl'));
    const before = await fleetSnapshot(lab, FILES);
    const t0 = Date.now();
    const res = await cli(['plan', '-i', databaseInventory(lab, `{ method: wheelhouse, wheelhouse: "${wheels}" }`), '--json']);
    t.log(`plan: ${Date.now() - t0} ms`);
    t.is(res.code, 2, res.stderr + res.stdout);
    const report = JSON.parse(res.stdout) as SwitchReport;
    for (const h of report.hosts) {
      const install = h.steps.find((s) => s.step === 'install-client-library');
      t.regex(install?.detail ?? '', new RegExp(`the wheelhouse ${wheels} holds PyMySQL 1\\.0\\.2, and this container needs PyMySQL>=1\\.1 \\(Django 4\\.2 needs mysqlclient>=1\\.4\\.3; PyMySQL reports that from 1\\.1\\)`), h.host);
    }
    t.deepEqual(await fleetSnapshot(lab, FILES), before, 'no file written, no container restarted');
  });

  if (runs('library-fit:plan', lab)) test.serial(`${lab.name}: plan refuses Redis Cluster on a redis-py older than 4.1 (bullseye's 3.5.3 in the venv)`, async (t) => {
    await labReset(lab.name);
    const wheelhouse = await labWheelhouse();
    const wheel = readFileSync(join(wheelhouse, 'redis-3.5.3-py3-none-any.whl'));
    // An image whose venv carries an old redis-py (it shadows Debian's 6.1 on the system path).
    await Promise.all(lab.hosts.map((_, i) => inHorizon(lab, i, 'cat > /tmp/redis-3.5.3-py3-none-any.whl && /var/lib/kolla/venv/bin/python3 -m pip install -q --no-deps --no-index /tmp/redis-3.5.3-py3-none-any.whl', wheel)));
    const before = await fleetSnapshot(lab, FILES);
    const t0 = Date.now();
    const res = await cli(['plan', '-i', clusterInventory(lab, wheelhouse), '--json']);
    t.log(`plan: ${Date.now() - t0} ms`);
    t.is(res.code, 2, res.stderr + res.stdout);
    const report = JSON.parse(res.stdout) as SwitchReport;
    for (const h of report.hosts) {
      t.regex(h.steps.find((s) => s.step === 'django-version')?.detail ?? '', /redis-py 3\.5\.3 is in the container, and this container needs redis \(cluster\)>=4\.1 \(Redis Cluster needs redis\.cluster, in redis-py from 4\.1\)/, h.host);
    }
    t.deepEqual(await fleetSnapshot(lab, FILES), before);
  });

  if (runs('library-fit:prepare', lab)) test.serial(`${lab.name}: PyMySQL 1.0.2 from bookworm's apt: Django's MySQL backend refuses it in the prepare stage; the journal has the package and no file`, async (t) => {
    await labReset(lab.name);
    // A trixie image whose apt points at bookworm and holds no package lists: the plan cannot know
    // the version. One host: apt-get update fetches bookworm's lists (the slow part of the case).
    await inHorizon(lab, 0, "echo 'deb http://deb.debian.org/debian bookworm main' > /etc/apt/sources.list && rm -rf /etc/apt/sources.list.d/* /var/lib/apt/lists/*");
    const before = await fleetSnapshot(lab, FILES);
    const state = scratch('sessionctl-state-');
    mkdirSync(state, { recursive: true });
    const t0 = Date.now();
    const res = await cli(['apply', '-i', databaseInventory(lab, '{ method: distro }', lab.hosts.slice(0, 1)), '--state-dir', state, '--yes', '--json']);
    t.log(`apply: ${Date.now() - t0} ms`);
    t.not(res.code, 0, res.stdout);
    const report = JSON.parse(res.stdout) as SwitchReport;
    t.regex(report.error ?? '', /Django 4\.2\.\d+ cannot load the database backend django\.db\.backends\.mysql with the new settings \(MySQLdb 1\.0\.2, pymysql 1\.0\.2\): ImproperlyConfigured: mysqlclient 1\.4\.3 or newer is required; you have 1\.0\.2\./);
    const records = journal(state);
    t.deepEqual(records.filter((r) => r.type === 'file'), [], 'no settings file recorded');
    t.true(records.some((r) => r.type === 'package' && r.status === 'installed' && /pymysql 1\.0\.2/.test(String(r.what))), JSON.stringify(records.filter((r) => r.type === 'package')));
    t.false(records.some((r) => r.type === 'step' && r.step === 'patch-settings' && r.outcome === 'changed'));
    t.deepEqual(await fleetSnapshot(lab, FILES), before, 'every settings file byte-identical, nothing restarted');
  });

  test.after.always(`${lab.name}: reset the lab`, async () => {
    await labReset(lab.name);
  });
}
