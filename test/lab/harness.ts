/** Shared by the lab scenarios: which labs run, the real CLI as a child process, independent checks. */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { horizonUrl, readLab, serviceCli, type Flavour, type LabHost, type LabInfo } from './lab.js';
import { reportNameFor, schemaProblems } from '../schemas.js';

const run = promisify(execFile);

/** Labs brought up by test/run.ts (SESSIONCTL_LABS=zed,h25). Empty: lab scenarios are skipped. */
export function labs(): LabInfo[] {
  return (process.env.SESSIONCTL_LABS ?? '')
    .split(',')
    .filter(Boolean)
    .map((name) => readLab(name));
}

/**
 * Which scenario runs on which flavour in CI: each flavour runs what it risks on its own (README,
 * "the CI matrix", is this table in words). zed: Apache, Django 3.2, bookworm, both Kolla layouts;
 * h25: Apache, Django 4.2 on trixie's system Python; k2026: uWSGI on 8080, the Kolla venv,
 * django_redis in the image, Valkey Sentinel. Every restart recompresses (Kolla's start hook), so
 * flavour-independent code runs once, split between zed and k2026 (their labs run side by side),
 * and the slowest variants run only in the full matrix (SESSIONCTL_MATRIX=full: every scenario on
 * every flavour that has what it needs).
 */
export const MATRIX = {
  // The switch itself: settings rendered, health gate (Apache :80, uWSGI :8080). On k2026 the
  // switch under load (reload:load) makes the same switch and reads each web server's sessions out
  // of Redis; zed's switch to Redis is the carry's first hop, and library-origin:layer installs
  // django-redis there with the system pip (PEP 668).
  'apply-redis': ['h25'],
  'apply-redis:plan': ['zed'],
  // pip into the venv (MariaDB), apt into the system Python the venv sees (PostgreSQL). zed's
  // switch into MariaDB is the carry's second hop.
  'apply-database': ['k2026'],
  'apply-database:postgresql': [],
  'apply-database:refusals': ['zed'],
  'apply-memcached': [],
  'apply-cookie-security': [],
  // sessionctl's own Sentinel block runs in faults:failover (k2026), Kolla's in kolla-own-valkey.
  'apply-redis-variants:sentinel': [],
  'apply-redis-variants:methods': [],
  'apply-redis-variants:refusals': ['zed'],
  // TLS from each redis-py: 4.3 (bookworm, no name check by default) with a client certificate;
  // Python 3.13's strict X.509 and redis-py 6 (trixie) to the sentinels and the master they name
  // (Kolla 2026.1 runs Valkey Sentinel).
  'apply-redis-variants:tls': ['zed'],
  'apply-redis-variants:tls-sentinel': ['k2026'],
  // Redis Cluster through sessionctl's own connection factory: redis-py 6 in the venv (trixie) into
  // the cluster with a node restarted, and out of it again, and over TLS (redis-py 4.3 on zed hides
  // the TLS reason behind 'cannot be connected': see README, Known limits).
  'apply-redis-cluster': [],
  'apply-redis-cluster:node-restart': ['k2026'],
  'apply-redis-cluster:tls': ['k2026'],
  'backend-pairs': [],
  // Sessions carried: zed into Redis and on into the database; k2026 out of Kolla's own Valkey
  // (kolla-own-valkey).
  carry: ['zed'],
  'carry:all-hops': [],
  'carry:failed-switch': [],
  'guide:switch': ['k2026'],
  'guide:cancel': ['zed'],
  guide: [],
  // The automatic rollback after a failed health gate with --restart (recompress, the gate on 8080)
  // in the full matrix: CI's rollbacks after a failed gate reload (reload:fault on k2026), its
  // restart path is zed's Ctrl-C in the rolling restart. The refusals, the lock, Ctrl-C and a full disk on zed.
  'faults:core': [],
  faults: ['zed'],
  'faults:more': [],
  // Issue 16: the Sentinel's master fails over mid-rollout (Kolla 2026.1 runs Valkey Sentinel).
  'faults:failover': ['k2026'],
  // apply then rollback byte for byte on k2026 runs in kolla-own-valkey (Kolla's own files).
  'rollback:core': [],
  // Issue 15: a switch under load through HAProxy by graceful reloads (uWSGI workers one at a
  // time, Apache's graceful restart), and a reload the serving processes ignore, rolled back.
  // Apache's reload runs in every zed switch (the carry's hops, faults 5, library-origin); under load only in the full matrix.
  'reload:load': ['k2026'],
  'reload:fault': ['k2026'],
  // A restart (--restart) behind HAProxy drains; the drain a failed restart leaves is undone.
  'reload:drain': [],
  'reload:drain-fault': [],
  rollback: [],
  // The deploy host's per-host and shared files, Jinja, a reconfigure's no-change; the plan's diff of
  // a first shared file (and a second run's no-change) in the full matrix.
  'kolla-override': ['k2026'],
  'kolla-override:plan': [],
  'kolla-override:rollout-failure': [],
  'kolla-own-database': [],
  'kolla-own-valkey': ['k2026'],
  // kolla-ansible's own inventory (a generated multinode, globals.yml, passwords.yml): status and a plan, read-only.
  'kolla-inventory': ['k2026'],
  'layout-legacy': ['zed'],
  'library-origin:layer': ['zed'],
  // k2026's image bakes django_redis in: reload:load checks that its switch installs and warns nothing.
  'library-origin:image': [],
  'status:django': ['zed', 'h25', 'k2026'],
  'status:access': ['zed'],
  // Issue 19: client libraries Django 4.2 accepts, refused at plan time (an old PyMySQL wheel, a
  // redis-py too old for the Redis Cluster client) or, when the plan cannot know, by Django's own
  // backend in the prepare stage before any settings write.
  'library-fit:plan': ['k2026'],
  'library-fit:prepare': ['k2026'],
  // Issue 18: the single executable (npm run package) from a folder without node_modules.
  'package:sea': ['k2026'],
  // Issue 18: hosts named only by ssh_config aliases (-F), one through a ProxyJump alias.
  'status:ssh-config': ['zed'],
} as const satisfies Record<string, readonly Flavour[]>;
export type Scenario = keyof typeof MATRIX;

