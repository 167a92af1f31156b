/**
 * The guided mode driven like an operator would: the built CLI in a real pseudo-terminal (tmux),
 * keys typed, the screen read. Outcomes are checked independently (Django inside each container,
 * the settings files' bytes on the hosts), then the saved inventory is used unattended.
 */
import test from 'ava';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, djangoSettings, fleetSnapshot, hostFileBytes, labInventory, labsFor, labs, labWheelhouse, runs, scratch } from './harness.js';
import { labReset, type LabInfo } from './lab.js';
import { closeAll, text, Tty } from './tty.js';
import type { SwitchReport } from '../../src/report/types.js';

const CUSTOM = '/etc/kolla/horizon/_9999-custom-settings.py';
const CLI = join(process.cwd(), 'dist/cli.js');
const PW_VAR = 'GUIDE_REDIS_PASSWORD';

if (labs().length === 0) test.skip('lab scenarios need SESSIONCTL_LABS (run them with npm test)', () => undefined);

/** A folder holding ./inventory.yaml (hosts, SSH, offline install; no session): the guide's default pick. */
async function workdir(lab: LabInfo): Promise<string> {
  const dir = scratch();
  labInventory(lab, dir, { extra: `install: { method: wheelhouse, wheelhouse: "${await labWheelhouse()}" }` });
  return dir;
}

function redisUrl(lab: LabInfo): string {
  return `redis://${lab.services.redis.ip}:${lab.services.redis.port}/0`;
}

function password(lab: LabInfo): string {
  return readFileSync(lab.services.redis.passwordFile, 'utf8').trim();
}

/** The guided mode without a command, as an operator starts it; the password variable is not set. */
function guide(dir: string): Promise<Tty> {
  return Tty.start([process.execPath, CLI], { cwd: dir, unset: ['SSH_AUTH_SOCK', PW_VAR, 'CI'] });
}

/** Up to the backend question: the picked inventory, the probes and the fleet's status. */
async function toBackend(tty: Tty): Promise<void> {
  await tty.answer('Which Horizon hosts?', 'Enter');
  await tty.answer('Inventory file', 'Enter');
  await tty.waitFor(/^\? Switch every host to which session backend\? \(now: memcached\)/m);
}

/** Redis with the password from an environment variable typed (masked) at the prompt, no security changes. */
async function redisAnswers(tty: Tty, lab: LabInfo): Promise<void> {
  await tty.answer('Switch every host to which session backend?', 'Enter');
  await tty.answer('Redis URL', text(redisUrl(lab)), 'Enter');
  await tty.answer('Redis password?', 'Down', 'Enter');
  await tty.answer('Environment variable name', 'C-u', text(PW_VAR), 'Enter');
  await tty.answer(`${PW_VAR} is not set here`, text(password(lab)), 'Enter');
  await tty.answer('Also set session expiry', 'Enter');
}

