/**
 * Fault suite (issue 5): things that go wrong during a real memcached -> Redis switch. Every case
 * byte-compares each host's settings files with the originals and asks Django inside every
 * container which backend it resolved: nothing may be lost, no host left half-switched.
 * (Redis down, a host failing its health gate on host 2, and a concurrent run are covered in
 * apply-redis-variants and kolla-override.)
 */
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { cli, djangoSettings, fleetSnapshot, horizonStartedAt, labInventory, labs, labWheelhouse, onHost, scratch } from './harness.js';
import { labReset, type LabInfo } from './lab.js';
import type { SwitchReport } from '../../src/commands/apply.js';

const FILES = ['/etc/kolla/horizon/_9999-custom-settings.py', '/etc/kolla/horizon/_9998-kolla-settings.py'];

function inventory(lab: LabInfo, wheelhouse: string): string {
  return labInventory(lab, scratch(), {
    extra: [
      'session:',
      '  backend: redis',
      `  redis: { url: "redis://${lab.services.redis.ip}:${lab.services.redis.port}/0", password_file: "${lab.services.redis.passwordFile}" }`,
      `install: { method: wheelhouse, wheelhouse: "${wheelhouse}" }`,
    ].join('\n'),
  });
}

/** The CLI as a child process, so the test can act while it runs. */
function startApply(inv: string) {
  const child = spawn(process.execPath, ['dist/cli.js', 'apply', '-i', inv, '--yes', '--json'], { env: { ...process.env, SSH_AUTH_SOCK: '' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<{ code: number | null; signal: string | null; report: SwitchReport; stderr: string }>((resolve, reject) =>
    child.on('close', (code, signal) => {
      try {
        resolve({ code, signal, report: JSON.parse(stdout) as SwitchReport, stderr });
      } catch {
        reject(new Error(`no JSON report (exit ${code}, signal ${signal}):\n${stderr}\n${stdout}`));
      }
    }),
  );
  return { child, done };
}

/** Poll until `cond` holds (the CLI is mid-run); fails the test after `seconds`. */
async function until(what: string, cond: () => Promise<boolean>, seconds = 240): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (await cond().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting until ${what}`);
}

type Snapshot = { files: Awaited<ReturnType<typeof fleetSnapshot>>; django: Awaited<ReturnType<typeof djangoSettings>>[] };

async function snapshot(lab: LabInfo): Promise<Snapshot> {
  return { files: await fleetSnapshot(lab, FILES), django: await Promise.all(lab.hosts.map((h) => djangoSettings(h.container))) };
}

/** Nothing lost: every file has its original bytes and Django resolves the original backend everywhere. */
async function assertUntouched(t: ExecutionContext, lab: LabInfo, before: Snapshot): Promise<void> {
  const after = await snapshot(lab);
  t.deepEqual(after.files.map((h) => h.files), before.files.map((h) => h.files), 'every settings file has its exact original bytes');
  t.deepEqual(after.django, before.django, 'Django resolves the original backend on every host');
  t.regex(before.django[0]!.backend, /memcached/);
}

// The failure handling is sessionctl's, not the Horizon flavour's: one lab is enough.
const lab = labs()[0];
if (!lab) test('the fault suite needs a lab (npm test)', (t) => t.pass());
else {
  test.serial(`${lab.name}: Ctrl-C during the rolling restart stops cleanly, rolls back, exits non-zero`, async (t) => {
    await labReset(lab.name);
    const before = await snapshot(lab);
    const run = startApply(inventory(lab, await labWheelhouse()));
    const dash1 = lab.hosts[0]!.container;
    await until('host 1 was restarted', async () => (await horizonStartedAt(dash1)) !== before.files[0]!.started);
    run.child.kill('SIGINT');
    const { code, report } = await run.done;
    t.is(code, 2);
    t.is(report.outcome, 'rolled-back');
    t.regex(report.error ?? '', /interrupted by SIGINT/);
    t.deepEqual([...(report.rolledBack ?? [])].sort(), lab.hosts.map((h) => h.name).sort());
    await assertUntouched(t, lab, before);
    const after = await fleetSnapshot(lab, FILES);
    t.is(after[2]!.started, before.files[2]!.started, 'host 3 was never restarted');
    const locks = await Promise.all(lab.hosts.map((h) => onHost(h.container, ['test', '-e', '/var/lib/sessionctl/lock']).then(() => true, () => false)));
    t.deepEqual(locks, lab.hosts.map(() => false), 'locks released');
  });

  test.serial(`${lab.name}: a horizon container stopped by someone mid-run is a clear error; everything is put back and it stays stopped`, async (t) => {
    await labReset(lab.name);
    const before = await snapshot(lab);
    const run = startApply(inventory(lab, await labWheelhouse()));
    const [dash1, dash2] = [lab.hosts[0]!.container, lab.hosts[1]!.container];
    await until('host 1 was restarted', async () => (await horizonStartedAt(dash1)) !== before.files[0]!.started);
    await onHost(dash2, ['docker', 'stop', '-t', '1', 'horizon']);
    const { code, report } = await run.done;
    t.is(code, 2);
    t.regex(report.error ?? '', /dash2: container 'horizon' is exited now \(it was running at preflight\)/);
    t.is(report.outcome, 'rolled-back');
    t.is((await onHost(dash2, ['docker', 'inspect', '-f', '{{.State.Status}}', 'horizon'])).trim(), 'exited', 'sessionctl did not start what someone stopped');
    await onHost(dash2, ['docker', 'start', 'horizon']);
    await assertUntouched(t, lab, before);
  });

  test.serial(`${lab.name}: a full disk under /var/lib/sessionctl is refused before any change`, async (t) => {
    await labReset(lab.name);
    const dash2 = lab.hosts[1]!.container;
    const inv = inventory(lab, await labWheelhouse());
    const before = await snapshot(lab);
    try {
      // Too small for backups: the preflight's disk check refuses.
      await onHost(dash2, ['sh', '-c', 'mkdir -p /var/lib/sessionctl && mount -t tmpfs -o size=1m tmpfs /var/lib/sessionctl']);
      let res = await cli(['apply', '-i', inv, '--yes', '--json']);
      t.is(res.code, 2, res.stderr);
      t.regex((JSON.parse(res.stdout) as SwitchReport).error ?? '', /dash2: .*KiB free for \/var\/lib\/sessionctl\/backups; need 16 MiB/);
      // Completely full: not even the lock can be written.
      await onHost(dash2, ['sh', '-c', 'dd if=/dev/zero of=/var/lib/sessionctl/fill bs=64k 2>/dev/null; true']);
      res = await cli(['apply', '-i', inv, '--yes', '--json']);
      t.is(res.code, 2, res.stderr);
      const report = JSON.parse(res.stdout) as SwitchReport;
      t.is(report.outcome, 'refused');
      t.regex(report.error ?? '', /dash2: could not take the lock: .*No space left on device/);
      const locks = await Promise.all(lab.hosts.map((h) => onHost(h.container, ['test', '-e', '/var/lib/sessionctl/lock']).then(() => true, () => false)));
      t.deepEqual(locks, lab.hosts.map(() => false), 'the locks taken on the other hosts were released');
    } finally {
      await onHost(dash2, ['umount', '/var/lib/sessionctl']).catch(() => undefined);
    }
    await assertUntouched(t, lab, before);
  });

  test.after.always(`${lab.name}: reset the lab`, async () => {
    await onHost(lab.hosts[1]!.container, ['sh', '-c', 'docker start horizon; umount /var/lib/sessionctl; true']).catch(() => undefined);
    await labReset(lab.name);
  });
}