/** What a flavour cannot run whatever the matrix: Valkey only on k2026, the legacy layout and a library missing from the image not there. */
const CANNOT: Partial<Record<Scenario, readonly Flavour[]>> = {
  'kolla-own-valkey': ['zed', 'h25'],
  'kolla-inventory': ['zed', 'h25'],
  'library-origin:layer': ['k2026'],
  'library-origin:image': ['zed', 'h25'],
  'layout-legacy': ['h25', 'k2026'],
  // Django 3.2 (zed) takes PyMySQL 1.0.2; the old redis-py goes into Kolla's venv (k2026 only).
  'library-fit:plan': ['zed', 'h25'],
  'library-fit:prepare': ['zed', 'h25'],
};

/** The labs of this run that the matrix gives any of these scenarios (every able one with SESSIONCTL_MATRIX=full). */
export function labsFor(...scenarios: Scenario[]): LabInfo[] {
  const full = process.env.SESSIONCTL_MATRIX === 'full';
  const gets = (l: LabInfo, s: Scenario) => (full ? !(CANNOT[s] ?? []).includes(l.horizon) : (MATRIX[s] as readonly Flavour[]).includes(l.horizon));
  return labs().filter((l) => scenarios.some((s) => gets(l, s)));
}

/**
 * A file whose scenarios no lab of this run has says so as one skipped test (ava counts a file
 * without tests as a failure): none of the labs up (unit tests only, or another stream's flavours),
 * or none the matrix gives them to (SESSIONCTL_MATRIX=full runs every scenario).
 */
