/**
 * `sessionctl status` against the real lab: real sshd, real Docker engines, real Horizon.
 * Every expectation is checked against Django inside the container (through the outer engine),
 * not against sessionctl's own report.
 */
import test from 'ava';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cli, djangoSettings, labInventory, labsFor, onHost, runs, scratch, skipUnlessRuns, writeFile } from './harness.js';
import type { HostStatus, StatusReport } from '../../src/report/types.js';
import { horizonUrl, labReset } from './lab.js';

const expectedDjango = { zed: '3.2', h25: '4.2', k2026: '4.2' } as const;

function parse(stdout: string): StatusReport {
  return JSON.parse(stdout) as StatusReport;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

skipUnlessRuns(test, 'status:django', 'status:access', 'status:ssh-config');

for (const lab of labsFor('status:django')) {
  // Another scenario may have switched this lab: start from the state labUp made.
  test.before(async () => {
    await labReset(lab.name);
  });

  const secretSha = createHash('sha256').update(lab.secretKey).digest('hex').slice(0, 16);
  const memcached = `${lab.services.memcached.ip}:${lab.services.memcached.port}`;

  const assertLikeDjango = async (t: import('ava').ExecutionContext, rows: HostStatus[]) => {
    t.is(rows.length, lab.hosts.length);
    for (const h of lab.hosts) {
      const row = rows.find((r) => r.host === h.name);
      t.truthy(row, `${h.name} reported`);
      const truth = await djangoSettings(h.container);
      t.true(truth.django.startsWith(expectedDjango[lab.horizon]), `real Django ${truth.django}`);
      t.is(row?.reachable, true);
      t.is(row?.django, truth.django);
      t.is(row?.sessionEngine, truth.engine);
      t.is(row?.cache?.backend, truth.backend);
      t.deepEqual(row?.cache?.location, truth.location);
      t.is(row?.secretKeySha256, truth.secretSha);
      // And the lab is what we think it is: memcached everywhere, one shared SECRET_KEY.
      t.is(row?.backend, 'memcached');
      t.deepEqual(row?.persistence, { survives: false, detail: 'no: memcached keeps them in memory only' });
      t.is(row?.secretKeySha256, secretSha);
      t.true(JSON.stringify(row?.cache?.location).includes(memcached));
      t.is(row?.container?.health, 'healthy');
      // Where the lab's web server listens (uWSGI on the host's address :8080 on k2026, Apache :80 before).
      t.deepEqual(row?.webServer, { kind: lab.horizon === 'k2026' ? 'uwsgi' : 'apache', loginUrl: `${horizonUrl(lab, h)}/auth/login/` });
      t.is(row?.layout, lab.layout === 'legacy' ? 'kolla-local-settings' : 'kolla-local-settings-d');
      // Kolla 2026.1 bakes django_redis into the image (k2026); older images lack it. Asked independently.
      const baked = (await onHost(h.container, ['docker', 'exec', 'horizon', 'python3', '-c', 'import importlib.util as u; print(bool(u.find_spec("django_redis")))'])).trim() === 'True';
      t.is(baked, lab.horizon === 'k2026', 'django_redis is in the image exactly on k2026');
      t.is(row?.imports?.django_redis !== null, baked, `status says django_redis ${baked ? 'imports' : 'is missing'}`);
    }
  };

  test(`${lab.name}: status as root reports what Django really resolved on every host`, async (t) => {
    const res = await cli(['status', '-i', lab.inventory, '--json']);
    t.is(res.code, 0, res.stderr);
    const report = parse(res.stdout);
    await assertLikeDjango(t, report.hosts);
    t.deepEqual(report.warnings, []);
    t.true(report.hosts.every((r) => r.engine === 'api'));
  });

  // Issue 18: hosts named only by ssh_config aliases (-F): HostName, Port, User, IdentityFile,
  // UserKnownHostsFile from the file; the first host through a ProxyJump alias that is no
  // inventory host (its lab address is reachable only from the jump host).
  if (runs('status:ssh-config', lab)) {
    test(`${lab.name}: status of hosts named only by ssh_config aliases, one through a ProxyJump alias`, async (t) => {
      const dir = scratch();
      const [first, ...rest] = lab.hosts;
      const config = writeFile(dir, 'ssh_config', [
        `Host ${first!.name}`,
        `    HostName ${first!.ip}`,
        '    ProxyJump gate',
        'Host gate',
        '    HostName 127.0.0.1',
        `    Port ${lab.jump.sshPort}`,
        ...rest.flatMap((h) => [`Host ${h.name}`, '    HostName 127.0.0.1', `    Port ${h.sshPort}`]),
        'Host *',
        '    User root',
        `    IdentityFile ${lab.identity}`,
        `    UserKnownHostsFile ${lab.knownHosts}`,
        '    StrictHostKeyChecking yes',
        '',
      ].join('\n'));
      const inv = writeFile(dir, 'inventory.yaml', ['hosts:', ...lab.hosts.map((h) => `  ${h.name}: {}`), ''].join('\n'));
      const res = await cli(['status', '-i', inv, '-F', config, '--json', '--verbose']);
      t.is(res.code, 0, res.stderr);
      await assertLikeDjango(t, parse(res.stdout).hosts);
      const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
      t.regex(res.stderr, new RegExp(`debug: host '${first!.name}': from ssh_config: HostName ${esc(first!.ip)} \\(${esc(config)}:2\\), .*ProxyJump gate`));
      t.regex(res.stderr, /debug: host 'gate' \(jump host from ProxyJump\): from ssh_config: HostName 127\.0\.0\.1/);
    });
  }

  // SSH and Docker access do not depend on the Horizon flavour (see MATRIX).
  if (!runs('status:access', lab)) continue;

  test(`${lab.name}: status as a sudo user falls back to sudo -n docker`, async (t) => {
    const inv = labInventory(lab, scratch(), { defaults: { user: 'kolla', become: true } });
    const res = await cli(['status', '-i', inv, '--json']);
    t.is(res.code, 0, res.stderr);
    const report = parse(res.stdout);
    t.true(report.hosts.every((r) => r.engine === 'sudo-cli'));
    await assertLikeDjango(t, report.hosts);
  });

  test(`${lab.name}: a sudo user without become gets a clear error about the Docker socket`, async (t) => {
    const inv = labInventory(lab, scratch(), { defaults: { user: 'kolla', become: false } });
    const res = await cli(['status', '-i', inv, '--json', '--limit', 'dash1']);
    t.is(res.code, 2);
    const row = parse(res.stdout).hosts[0];
    t.regex(row?.error ?? '', /docker\.sock.*become: true/);
  });

  test(`${lab.name}: status through a jump host reaches hosts by their lab address`, async (t) => {
    const hosts: Record<string, Record<string, unknown>> = {
      bastion: { address: '127.0.0.1', port: lab.jump.sshPort, role: 'jump' },
    };
    for (const h of lab.hosts) hosts[h.name] = { address: h.ip, proxy_jump: 'bastion' };
    const inv = labInventory(lab, scratch(), { hosts });
    const res = await cli(['status', '-i', inv, '--json']);
    t.is(res.code, 0, res.stderr);
    await assertLikeDjango(t, parse(res.stdout).hosts);
  });

  test(`${lab.name}: --limit selects hosts and the table shows the effective backend`, async (t) => {
    const res = await cli(['status', '-i', lab.inventory, '--limit', 'dash2']);
    t.is(res.code, 0, res.stderr);
    t.regex(res.stdout, /^HOST\s+CONTAINER\s+WEB SERVER\s+DJANGO/m);
    t.regex(res.stdout, new RegExp(`dash2\\s+running/healthy\\s+(apache|uwsgi) \\S+\\s+${expectedDjango[lab.horizon].replace('.', '\\.')}`));
    t.regex(res.stdout, /memcached/);
    t.notRegex(res.stdout, /dash1/);
  });

  test(`${lab.name}: an unknown host key is refused, then trusted only with --accept-new-host-keys`, async (t) => {
    const dir = scratch();
    const known = writeFile(dir, 'known_hosts', '');
    const inv = labInventory(lab, dir, { defaults: { known_hosts: known } });
    const refused = await cli(['status', '-i', inv, '--json']);
    t.is(refused.code, 4);
    for (const row of parse(refused.stdout).hosts) {
      t.false(row.reachable);
      t.regex(row.error ?? '', /unknown host key ssh-\S+ SHA256:\S+/);
    }
    t.is(readFileSync(known, 'utf8'), '', 'nothing written when refused');

    const accepted = await cli(['status', '-i', inv, '--json', '--accept-new-host-keys']);
    t.is(accepted.code, 0, accepted.stderr);
    const lines = readFileSync(known, 'utf8').trim().split('\n');
    t.is(lines.length, lab.hosts.length);
    for (const h of lab.hosts) t.true(lines.some((l) => l.startsWith(`[127.0.0.1]:${h.sshPort} `)));

    const again = await cli(['status', '-i', inv, '--json']);
    t.is(again.code, 0, 'recorded keys are trusted afterwards');
  });

  test(`${lab.name}: a changed host key is always refused with both fingerprints; other hosts still reported`, async (t) => {
    const dir = scratch();
    const target = lab.hosts[0]!;
    // A real key of the same type that the host does not have: what a man-in-the-middle would present.
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'forged')]);
    const forgedPub = readFileSync(join(dir, 'forged.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
    const fakeLine = `[127.0.0.1]:${target.sshPort} ${forgedPub}`;
    const original = readFileSync(lab.knownHosts, 'utf8')
      .split('\n')
      .filter((l) => !l.startsWith(`[127.0.0.1]:${target.sshPort} `));
    const known = writeFile(dir, 'known_hosts', [...original, fakeLine].join('\n') + '\n');
    const inv = labInventory(lab, dir, { defaults: { known_hosts: known } });
    for (const flags of [[], ['--accept-new-host-keys']]) {
      const res = await cli(['status', '-i', inv, '--json', ...flags]);
      t.is(res.code, 4);
      const rows = parse(res.stdout).hosts;
      const bad = rows.find((r) => r.host === target.name);
      t.regex(bad?.error ?? '', /HOST KEY CHANGED.*presents ssh-ed25519 SHA256:\S+.*has SHA256:\S+/s);
      t.true(rows.filter((r) => r.host !== target.name).every((r) => r.reachable && r.backend === 'memcached'));
    }
    t.is(readFileSync(known, 'utf8').split('\n').filter(Boolean).length, original.filter(Boolean).length + 1, 'known_hosts untouched');
  });

  test(`${lab.name}: keys from ssh-agent, and RSA and ECDSA key files, are accepted`, async (t) => {
    const dir = scratch();
    const target = lab.hosts[0]!;
    // RSA and ECDSA keys of the operator, authorised on dash1 for this test.
    for (const type of ['rsa', 'ecdsa']) {
      execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-f', join(dir, `id_${type}`)]);
      await onHost(target.container, ['sh', '-c', 'cat >> /root/.ssh/authorized_keys'], readFileSync(join(dir, `id_${type}.pub`), 'utf8'));
      const inv = labInventory(lab, dir, { defaults: { identity: join(dir, `id_${type}`) } });
      const res = await cli(['status', '-i', inv, '--json', '--limit', target.name]);
      t.is(res.code, 0, `${type}: ${res.stderr}`);
      t.is(parse(res.stdout).hosts[0]?.backend, 'memcached');
    }
    // No identity in the inventory: the agent (SSH_AUTH_SOCK) holds the lab key.
    const agent = execFileSync('ssh-agent', ['-s']).toString();
    const sock = /SSH_AUTH_SOCK=([^;]+);/.exec(agent)![1]!;
    const pid = /SSH_AGENT_PID=(\d+);/.exec(agent)![1]!;
    try {
      execFileSync('ssh-add', ['-q', lab.identity], { env: { ...process.env, SSH_AUTH_SOCK: sock } });
      const inv = labInventory(lab, scratch(), { defaults: { identity: null } });
      const res = await cli(['status', '-i', inv, '--json'], { SSH_AUTH_SOCK: sock });
      t.is(res.code, 0, res.stderr);
      t.true(parse(res.stdout).hosts.every((h) => h.backend === 'memcached'));
    } finally {
      process.kill(Number(pid));
    }
  });

  test(`${lab.name}: one host down gives exit 4 and the others are still reported`, async (t) => {
    const hosts: Record<string, Record<string, unknown>> = Object.fromEntries(
      lab.hosts.map((h) => [h.name, { address: h.address, port: h.sshPort }]),
    );
    hosts.dash9 = { address: '127.0.0.1', port: await freePort() };
    const inv = labInventory(lab, scratch(), { hosts });
    const res = await cli(['status', '-i', inv, '--json']);
    t.is(res.code, 4);
    const rows = parse(res.stdout).hosts;
    t.regex(rows.find((r) => r.host === 'dash9')?.error ?? '', /connection refused/);
    await assertLikeDjango(t, rows.filter((r) => r.host !== 'dash9'));
  });
}
