/**
 * `npm run bench`: the Redis switch on a 3-host lab, against the floor set by Horizon itself, on each
 * flavour in BENCH_FLAVOURS (default zed,k2026: Apache + system Python, and uWSGI + the Kolla venv),
 * one lab at a time.
 *
 * floor      = median(settings change + restart -> login page 200 of one host) x hosts / rollout.serial;
 *              the change makes Kolla's start hook regenerate the static files, as a real switch does
 * full       = apply memcached -> Redis (lab reset before each run), median of RUNS
 * no-change  = apply again with the same inputs, median of RUNS: right after the switch, and again
 *              once the hosts settled (10 s later: Horizon's other mod_wsgi processes load Django on
 *              their first requests after a restart, and compete for the lab's CPUs meanwhile)
 * Also: SSH connections opened per host (counted in each host's sshd log), peak RSS of the CLI.
 * Targets (issue 15 replaced issue 3's): no-change <= 1.5 s; 1 connection per host; RSS <= 150 MB.
 *
 * carry      = 1,000 sessions saved through Django on the old backend, then a switch with the
 *              default carry-over, hop by hop: memcached -> Redis -> memcached -> database -> Redis.
 *              Per hop: the copy inside the container (carry.py's own clock: list, read, write) and
 *              the whole first-pass step (with Python's start and Horizon's settings import).
 * Target (issue 7): under 1 s per 1,000 sessions. BENCH_CARRY=0 leaves it out.
 *
 * under load = issue 15: 2 clients looping on the login page through HAProxy (kolla-ansible's
 *              horizon_back) during the switch, for each way a host loads the settings: the graceful
 *              reload (the default), a restart behind a drain (--restart, admin socket), a plain
 *              restart (--restart, no load balancer in the inventory), and bench/ansible/switch-redis.yml,
 *              the playbook an operator would write (Debian's ansible, installed on first use). Per way:
 *              failed requests, the per-host rollout (sessionctl: load, gate, verify, ready again; the
 *              playbook: restart -> 200), the settings loaded -> first 200 (the floor's own measure),
 *              the full switch, the re-run with nothing to change. BENCH_WAYS picks some of them
 *              (playbook, reload, drained-restart, restart).
 *              Targets (issue 15): 0 failed requests; per-host reload <= 0.25 x the restart floor; the
 *              full switch by reload <= 0.5 x the playbook's.
 *
 * growth     = issue 15: a lab of BENCH_GROWTH_HOSTS (10) hosts of the first flavour, the preflight and
 *              the no-change re-run on 1..10 of them, with CPU seconds per host (BENCH_ONLY=growth).
 *
 * BENCH_ONLY=floor measures the floor alone, BENCH_ONLY=load the floor and the switch under load. BENCH_RUNS (3), BENCH_FLAVOURS (zed,k2026), BENCH_LAB_PREFIX ('bench-': the lab of a flavour is
 * bench-<flavour>; '' reuses a test lab named after the flavour).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { horizonUrl, labDown, labReset, labUp, type Flavour, type LabHost, type LabInfo } from '../test/lab/lab.js';
import { LAB_LOADBALANCER, allBackendsInventory, horizonSessions, labWheelhouse, onHost, redisInventory } from '../test/lab/harness.js';
import { labLoadBalancer, withLoad } from '../test/lab/lab.js';
import type { CarryCounts, StepResult } from '../src/runner/results.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** A settings change (a new comment in the file Kolla copies in), a restart, and the login page's first 200. */
async function restartTo200(lab: LabInfo, h: LabHost, n: number): Promise<number> {
  await onHost(h.container, ['sh', '-c', 'cat >> /etc/kolla/horizon/_9999-custom-settings.py'], `# bench restart ${n}\n`);
  const t0 = performance.now();
  await onHost(h.container, ['docker', 'restart', '-t', '10', 'horizon']);
  for (;;) {
    const code = await onHost(h.container, ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', `${horizonUrl(lab, h)}/auth/login/`]).catch(() => '000');
    if (code.trim() === '200') return (performance.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Successful SSH logins so far on a lab host, from its sshd log (sshd -e logs to the container output). */
function sshLogins(container: string): number {
  const res = spawnSync('docker', ['logs', container], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return `${res.stdout}${res.stderr}`.split('\n').filter((l) => l.includes('Accepted publickey')).length;
}

type StepTimes = Record<string, number[]>;

const f = (x: number) => x.toFixed(2);

/** Run the CLI (`apply` or `plan`) with --json; its wall time, exit, outcome, peak RSS and CPU time, per-host rollout. */
function cli(
  command: 'apply' | 'plan',
  inventory: string,
  rssFile: string,
  steps?: StepTimes,
  args: string[] = [],
): { seconds: number; code: number; outcome: string; rss: number; cpu: number; carried?: CarryCounts[]; rollout: number[]; served: number[] } {
  const t0 = performance.now();
  const res = spawnSync(process.execPath, ['--require', './bench/rss.cjs', 'dist/cli.js', command, '-i', inventory, ...(command === 'apply' ? ['--yes'] : []), '--json', ...args], {
    encoding: 'utf8',
    env: { ...process.env, SSH_AUTH_SOCK: '', SESSIONCTL_BENCH_RSS: rssFile },
    maxBuffer: 64 * 1024 * 1024,
  });
  const seconds = (performance.now() - t0) / 1000;
  let outcome = 'unparsable';
  let carried: CarryCounts[] | undefined;
  let rollout: number[] = [];
  let served: number[] = [];
  try {
    const report = JSON.parse(res.stdout) as { outcome: string; hosts: { steps: StepResult[] }[]; fleet: StepResult[]; sessionsCarried?: CarryCounts[] };
    outcome = report.outcome;
    carried = report.sessionsCarried;
    // Per host, the rollout: load the settings (reload or drain + restart), gate, verify, ready again.
    rollout = report.hosts.map((h) => h.steps.filter((r) => r.stage === 'apply' && ROLLOUT_STEPS.includes(r.step)).reduce((s, r) => s + r.durationMs / 1000, 0));
    // Per host, the floor's own measure: the settings loaded (drain included) to the login page's first 200 (the gate's word).
    served = report.hosts.flatMap((h) => {
      const load = h.steps.find((r) => r.stage === 'apply' && r.step === 'restart');
      const gate = /login page 200 after ([\d.]+)s/.exec(h.steps.find((r) => r.stage === 'apply' && r.step === 'health-gate')?.detail ?? '');
      return load && gate ? [load.durationMs / 1000 + Number(gate[1])] : [];
    });
    // Where the time goes: each applied step's duration, per host (fleet steps once).
    for (const r of [...report.hosts.flatMap((h) => h.steps), ...report.fleet]) {
      if (steps && r.stage === 'apply' && r.outcome !== 'skipped' && r.durationMs >= 5) (steps[r.step] ??= []).push(r.durationMs / 1000);
    }
  } catch {
    process.stderr.write(res.stderr);
  }
  const usage = JSON.parse(readFileSync(rssFile, 'utf8')) as { rss: number; cpu: number };
  return { seconds, code: res.status ?? -1, outcome, ...usage, ...(carried ? { carried } : {}), rollout, served };
}

function apply(inventory: string, rssFile: string, steps?: StepTimes, args: string[] = []) {
  return cli('apply', inventory, rssFile, steps, args);
}

const ROLLOUT_STEPS = ['restart', 'health-gate', 'verify-settings', 'lb-ready'];

/** One way to make the switch: the switch (wall time, per-host rollout, per-step times) and its re-run with nothing to change. */
interface Way {
  name: string;
  /** BENCH_WAYS picks ways by it. */
  key: string;
  /** perHost: the rollout per host; served: the settings loaded to the first 200 (sessionctl only). */
  switch(): { seconds: number; perHost: number[]; served?: number[] };
  rerun(): number;
  steps?: StepTimes;
}

/** sessionctl's switch with these extra inventory lines and flags. */
function sessionctlWay(key: string, name: string, lab: LabInfo, wheelhouse: string, rssFile: string, extra: string[], args: string[]): Way {
  const inventory = redisInventory(lab, wheelhouse, { extra: ['rollout: { serial: 1 }', ...extra] });
  const steps: StepTimes = {};
  return {
    name,
    key,
    steps,
    switch() {
      const a = apply(inventory, rssFile, steps, args);
      if (a.code !== 0 || a.outcome !== 'applied') throw new Error(`${name}: exit ${a.code}, ${a.outcome}`);
      return { seconds: a.seconds, perHost: a.rollout, served: a.served };
    },
    rerun() {
      const b = apply(inventory, rssFile, undefined, args);
      if (b.code !== 0 || b.outcome !== 'no-change') throw new Error(`${name}: the re-run was not a no-change: exit ${b.code}, ${b.outcome}`);
      return b.seconds;
    },
  };
}

/** Issue 15's yardstick: bench/ansible/switch-redis.yml; per host, its restart -> 200 (ensureAnsible first). */
function playbookWay(lab: LabInfo, wheelhouse: string): Way {
  return {
    name: 'Ansible playbook (by hand)',
    key: 'playbook',
    switch() {
      const r = ansibleSwitch(lab, wheelhouse);
      if (r.perHost.length !== lab.hosts.length) throw new Error(`the playbook restarted ${r.perHost.length} of ${lab.hosts.length} hosts`);
      return r;
    },
    rerun() {
      const r = ansibleSwitch(lab, wheelhouse);
      if (r.perHost.length) throw new Error('the playbook restarted a host on its re-run');
      return r.seconds;
    },
  };
}

/**
 * Issue 15: the switch under load through HAProxy, for each way a host loads the settings and for
 * the hand-written playbook (first: a broken comparison stops the bench before its long part).
 */
async function underLoad(lab: LabInfo, wheelhouse: string, rssFile: string, floorPerHost: number): Promise<string[]> {
  const all = [
    playbookWay(lab, wheelhouse),
    sessionctlWay('reload', 'graceful reload (default)', lab, wheelhouse, rssFile, [], []),
    sessionctlWay('drained-restart', 'restart behind a drain', lab, wheelhouse, rssFile, LAB_LOADBALANCER, ['--restart']),
    sessionctlWay('restart', 'plain restart', lab, wheelhouse, rssFile, [], ['--restart']),
  ];
  const picked = process.env.BENCH_WAYS?.split(',');
  const unknown = picked?.filter((k) => !all.some((w) => w.key === k));
  if (unknown?.length) throw new Error(`BENCH_WAYS: no way named ${unknown.join(', ')} (known: ${all.map((w) => w.key).join(', ')})`);
  const ways = all.filter((w) => !picked || picked.includes(w.key));
  // Debian's ansible is installed on first use, and only when the playbook runs.
  if (ways.some((w) => w.key === 'playbook')) ensureAnsible();
  const lines: string[] = [];
  const fullOf: Record<string, number> = {};
  for (const way of ways) {
    const failed: string[] = [];
    const perHost: number[] = [];
    const served: number[] = [];
    const full: number[] = [];
    const again: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      await labReset(lab.name);
      const lb = await labLoadBalancer(lab, { socketLevel: 'admin' });
      const { result, seen } = await withLoad(lb, () => way.switch());
      failed.push(`${seen.failed}/${seen.total}`);
      perHost.push(...result.perHost);
      served.push(...(result.served ?? []));
      full.push(result.seconds);
      again.push(way.rerun());
    }
    const host = median(perHost);
    fullOf[way.key] = median(full);
    lines.push(`    ${way.name.padEnd(26)} failed requests ${failed.join(', ')}; per host ${f(host)} s (${f(host / floorPerHost)} x floor; raw ${perHost.map(f).join(' ')}); full switch ${f(median(full))} s; re-run ${f(median(again))} s`);
    if (served.length) lines.push(`      settings loaded -> first 200, per host (the floor's measure): ${f(median(served))} s (${f(median(served) / floorPerHost)} x floor; raw ${served.map(f).join(' ')})`);
    if (way.steps) lines.push(`      median seconds per applied step: ${Object.entries(way.steps).map(([k, v]) => `${k} ${f(median(v))}`).join(', ')}`);
  }
  const { playbook, reload } = fullOf;
  return [
    `  under load: 2 clients through HAProxy during the switch (median of ${RUNS}; floor per host ${f(floorPerHost)} s)`,
    ...lines,
    ...(playbook && reload ? [`    sessionctl's switch by reload / the playbook's: ${f(reload / playbook)} (target <= 0.5; sessionctl with the carry-over and every verification on)`] : []),
  ];
}

/** The django-redis an operator would pin for the flavour's Django (what sessionctl takes from the lab's wheelhouse). */
const DJANGO_REDIS: Record<Flavour, string> = { zed: '5.2.0', h25: '5.4.0', k2026: '5.4.0' };

/** Debian's ansible, installed on first use (it is not a test dependency: only the bench compares against it). */
function ensureAnsible(): void {
  if (spawnSync('ansible-playbook', ['--version']).status === 0) return;
  process.stderr.write('  installing Debian\'s ansible for the comparison\n');
  const res = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'ansible'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (res.status !== 0) throw new Error('apt-get install ansible failed');
}

/** bench/ansible/switch-redis.yml against the lab: wall time, and each host's restart -> 200 from the playbook's own clock (none: nothing restarted). */
function ansibleSwitch(lab: LabInfo, wheelhouse: string): { seconds: number; perHost: number[] } {
  const dir = mkdtempSync(join(tmpdir(), 'bench-ansible-'));
  const inventory = join(dir, 'hosts');
  writeFileSync(
    inventory,
    ['[dashboard]', ...lab.hosts.map((h) => `${h.name} ansible_host=${h.address} ansible_port=${h.sshPort} login_url=${horizonUrl(lab, h)}/auth/login/`), '',
      '[dashboard:vars]', 'ansible_user=root', `ansible_ssh_private_key_file=${lab.identity}`, `ansible_ssh_common_args='-o UserKnownHostsFile=${lab.knownHosts}'`, ''].join('\n'),
  );
  // Secrets through a vars file, as an operator would keep them (never on the command line).
  const vars = join(dir, 'vars.json');
  writeFileSync(vars, JSON.stringify({
    redis_url: `redis://${lab.services.redis.ip}:${lab.services.redis.port}/0`,
    redis_password: readFileSync(lab.services.redis.passwordFile, 'utf8').trim(),
    wheelhouse,
    django_redis: DJANGO_REDIS[lab.horizon],
    pip: lab.horizon === 'k2026' ? '/var/lib/kolla/venv/bin/python3 -m pip' : 'python3 -m pip --break-system-packages',
  }), { mode: 0o600 });
  const t0 = performance.now();
  const res = spawnSync('ansible-playbook', ['-i', inventory, 'bench/ansible/switch-redis.yml', '-e', `@${vars}`], {
    encoding: 'utf8',
    env: { ...process.env, ANSIBLE_NOCOLOR: '1', SSH_AUTH_SOCK: '' },
    maxBuffer: 64 * 1024 * 1024,
  });
  const seconds = (performance.now() - t0) / 1000;
  if (res.status !== 0) throw new Error(`ansible-playbook failed (exit ${res.status}):\n${res.stdout.slice(-3000)}${res.stderr.slice(-2000)}`);
  const perHost = [...res.stdout.matchAll(/BENCH-RESTART \S+ ([\d.]+)/g)].map((m) => Number(m[1]));
  return { seconds, perHost };
}

/** CPU seconds the whole machine has been busy (every core, /proc/stat): the CLI, sshd, Docker and the probes in the containers. */
function machineBusySeconds(): number {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq, steal] = fields.map(Number) as number[];
  return (user! + nice! + system! + irq! + softirq! + steal!) / 100; // USER_HZ
}

/** Least squares: the slope (seconds per added host) and intercept of ys over xs. */
function fit(xs: number[], ys: number[]): { slope: number; intercept: number } {
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  const slope = xs.reduce((a, x, i) => a + (x - mx) * (ys[i]! - my), 0) / xs.reduce((a, x) => a + (x - mx) ** 2, 0);
  return { slope, intercept: my - slope * mx };
}

/**
 * Issue 15: one lab of BENCH_GROWTH_HOSTS (10) hosts; the preflight (`plan`) and the no-change
 * re-run on the first 1, 2, 4, 7, 10 hosts (--limit), median of RUNS each, with the CLI's CPU
 * seconds and the whole machine's busy CPU seconds per host beside them.
 */
async function growth(flavour: Flavour): Promise<string[]> {
  const total = Number(process.env.BENCH_GROWTH_HOSTS ?? 10);
  const name = `${process.env.BENCH_LAB_PREFIX ?? 'bench-'}${flavour}-${total}`;
  const lab = await labUp({ name, horizon: flavour, hosts: total, log: (l) => process.stderr.write(`  ${l}\n`) });
  try {
    const wheelhouse = await labWheelhouse();
    const inventory = redisInventory(lab, wheelhouse, { extra: ['rollout: { serial: 1 }'] });
    const rssFile = join(mkdtempSync(join(tmpdir(), 'bench-')), 'rss');
    const sizes = [...new Set([1, 2, 4, 7, total].filter((n) => n <= total))];
    const measure = (command: 'apply' | 'plan', n: number, outcome: string) => {
      const wall: number[] = [];
      const cpu: number[] = [];
      const busy: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const b0 = machineBusySeconds();
        const r = cli(command, inventory, rssFile, undefined, ['--limit', lab.hosts.slice(0, n).map((h) => h.name).join(',')]);
        if (r.code !== 0 || r.outcome !== outcome) throw new Error(`${command} on ${n} hosts: exit ${r.code}, ${r.outcome}`);
        busy.push(machineBusySeconds() - b0);
        wall.push(r.seconds);
        cpu.push(r.cpu);
      }
      return { n, wall: median(wall), cli: median(cpu), busyPerHost: median(busy) / n };
    };
    await labReset(lab.name);
    await new Promise((r) => setTimeout(r, 10_000)); // the hosts settle after the reset's restarts
    const preflight = sizes.map((n) => measure('plan', n, 'planned'));
    const a = apply(inventory, rssFile);
    if (a.code !== 0 || a.outcome !== 'applied') throw new Error(`the switch of ${total} hosts: exit ${a.code}, ${a.outcome}`);
    await new Promise((r) => setTimeout(r, 10_000));
    const noChange = sizes.map((n) => measure('apply', n, 'no-change'));
    const row = (what: string, ms: typeof preflight) => {
      const { slope, intercept } = fit(ms.map((m) => m.n), ms.map((m) => m.wall));
      return [
        `  ${what}: ${f(slope)} s per added host (fit: ${f(intercept)} s + ${f(slope)} s x hosts)`,
        ...ms.map((m) => `    ${String(m.n).padStart(2)} hosts  ${f(m.wall)} s   CLI CPU ${f(m.cli)} s (${f(m.cli / m.n)} s/host)   machine CPU ${f(m.busyPerHost)} s/host`),
      ];
    };
    return [
      `sessionctl bench: growth on lab '${lab.name}', ${total} hosts (Horizon ${flavour}), --limit to the first N, median of ${RUNS}`,
      ...row('preflight (plan memcached -> Redis)', preflight),
      `  the switch of all ${total} hosts (reload): ${f(a.seconds)} s`,
      ...row('no-change re-run (apply)', noChange),
    ];
  } finally {
    await labDown(name);
  }
}

const CARRY_HOPS = ['redis', 'memcached', 'database', 'redis'] as const;
const CARRY_SESSIONS = 1000;

async function main(): Promise<void> {
  spawnSync('bash', ['test/lab/host-setup.sh'], { stdio: 'inherit' });
  spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  const flavours = (process.env.BENCH_FLAVOURS ?? 'zed,k2026').split(',').filter(Boolean) as Flavour[];
  if (process.env.BENCH_ONLY === 'growth') {
    process.stdout.write(`${(await growth(flavours[0]!)).join('\n')}\n`);
    return;
  }
  const reports: string[] = [];
  for (const flavour of flavours) {
    const name = `${process.env.BENCH_LAB_PREFIX ?? 'bench-'}${flavour}`;
    const lab = await labUp({ name, horizon: flavour, hosts: 3, log: (l) => process.stderr.write(`  ${l}\n`) });
    try {
      reports.push((await bench(lab)).join('\n'));
    } finally {
      // One lab at a time on two cores: the next flavour's figures must not share the CPUs.
      await labDown(name);
    }
    process.stdout.write(`${reports.at(-1)}\n`);
  }
  if (reports.length > 1) process.stdout.write(`\n${reports.join('\n\n')}\n`);
}

async function bench(lab: LabInfo): Promise<string[]> {
  const wheelhouse = await labWheelhouse();
  const inventory = redisInventory(lab, wheelhouse, { extra: ['rollout: { serial: 1 }'] });

  const rssFile = join(mkdtempSync(join(tmpdir(), 'bench-')), 'rss');

  await labReset(lab.name);
  const restarts: number[] = [];
  for (let i = 0; i < RUNS; i++) for (const h of lab.hosts) restarts.push(await restartTo200(lab, h, i));
  const floor = (median(restarts) * lab.hosts.length) / 1;
  const floorLine = `  floor (settings change + restart -> 200 incl. Kolla's recompress, one host, median of ${restarts.length}) ${f(median(restarts))} s  x ${lab.hosts.length} hosts = ${f(floor)} s   (raw ${restarts.map(f).join(' ')})`;
  const title = `sessionctl bench: lab '${lab.name}', ${lab.hosts.length} hosts (Horizon ${lab.horizon}), rollout.serial 1, ${RUNS} runs each, medians`;
  if (process.env.BENCH_ONLY === 'floor') return [title, floorLine];
  if (process.env.BENCH_ONLY === 'load') return [title, floorLine, ...(await underLoad(lab, wheelhouse, rssFile, median(restarts)))];

  const full: number[] = [];
  const noChange: number[] = [];
  const settled: number[] = [];
  const rss: number[] = [];
  const connections: number[] = [];
  const steps: StepTimes = {};
  for (let i = 0; i < RUNS; i++) {
    await labReset(lab.name);
    const before = lab.hosts.map((h) => sshLogins(h.container));
    const a = apply(inventory, rssFile, steps);
    if (a.code !== 0 || a.outcome !== 'applied') throw new Error(`apply failed: exit ${a.code}, ${a.outcome}`);
    const after = lab.hosts.map((h) => sshLogins(h.container));
    connections.push(...after.map((n, j) => n - before[j]!));
    full.push(a.seconds);
    rss.push(a.rss);
    const b = apply(inventory, rssFile);
    if (b.code !== 0 || b.outcome !== 'no-change') throw new Error(`re-run was not a no-change: exit ${b.code}, ${b.outcome}`);
    noChange.push(b.seconds);
    rss.push(b.rss);
    await new Promise((r) => setTimeout(r, 10_000));
    const c = apply(inventory, rssFile);
    if (c.code !== 0 || c.outcome !== 'no-change') throw new Error(`the settled re-run was not a no-change: exit ${c.code}, ${c.outcome}`);
    settled.push(c.seconds);
  }
  // Without the carry-over, as issue 3 measured before it existed.
  const bare: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    await labReset(lab.name);
    const a = apply(inventory, rssFile, undefined, ['--no-carry-sessions']);
    if (a.code !== 0 || a.outcome !== 'applied') throw new Error(`apply --no-carry-sessions failed: exit ${a.code}, ${a.outcome}`);
    bare.push(a.seconds);
  }

  // Carry-over, hop by hop through every pair the issue names.
  const allBackends = allBackendsInventory(lab, wheelhouse);
  const copy: Record<string, number[]> = {};
  const stepTimes: Record<string, number[]> = {};
  for (let i = 0; i < (process.env.BENCH_CARRY === '0' ? 0 : RUNS); i++) {
    await labReset(lab.name);
    let from = 'memcached';
    for (const to of CARRY_HOPS) {
      await horizonSessions(lab.hosts[1]!.container, { op: 'create', n: CARRY_SESSIONS, token: 'bench', ttl: 600, step: 1 });
      const hopSteps: StepTimes = {};
      const a = apply(allBackends, rssFile, hopSteps, ['--backend', to]);
      const first = a.carried?.[0];
      if (a.code !== 0 || a.outcome !== 'applied' || !first || first.carried < CARRY_SESSIONS) {
        throw new Error(`${from} -> ${to} with carry-over: exit ${a.code}, ${a.outcome}, ${JSON.stringify(a.carried)}`);
      }
      // Per 1,000 sessions carried (earlier hops' sessions are still live and counted).
      (copy[`${from} -> ${to}`] ??= []).push((first.seconds * 1000) / first.carried);
      (stepTimes[`${from} -> ${to}`] ??= []).push(((hopSteps['carry-sessions']?.[0] ?? 0) * 1000) / first.carried);
      rss.push(a.rss);
      from = to;
    }
  }
  await labReset(lab.name);

  const mFull = median(full);
  const lines = [
    title,
    floorLine,
    `  full switch memcached -> Redis  ${f(mFull)} s   ratio to floor ${f(mFull / floor)}   over floor ${f(mFull - floor)} s`,
    `  no-change re-run                ${f(median(noChange))} s right after the switch, ${f(median(settled))} s once the hosts settled (10 s later)   (target <= 1.5 s: ${median(noChange) <= 1.5 ? 'met' : median(settled) <= 1.5 ? 'met once settled' : 'NOT met'})`,
    `  SSH connections per host        ${[...new Set(connections)].join(', ')} (per run and host; target 1)`,
    `  peak RSS of the CLI             ${f(Math.max(...rss) / 1024 / 1024)} MB max, ${f(median(rss) / 1024 / 1024)} MB median (target <= 150 MB)`,
    `  full switch, median seconds per applied step (per host; fleet steps once): ${Object.entries(steps).map(([k, v]) => `${k} ${f(median(v))}`).join(', ')}`,
    `  full switch without carry-over  ${f(median(bare))} s   (--no-carry-sessions; ratio to floor ${f(median(bare) / floor)})`,
    `  carry-over, seconds per 1,000 sessions (median of ${RUNS}; copy inside the container / whole first-pass step) (target < 1 s):`,
    ...Object.keys(copy).map((hop) => `    ${hop.padEnd(24)} ${f(median(copy[hop]!))} / ${f(median(stepTimes[hop]!))}`),
    ...(await underLoad(lab, wheelhouse, rssFile, median(restarts))),
    `  raw: full ${full.map(f).join(' ')}; no-change ${noChange.map(f).join(' ')}; settled ${settled.map(f).join(' ')}; without carry ${bare.map(f).join(' ')}; restarts ${restarts.map(f).join(' ')}`,
  ];
  return lines;
}

main().catch((err: Error) => {
  process.stderr.write(`bench failed: ${err.message}\n`);
  process.exit(1);
});