export function skipUnlessRuns(test: { skip(title: string, fn: () => void): void }, ...scenarios: Scenario[]): void {
  if (labsFor(...scenarios).length === 0) {
    test.skip(`${scenarios.join(', ')}: no lab of this run has ${scenarios.length === 1 ? 'it' : 'them'} (SESSIONCTL_LABS=${process.env.SESSIONCTL_LABS ?? ''}; see MATRIX)`, () => undefined);
  }
}

/** Whether this lab runs the scenario (by name: every labs() call reads the state files anew). */
export function runs(scenario: Scenario, lab: LabInfo): boolean {
  return labsFor(scenario).some((l) => l.name === lab.name);
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The built CLI (dist/cli.js), exactly as an operator runs it. */
export async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['dist/cli.js', ...args], {
      env: { ...process.env, SSH_AUTH_SOCK: '', ...env },
      maxBuffer: 64 * 1024 * 1024,
    });
    return checkedJson(args, { code: 0, stdout, stderr });
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return checkedJson(args, { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' });
  }
}

/** Every --json report the lab produces must follow its committed schema (src/report/schemas/). */
function checkedJson(args: string[], result: CliResult): CliResult {
  if (!args.includes('--json')) return result;
  let report: unknown;
  try {
    report = JSON.parse(result.stdout);
  } catch {
    return result; // not JSON: the test itself says what it expected
  }
  const name = reportNameFor(args, report);
  const problems = name ? schemaProblems(name, report) : [];
  if (problems.length) {
    throw new Error(`sessionctl ${args.join(' ')}: --json report violates ${name}.schema.json:\n  ${problems.join('\n  ')}\n(exit ${result.code}; stdout:\n${result.stdout.slice(0, 4000)})`);
  }
  return result;
}

/** A scratch folder for inventories and known_hosts copies. */
export function scratch(prefix = 'sessionctl-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function writeFile(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text, { mode: 0o600 });
  return path;
}

/** `docker exec` on the lab host container itself (the outer engine): independent of sessionctl. */
export async function onHost(container: string, argv: string[], input?: string): Promise<string> {
  const child = run('docker', ['exec', ...(input !== undefined ? ['-i'] : []), container, ...argv], { maxBuffer: 16 * 1024 * 1024 });
  if (input !== undefined) {
    child.child.stdin?.end(input);
  }
  return (await child).stdout;
}

/** Ask Django inside a host's horizon container what it resolved, without going through sessionctl. */
export async function djangoSettings(container: string): Promise<{ django: string; engine: string; backend: string; location: unknown; secretSha: string }> {
  const script = [
    'import os, sys, json, hashlib, contextlib',
    "os.environ['DJANGO_SETTINGS_MODULE'] = 'openstack_dashboard.settings'",
    'import django',
    'from django.conf import settings as s',
    'with contextlib.redirect_stdout(sys.stderr): s.SESSION_ENGINE',
    "c = s.CACHES['default']",
    "print(json.dumps({'django': django.get_version(), 'engine': s.SESSION_ENGINE, 'backend': c.get('BACKEND'), 'location': c.get('LOCATION'), 'secretSha': hashlib.sha256(s.SECRET_KEY.encode()).hexdigest()[:16]}))",
  ].join('\n');
  const out = await onHost(container, ['docker', 'exec', '-i', 'horizon', 'python3', '-'], script);
  return JSON.parse(out.trim().split('\n').pop() ?? '{}');
}

