/**
 * kolla-ansible's own inventory on the lab: a generated `multinode` (the lab's Dashboard hosts in
 * [control], [horizon:children] control, the lab's memcached as the memcached group and its Valkey
 * Sentinel as the valkey group), a globals.yml and a passwords.yml. `status` through the three
 * flags (-i multinode --kolla-globals --kolla-passwords) and `plan --backend redis` through a
 * sessionctl inventory whose `kolla:` key names the three files: the hosts, the derived targets and
 * where each came from, and no secret anywhere in the output. Valkey only on k2026. Read-only.
 */
import test from 'ava';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, fleetSnapshot, labInventory, labsFor, scratch, skipUnlessRuns, writeFile } from './harness.js';
import type { LabInfo } from './lab.js';
import type { StatusReport, SwitchReport } from '../../src/report/types.js';

const CUSTOM = '/etc/kolla/horizon/_9999-custom-settings.py';
const lab = labsFor('kolla-inventory')[0];

skipUnlessRuns(test, 'kolla-inventory');

/** kolla-ansible's three files for the lab, in `dir`. */
function kollaFiles(l: LabInfo, dir: string): { multinode: string; globals: string; passwords: string; secrets: string[] } {
  const v = l.services.valkey!;
  const valkeyPassword = readFileSync(v.passwordFile, 'utf8').trim();
  const dbPassword = readFileSync(l.services.mariadb.passwordFile, 'utf8').trim();
  const multinode = writeFile(
    dir,
    'multinode',
    [
      '# generated for the lab: its Dashboard hosts, reached on 127.0.0.1',
      '[control]',
      ...l.hosts.map((h) => `${h.name} ansible_host=${h.address} ansible_port=${h.sshPort} api_interface_address=${h.ip}`),
      '',
      '[control:vars]',
      'ansible_user=root',
      `ansible_ssh_private_key_file=${l.identity}`,
      '',
      '[memcached]',
      `memcached01 ansible_host=${l.services.memcached.ip}`,
      '',
      '[valkey]',
      `valkey01 api_interface_address=${v.sentinel.ip}`,
      '',
      '[horizon:children]',
      'control',
      '',
      '[deployment]',
      'localhost       ansible_connection=local',
      '',
    ].join('\n'),
  );
  const globals = writeFile(
    dir,
    'globals.yml',
    ['---', 'kolla_base_distro: "debian"', 'openstack_release: "2026.1"', `kolla_internal_vip_address: "${l.services.mariadb.ip}"`, 'network_interface: "eth0"', 'enable_valkey: "yes"', ''].join('\n'),
  );
  const passwords = writeFile(dir, 'passwords.yml', ['---', `horizon_secret_key: ${'k'.repeat(40)}`, `horizon_database_password: ${dbPassword}`, `valkey_master_password: ${valkeyPassword}`, ''].join('\n'));
  return { multinode, globals, passwords, secrets: [valkeyPassword, dbPassword] };
}

if (lab) {
  test.serial(`${lab.name}: status from -i multinode with --kolla-globals/--kolla-passwords, plan --backend redis from kolla: keys; the hosts, Kolla's targets and where each came from; no secret shown`, async (t) => {
    const dir = scratch();
    const files = kollaFiles(lab, dir);
    const v = lab.services.valkey!;
    const before = await fleetSnapshot(lab, [CUSTOM]);

    // The three flags alone: known_hosts is ~/.ssh/known_hosts, so HOME is a folder holding the lab's.
    const home = join(dir, 'home');
    mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
    writeFile(join(home, '.ssh'), 'known_hosts', readFileSync(lab.knownHosts, 'utf8'));
    const status = await cli(['status', '-i', files.multinode, '--kolla-globals', files.globals, '--kolla-passwords', files.passwords, '--json'], { HOME: home });
    t.is(status.code, 0, status.stderr);
    const s = JSON.parse(status.stdout) as StatusReport;
    t.deepEqual(s.hosts.map((h) => [h.host, h.reachable]), lab.hosts.map((h) => [h.name, true]));
    const derived = Object.fromEntries((s.kolla?.derived ?? []).map((d) => [d.what, d]));
    for (const h of lab.hosts) {
      t.is(derived[`Dashboard host ${h.name}`]?.value, `root@${h.address}:${h.sshPort} key ${lab.identity}`);
      t.regex(derived[`Dashboard host ${h.name}`]?.from ?? '', /^multinode \[horizon\]; address from multinode ansible_host on the line of \S+; port from multinode ansible_port on the line of \S+; user from multinode \[control:vars\] ansible_user; key from multinode \[control:vars\] ansible_ssh_private_key_file$/);
    }
    t.is(derived['memcached servers']?.value, `${lab.services.memcached.ip}:11211`);
    t.regex(derived['memcached servers']?.from ?? '', /^multinode \[memcached\] \(memcached01: multinode ansible_host on the line of memcached01, assumed to be the address on api_interface eth0\) \+ memcached_port 11211 from kolla-ansible's default memcached_port/);
    t.is(derived['Valkey Sentinel hosts']?.value, `${v.sentinel.ip}:26379`);
    t.regex(derived['Valkey Sentinel hosts']?.from ?? '', /multinode api_interface_address on the line of valkey01/);
    t.is(derived['Valkey password']?.value, 'passwords.yml:valkey_master_password');
    t.is(derived['database host']?.value, `${lab.services.mariadb.ip}:3306`);
    t.regex(s.kolla?.notes[0] ?? '', /read as kolla-ansible's INI inventory \(its first section header \[control\] on line 2\)/);

    // A sessionctl inventory naming the three files (hosts: left empty), its defaults under the INI's values.
    const inv = labInventory(lab, dir, {
      hosts: {},
      extra: `kolla: { inventory: "${files.multinode}", globals: "${files.globals}", passwords: "${files.passwords}" }`,
    });
    const plan = await cli(['plan', '-i', inv, '--backend', 'redis', '--json']);
    t.is(plan.code, 0, plan.stderr + plan.stdout);
    const p = JSON.parse(plan.stdout) as SwitchReport;
    t.true(['planned', 'no-change'].includes(p.outcome), p.error);
    t.deepEqual(p.hosts.map((h) => h.host), lab.hosts.map((h) => h.name));
    t.deepEqual(
      p.kolla?.derived.filter((d) => d.backend).map((d) => [d.what, d.value]),
      [
        ['Valkey Sentinel hosts', `${v.sentinel.ip}:26379`],
        ['Valkey Sentinel service', 'kolla'],
        ['Valkey password', 'passwords.yml:valkey_master_password'],
      ],
      "the plan shows the target's derived values only",
    );
    // The derived Sentinel is what the containers reached: Kolla's Valkey, through Django's own client.
    for (const h of p.hosts) t.regex(h.steps.find((x) => x.step === 'backend-reachable')?.detail ?? '', /^ok: Valkey (8|9)\.\d+\.\d+ \(master\) answered PING from the container/, h.host);
    const text = await cli(['plan', '-i', inv, '--backend', 'redis']);
    t.is(text.code, 0, text.stderr);
    t.regex(text.stdout, /Derived from Kolla \(.*multinode\):\n {2}Dashboard host/);
    for (const out of [status.stdout, status.stderr, plan.stdout, plan.stderr, text.stdout, text.stderr]) {
      for (const secret of files.secrets) t.false(out.includes(secret), 'no password from passwords.yml is printed');
    }
    t.deepEqual(await fleetSnapshot(lab, [CUSTOM]), before, 'status and plan changed nothing');
  });
}