for (const lab of labsFor('guide:switch', 'guide:cancel')) {
  const all = runs('guide', lab);
  const cancelAt: [string, (tty: Tty) => Promise<void>][] = [
    ['the first question', async (tty) => tty.answer('Which Horizon hosts?', 'C-c')],
    ['the Redis URL, after status', async (tty) => {
      await toBackend(tty);
      await tty.answer('Switch every host to which session backend?', 'Enter');
      await tty.answer('Redis URL', text('redis://10.'), 'C-c');
    }],
    ['the confirmation, after the plan (hosts locked)', async (tty) => {
      await toBackend(tty);
      await redisAnswers(tty, lab);
      await tty.waitFor(/^ {4}\+CACHES = /m);
      await tty.answer('Live sessions are copied into the new backend, so users stay logged in', 'C-c');
    }],
    ['no question: while the plan runs (hosts locked)', async (tty) => {
      await toBackend(tty);
      await redisAnswers(tty, lab);
      // Once a host's lock is taken, the facts and the plan run (a second or two): Ctrl-C is then a
      // SIGINT, not a key. Watched on the host itself, as the plan can pass too fast to see on screen.
      const deadline = Date.now() + 120_000;
      while ((await hostFileBytes(lab.hosts[0]!.container, '/var/lib/sessionctl/lock')) === null) {
        if (Date.now() > deadline) throw new Error('dash1 was never locked');
      }
      await tty.send('C-c');
    }],
  ];
  // The CI matrix cancels at the first prompt only; every prompt in the full matrix.
  for (const [where, steps] of cancelAt.slice(0, all ? cancelAt.length : runs('guide:cancel', lab) ? 1 : 0)) {
    test.serial(`${lab.name}: Ctrl-C at ${where}: exit 1, nothing changed on any host, no lock left`, async (t) => {
      if (where.startsWith('the first')) await labReset(lab.name);
      const dir = await workdir(lab);
      const before = await fleetSnapshot(lab, [CUSTOM]);
      const tty = await guide(dir);
      try {
        await steps(tty);
        t.is(await tty.exitCode(60_000), 1);
        const screen = await tty.screen();
        // Ctrl-C during the plan is usually handled at the next safe point; it may also land on the confirmation.
        t.regex(screen, where.startsWith('no question') ? /^(Stopped, interrupted by SIGINT before the confirmation: nothing changed\.|sessionctl: cancelled at the prompt: nothing was changed)$/m : /^sessionctl: cancelled at the prompt: nothing was changed$/m);
        t.false(screen.includes(password(lab)), 'the typed password never shows');
        t.log(/^(Stopped, .*|sessionctl: .*)$/m.exec(screen)?.[0]);
      } finally {
        await tty.close();
      }
      t.deepEqual(await fleetSnapshot(lab, [CUSTOM]), before, 'settings files byte-equal, no container restarted');
      for (const h of lab.hosts) t.is(await hostFileBytes(h.container, '/var/lib/sessionctl/lock'), null, `${h.name}: no lock left behind`);
    });
  }

  if (runs('guide:switch', lab)) test.serial(`${lab.name}: guided memcached -> Redis: a bad URL corrected in place, Django agrees, the saved inventory then runs unattended with no change`, async (t) => {
    const dir = await workdir(lab);
    const saved = join(dir, 'saved.yaml');
    const tty = await guide(dir);
    try {
      await toBackend(tty);
      await tty.answer('Switch every host to which session backend?', 'Enter');
      // A wrong answer is refused under the prompt, and corrected there.
      await tty.answer('Redis URL', text('redis//' + lab.services.redis.ip), 'Enter');
      await tty.waitFor(/^> session\.redis\.url must be a URL starting with redis:\/\//m);
      await tty.answer('Redis URL', 'C-u', text(redisUrl(lab)), 'Enter');
      await tty.waitFor(new RegExp(`^✔ Redis URL .* ${redisUrl(lab).replace(/[./]/g, '\\$&')}$`, 'm'));
      await tty.answer('Redis password?', 'Down', 'Enter');
      await tty.answer('Environment variable name', 'C-u', text(PW_VAR), 'Enter');
      await tty.answer(`${PW_VAR} is not set here`, text(password(lab)), 'Enter');
      await tty.answer('Also set session expiry', 'Enter');
      await tty.waitFor(/^ {4}\+CACHES = \{'default': \{'BACKEND': 'django_redis\.cache\.RedisCache'/m);
      await tty.answer('Live sessions are copied into the new backend, so users stay logged in', text('y'), 'Enter');
      // The rolling restart takes its time on a busy machine.
      const n = lab.hosts.length;
      await tty.waitFor(new RegExp(`^Switched ${n} of ${n} host\\(s\\) to redis\\.$`, 'm'), 600_000);
      await tty.answer('Save these answers as an inventory file', 'Enter');
      await tty.answer('Save as', 'C-u', text(saved), 'Enter');
      t.is(await tty.exitCode(), 0, await tty.screen());
      const screen = await tty.screen();
      t.is(screen.match(/Redis URL/g)?.length, 1, 'the corrected answer replaced the wrong one');
      t.regex(screen, new RegExp(`^ {2}sessionctl apply -i ${saved.replace(/[./]/g, '\\$&')} --yes$`, 'm'));
      t.regex(screen, new RegExp(`with ${PW_VAR} set in the environment`));
      t.false(screen.includes(password(lab)), 'the typed password never shows');
    } finally {
      await tty.close();
    }

    for (const h of lab.hosts) {
      const truth = await djangoSettings(h.container);
      t.is(truth.engine, 'django.contrib.sessions.backends.cache', h.name);
      t.is(truth.backend, 'django_redis.cache.RedisCache', h.name);
      t.is(truth.location, redisUrl(lab), h.name);
    }
    const file = readFileSync(saved, 'utf8');
    t.false(file.includes(password(lab)), 'no secret in the saved inventory');
    t.regex(file, new RegExp(`password_env: ${PW_VAR}`));

    const before = await fleetSnapshot(lab, [CUSTOM]);
    const again = await cli(['apply', '-i', saved, '--yes', '--json'], { [PW_VAR]: password(lab) });
    t.is(again.code, 0, again.stderr);
    t.is((JSON.parse(again.stdout) as SwitchReport).outcome, 'no-change');
    t.deepEqual(await fleetSnapshot(lab, [CUSTOM]), before, 'the unattended rerun wrote nothing and restarted nothing');
  });

  if (all) test.serial(`${lab.name}: guided, hosts entered through the jump host: new host keys shown and trusted only after a yes; memcached in use is the default and a no-change`, async (t) => {
    await labReset(lab.name);
    const dir = scratch();
    const knownHosts = join(dir, 'known_hosts');
    const labKeys = new Map(readFileSync(lab.knownHosts, 'utf8').trim().split('\n').map((l) => l.split(' ')).map(([host, type, b64]) => [`${host} ${type}`, b64!]));
    const fp = (host: string) => {
      const b64 = labKeys.get(`${host} ssh-ed25519`)!;
      return `SHA256:${createHash('sha256').update(Buffer.from(b64, 'base64')).digest('base64').replace(/=+$/, '')}`;
    };
    const before = await fleetSnapshot(lab, [CUSTOM]);
    const tty = await guide(dir);
    try {
      await tty.answer('Which Horizon hosts?', 'Enter');
      await tty.answer('SSH user on the hosts', 'Enter');
      await tty.answer('Private key file', 'C-u', text(lab.identity), 'Enter');
      await tty.answer('known_hosts file', 'C-u', text(knownHosts), 'Enter');
      await tty.answer('Run privileged commands through sudo', 'Enter');
      await tty.answer('Are the hosts reached through a jump host', text('y'), 'Enter');
      await tty.answer('Jump host name', 'Enter');
      await tty.answer('bastion: address', text('127.0.0.1'), 'Enter');
      await tty.answer('bastion: SSH port', 'C-u', text(String(lab.jump.sshPort)), 'Enter');
      // The fingerprint shown is the jump host's real key (from the lab's own records).
      await tty.waitFor(new RegExp(`^ {4}ssh-ed25519 ${fp(`[127.0.0.1]:${lab.jump.sshPort}`).replace(/[+/]/g, '\\$&')}$`, 'm'));
      await tty.answer("Is this the host's real key", text('y'), 'Enter');
      await tty.waitFor(/^ {2}bastion: reachable, host key known$/m);
      for (const [i, h] of lab.hosts.entries()) {
        await tty.answer('Dashboard host name', 'Enter');
        await tty.answer(`${h.name}: address`, text(h.ip), 'Enter');
        await tty.answer(`${h.name}: SSH port`, 'Enter');
        await tty.waitFor(new RegExp(`^ {4}ssh-ed25519 ${fp(h.ip).replace(/[+/]/g, '\\$&')}$`, 'm'));
        if (i === 0) {
          // A no is respected: nothing recorded, the host is asked for again.
          await tty.answer("Is this the host's real key", 'Enter');
          await tty.waitFor(/^ {2}dash1: host key not trusted$/m);
          t.notRegex(readFileSync(knownHosts, 'utf8'), /172\.30/, 'refused key not recorded');
          await tty.answer('What now with dash1?', 'Enter');
          await tty.answer('Dashboard host name', 'Enter');
          await tty.answer('dash1: address', text(h.ip), 'Enter');
          await tty.answer('dash1: SSH port', 'Enter');
        }
        await tty.answer("Is this the host's real key", text('y'), 'Enter');
        await tty.waitFor(new RegExp(`^ {2}${h.name}: reachable, host key known$`, 'm'));
        await tty.answer('Add another Dashboard host?', i < lab.hosts.length - 1 ? text('y') : text('n'), 'Enter');
      }
      const server = `${lab.services.memcached.ip}:${lab.services.memcached.port}`;
      await tty.answer('Switch every host to which session backend?', 'Down', 'Down', 'Down', 'Enter'); // past Sentinel and Cluster
      await tty.answer(`memcached servers, host:port, comma separated (${server})`, 'Enter');
      await tty.answer('Also set session expiry', 'Enter');
      await tty.answer('How to install the client library', 'Enter');
      await tty.waitFor(/no change: every host already uses memcached as asked; nothing restarted\./);
      await tty.answer('Save these answers as an inventory file', 'Enter');
      await tty.answer('Save as', 'Enter');
      t.is(await tty.exitCode(120_000), 0, await tty.screen());
    } finally {
      await tty.close();
    }
    t.deepEqual(await fleetSnapshot(lab, [CUSTOM]), before, 'nothing written, nothing restarted');
    // Exactly the keys the lab's hosts have, each recorded once.
    const recorded = readFileSync(knownHosts, 'utf8').trim().split('\n');
    t.is(recorded.length, 4);
    for (const line of recorded) {
      const [host, type, b64] = line.split(' ');
      t.is(labKeys.get(`${host} ${type}`), b64, line);
    }
    const saved = join(dir, 'inventory.yaml');
    const again = await cli(['apply', '-i', saved, '--yes', '--json']);
    t.is(again.code, 0, again.stderr);
    t.is((JSON.parse(again.stdout) as SwitchReport).outcome, 'no-change');
    t.regex(readFileSync(saved, 'utf8'), /proxy_jump: bastion/);
  });

  test.after.always(`${lab.name}: reset the lab`, async () => {
    await closeAll();
    await labReset(lab.name);
  });
}

test('no terminal, --yes or --json: no prompt, a usage error (exit 5) naming the flags and inventory keys', async (t) => {
  for (const args of [[], ['guide'], ['--yes'], ['--json']]) {
    const res = await cli(args);
    t.is(res.code, 5, args.join(' '));
    t.regex(res.stderr, /--backend redis\|memcached\|database\|cookie or session\.backend/);
    t.regex(res.stderr, /--redis-url .* session\.redis\.url/);
    t.notRegex(res.stdout + res.stderr, /\?/, 'no question asked');
  }
});

// Needs tmux, which test/lab/host-setup.sh installs with the lab.
(labs().length ? test : test.skip)('in a terminal with --yes: still no prompt, the same usage error', async (t) => {
  const tty = await Tty.start([process.execPath, CLI, '--yes'], { cwd: process.cwd() });
  try {
    t.is(await tty.exitCode(30_000), 5);
    t.regex(await tty.screen(), /no guided mode \(--yes was given\)/);
  } finally {
    await tty.close();
  }
});

test.after.always('stop our tmux server', closeAll);