/** An inventory for a lab with per-host and default overrides, written to a scratch dir. */
export function labInventory(lab: LabInfo, dir: string, opts: { defaults?: Record<string, unknown>; hosts?: Record<string, Record<string, unknown>>; extra?: string } = {}): string {
  const defaults = { user: 'root', identity: lab.identity, known_hosts: lab.knownHosts, container: 'horizon', connect_timeout: 10, ...opts.defaults };
  const hosts =
    opts.hosts ?? Object.fromEntries(lab.hosts.map((h) => [h.name, { address: h.address, port: h.sshPort }]));
  const yaml = [
    'defaults:',
    ...Object.entries(defaults).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`),
    'hosts:',
    ...Object.entries(hosts).map(([name, h]) => `  ${name}: ${JSON.stringify(h)}`),
    opts.extra ?? '',
  ].join('\n');
  return writeFile(dir, 'inventory.yaml', yaml + '\n');
}

/** A file's bytes on a lab host, read through the outer engine (independent of sessionctl). */
export async function hostFileBytes(container: string, path: string): Promise<Buffer | null> {
  try {
    const { stdout } = await promisify(execFile)('docker', ['exec', container, 'cat', path], { encoding: 'buffer', maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch {
    return null;
  }
}

/** When the horizon container inside a lab host last started (changes on every restart). */
export async function horizonStartedAt(container: string): Promise<string> {
  return (await onHost(container, ['docker', 'inspect', '-f', '{{.State.StartedAt}}', 'horizon'])).trim();
}

/** redis-cli on the lab's Redis container, authenticated through the environment. */
export function redisCli(lab: LabInfo, args: string[]): Promise<string> {
  return serviceCli(`sessionctl-${lab.name}-redis`, lab.services.redis.passwordFile, args);
}

/** redis-cli against the lab's Sentinel (its own password). */
export function sentinelCli(lab: LabInfo, args: string[]): Promise<string> {
  return serviceCli(`sessionctl-${lab.name}-sentinel`, lab.services.sentinel.passwordFile, ['-p', String(lab.services.sentinel.port), ...args]);
}

/** The address the Sentinel names as mymaster's master now. */
export async function sentinelMaster(lab: LabInfo): Promise<string> {
  return (await sentinelCli(lab, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', lab.services.sentinel.service])).split('\n')[0]!;
}

/**
 * Make `ip` the master by a Sentinel failover (it refuses while the replica is not yet in sync
 * after the last one, so it is asked again), and wait until that server itself says it is master.
 */
export async function sentinelFailoverTo(lab: LabInfo, ip: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const container = ip === lab.services.redis.ip ? 'redis' : 'redis-replica';
  const role = async () => (await serviceCli(`sessionctl-${lab.name}-${container}`, lab.services.redis.passwordFile, ['ROLE'])).split('\n')[0];
  while (Date.now() < deadline) {
    if ((await sentinelMaster(lab)) === ip && (await role()) === 'master') return;
    if ((await sentinelMaster(lab)) !== ip) await sentinelCli(lab, ['SENTINEL', 'FAILOVER', lab.services.sentinel.service]);
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`the Sentinel did not make ${ip} the master within ${timeoutMs / 1000} s (now ${await sentinelMaster(lab)})`);
}

/** Run a Python snippet with Django set up inside a host's horizon container (outer engine). */
export async function djangoPython(container: string, body: string): Promise<string> {
  const script = [
    'import os, sys, json, contextlib',
    "os.environ['DJANGO_SETTINGS_MODULE'] = 'openstack_dashboard.settings'",
    'import django',
    'with contextlib.redirect_stdout(sys.stderr): django.setup()',
    body,
  ].join('\n');
  return (await onHost(container, ['docker', 'exec', '-i', 'horizon', 'python3', '-'], script)).trim();
}

/** Offline wheels (django-redis, PyMySQL) repacked from Debian's packages, built once and cached. */
export async function labWheelhouse(): Promise<string> {
  const out = join(process.cwd(), 'test/lab/.state/wheels');
  await run('bash', ['test/lab/wheels/build.sh', out], { maxBuffer: 16 * 1024 * 1024 });
  return join(out, 'wheels');
}

/**
 * A PEP 503 index of the offline wheels on the lab network (python3 -m http.server in a container
 * of the lab's own dash image), for the pip-from-a-local-index install method. Idempotent.
 */
export async function labIndex(lab: LabInfo): Promise<string> {
  const wheels = join(await labWheelhouse(), '..');
  const name = `sessionctl-${lab.name}-pypi`;
  const ip = lab.subnet.replace(/0\/24$/, '15');
  const running = await run('docker', ['inspect', '-f', '{{.State.Running}}', name]).then((r) => r.stdout.trim() === 'true', () => false);
  if (!running) {
    await run('docker', ['rm', '-f', name]).catch(() => undefined);
    await run('docker', ['run', '-d', '--name', name, '--network', lab.network, '--ip', ip, '-v', `${wheels}:/srv:ro`,
      '--entrypoint', 'python3', lab.images.dash, '-m', 'http.server', '-d', '/srv', '8000']);
  }
  return `http://${ip}:8000/simple/`;
}

/** Stop the index container (the lab's own cleanup does not know it). */
export async function labIndexDown(lab: LabInfo): Promise<void> {
  await run('docker', ['rm', '-f', `sessionctl-${lab.name}-pypi`]).catch(() => undefined);
}

/**
 * The web server's processes in a host's horizon container (PIDs as the host's Docker sees them):
 * a reload replaces them, a restart too. Docker's own view, not sessionctl's.
 */
export async function servingPids(container: string): Promise<string> {
  const top = await onHost(container, ['docker', 'top', 'horizon', '-eo', 'pid,comm']);
  return top.split('\n').map((l) => l.trim().split(/\s+/)).filter(([pid, comm]) => /^\d+$/.test(pid ?? '') && /^(uwsgi|apache2)$/.test(comm ?? '')).map(([pid]) => pid).sort().join(' ');
}

/** The lab's HAProxy (labLoadBalancer) as an inventory names it: on dash1, Kolla's container and socket, its one backend. */
export const LAB_LOADBALANCER = ['loadbalancer: { hosts: [dash1], backends: [horizon_back] }'];

/** Files, container start times and serving processes of every host: equal snapshots mean nothing was changed, reloaded or restarted. */
export async function fleetSnapshot(lab: LabInfo, paths: string[]): Promise<{ host: string; files: (string | null)[]; started: string; serving: string }[]> {
  return Promise.all(
    lab.hosts.map(async (h) => ({
      host: h.name,
      files: await Promise.all(paths.map(async (p) => (await hostFileBytes(h.container, p))?.toString('base64') ?? null)),
      started: await horizonStartedAt(h.container),
      serving: await servingPids(h.container),
    })),
  );
}

/** A command on the outer Docker engine (the one that runs the lab). */
export async function docker(args: string[]): Promise<string> {
  return (await run('docker', args, { maxBuffer: 16 * 1024 * 1024 })).stdout;
}

/** memcached's own answer to `get KEY` on the lab's memcached container (plain protocol, no client). */
export async function memcachedHas(lab: LabInfo, key: string): Promise<boolean> {
  return (await memcachedAsk(lab, `get ${key}`)).startsWith('VALUE ');
}

/** One text-protocol command to the lab's memcached, straight from the test machine; its whole answer. */
export function memcachedAsk(lab: LabInfo, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(lab.services.memcached.port, lab.services.memcached.ip);
    let data = '';
    sock.setTimeout(5000, () => sock.destroy(new Error('memcached timeout')));
    sock.on('connect', () => sock.write(`${command}\r\n`));
    sock.on('data', (c) => {
      data += c.toString('latin1');
      // A value comes with END after it; any other answer is one line.
      if (data.endsWith('\r\n') && (!data.startsWith('VALUE ') || data.endsWith('END\r\n'))) {
        sock.end();
        resolve(data);
      }
    });
    sock.on('error', reject);
  });
}

/** An inventory for the lab switching to its Redis (or `redisUrl`), with the offline wheelhouse. */
export function redisInventory(
  lab: LabInfo,
  wheelhouse: string,
  opts: { redisUrl?: string; hosts?: Record<string, Record<string, unknown>>; dir?: string; extra?: string[]; redisKeys?: string } = {},
): string {
  const redisUrl = opts.redisUrl ?? `redis://${lab.services.redis.ip}:${lab.services.redis.port}/0`;
  return labInventory(lab, opts.dir ?? scratch(), {
    ...(opts.hosts ? { hosts: opts.hosts } : {}),
    extra: [
      'session:',
      '  backend: redis',
      `  redis: { url: "${redisUrl}", password_file: "${lab.services.redis.passwordFile}"${opts.redisKeys ? `, ${opts.redisKeys}` : ''} }`,
      `install: { method: wheelhouse, wheelhouse: "${wheelhouse}" }`,
      ...(opts.extra ?? []),
    ].join('\n'),
  });
}

/** An inventory naming all three lab backends (the command line picks one), with the offline wheelhouse. */
export function allBackendsInventory(lab: LabInfo, wheelhouse: string): string {
  const { redis, memcached, mariadb: db } = lab.services;
  return labInventory(lab, scratch(), {
    extra: [
      'session:',
      `  redis: { url: "redis://${redis.ip}:${redis.port}/0", password_file: "${redis.passwordFile}" }`,
      `  memcached: { servers: ["${memcached.ip}:${memcached.port}"] }`,
      `  database: { engine: mysql, host: "${db.ip}", name: ${db.database}, user: ${db.user}, password_file: "${db.passwordFile}" }`,
      `install: { method: wheelhouse, wheelhouse: "${wheelhouse}" }`,
    ].join('\n'),
  });
}

/** What test/lab/sessions.py answers (see its docstring). */
export interface SessionsAnswer {
  engine: string;
  cache: string;
  sessions?: [key: string, value: string, ttl: number, created: number][];
  found?: Record<string, [value: string | null, remaining: number | null]>;
  updated?: number;
}

/**
 * Log-in equivalents through Django in a host's horizon container (outer engine): test/lab/sessions.py,
 * written apart from sessionctl's carry.py.
 */
export async function horizonSessions(container: string, input: Record<string, unknown>): Promise<SessionsAnswer> {
  const script = readFileSync('test/lab/sessions.py', 'utf8');
  return JSON.parse(await onHost(container, ['docker', 'exec', '-i', 'horizon', 'python3', '-W', 'ignore', '-c', script], JSON.stringify(input))) as SessionsAnswer;
}

/** Every Dashboard host's file at `path`, base64 (null: absent), read through the outer engine. */
export async function hostFiles(lab: LabInfo, path: string): Promise<(string | null)[]> {
  return Promise.all(lab.hosts.map(async (h) => (await hostFileBytes(h.container, path))?.toString('base64') ?? null));
}

/** The cache backend Django resolves in every host's container. */
export async function effectiveBackends(lab: LabInfo): Promise<string[]> {
  return Promise.all(lab.hosts.map(async (h) => (await djangoSettings(h.container)).backend));
}

/** The login page's HTTP status inside a host's horizon container ('000': nothing answers yet). */
export async function loginPageStatus(lab: LabInfo, host: LabHost): Promise<string> {
  const url = `${horizonUrl(lab, host)}/auth/login/`;
  return (await onHost(host.container, ['docker', 'exec', 'horizon', 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', url]).catch(() => '000')).trim();
}

/** Wait until the (only) run journal under `stateDir` has a line matching `re`; false on timeout. */
export async function journalShows(stateDir: string, re: RegExp, timeoutMs = 300_000): Promise<boolean> {
  const runs = join(stateDir, 'runs');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    let names: string[] = [];
    try {
      names = readdirSync(runs);
    } catch {
      // Not created yet.
    }
    if (names[0] && re.test(readFileSync(join(runs, names[0]), 'utf8'))) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}
