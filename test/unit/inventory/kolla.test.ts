/** kolla-ansible's own inventory: the INI parser, Kolla's variables, the derived targets and their provenance, secrets never shown. */
import test from 'ava';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, ConfigErrors, ExitCode } from '../../../src/errors.js';
import { groupHosts, hostVar, parseAnsibleIni, shlexSplit, literal, hostPattern } from '../../../src/inventory/kolla/ini.js';
import { ansibleIniEvidence, loadKollaInventory } from '../../../src/inventory/kolla/load.js';
import { loadInventory } from '../../../src/inventory/load.js';
import { resolveDesired } from '../../../src/backends/desired.js';
import { redisBlock } from '../../../src/backends/redis.js';
import { resolveSecret } from '../../../src/util/secret.js';
import { kollaSection, renderKolla } from '../../../src/report/kolla.js';
import { renderSwitch } from '../../../src/report/run.js';
import { renderStatus } from '../../../src/report/status.js';
import { forTerminal, jsonForTerminal } from '../../../src/util/terminal.js';
import { pyLiteral } from '../../../src/util/quote.js';
import type { SwitchReport } from '../../../src/report/types.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const K = path.join(HERE, '..', 'fixtures', 'kolla');
const MULTINODE = path.join(K, 'multinode');
const ADDRESSED = path.join(K, 'multinode-addresses');
const GLOBALS = path.join(K, 'globals.yml');
const PASSWORDS = path.join(K, 'passwords.yml');
const HOME = '/home/op';
const password = (key: string) => new RegExp(`^${key}: (.*)$`, 'm').exec(readFileSync(PASSWORDS, 'utf8'))![1]!;

const ini = (...lines: string[]) => parseAnsibleIni(`${lines.join('\n')}\n`, '/etc/kolla/multinode');
function problems(...lines: string[]): ConfigError[] {
  try {
    ini(...lines);
  } catch (err) {
    if (err instanceof ConfigErrors) return err.errors;
    throw err;
  }
  throw new Error('expected ConfigErrors');
}
const at = (e: ConfigError) => `${e.pos?.line}:${e.pos?.col}`;

// ---- the INI parser ---------------------------------------------------------------------------

test("kolla-ansible's real multinode: the horizon group is control's hosts; children declared after their parents resolve", (t) => {
  const inv = parseAnsibleIni(readFileSync(MULTINODE, 'utf8'), MULTINODE);
  t.deepEqual(groupHosts(inv, 'horizon'), ['control01', 'control02', 'control03']);
  t.deepEqual(groupHosts(inv, 'memcached'), ['control01', 'control02', 'control03']);
  t.deepEqual(groupHosts(inv, 'valkey'), ['control01', 'control02', 'control03']);
  t.deepEqual(groupHosts(inv, 'loadbalancer'), ['network01', 'network02']);
  // [openvswitch:children] names manila-share, declared further down.
  t.true(inv.groups.get('openvswitch')!.children.includes('manila-share'));
  t.deepEqual(groupHosts(inv, 'deployment'), ['localhost']);
  t.is(hostVar(inv, 'localhost', 'ansible_connection')?.value, 'local');
  t.is(groupHosts(inv, 'all').length, 9);
});

test('host ranges: zero-padded numbers, letters, a stride, several in one name, host:port', (t) => {
  const inv = ini('[control]', 'control[01:03] ansible_user=kolla', 'web-[a:c]', 'n[1:9:4]-[x:y]', 'db1:2222', '[horizon:children]', 'control');
  t.deepEqual([...inv.hosts.keys()], ['control01', 'control02', 'control03', 'web-a', 'web-b', 'web-c', 'n1-x', 'n1-y', 'n5-x', 'n5-y', 'n9-x', 'n9-y', 'db1']);
  t.is(hostVar(inv, 'control02', 'ansible_user')?.value, 'kolla');
  t.is(hostVar(inv, 'db1', 'ansible_port')?.value, 2222);
  t.deepEqual(hostPattern('[fe80::1]:2200'), { names: ['fe80::1'], port: 2200 });
  t.deepEqual(hostPattern('fe80::1'), { names: ['fe80::1'] });
});

test('host lines split as POSIX shlex does, values as ast.literal_eval; :vars take the rest of the line', (t) => {
  const inv = ini(
    '[control]',
    `c1 a=2222 b="10.0.0.1" c='x y' d=True e=yes f="'03#pa33w0rd'" g=0123 # a comment`,
    'c2 h=one#two',
    '; a comment line',
    '[control:vars]',
    'i = "a b" # quoted, then a comment',
    'j=plain text # stays',
    'k=False',
  );
  const v = (h: string, k: string) => hostVar(inv, h, k)?.value;
  t.deepEqual([v('c1', 'a'), v('c1', 'b'), v('c1', 'c'), v('c1', 'd'), v('c1', 'e'), v('c1', 'f'), v('c1', 'g')], [2222, '10.0.0.1', 'x y', true, 'yes', '03#pa33w0rd', '0123']);
  t.is(v('c2', 'h'), 'one', "an unquoted '#' starts a comment, also inside a word");
  t.deepEqual([v('c1', 'i'), v('c1', 'j'), v('c1', 'k')], ['a b', 'plain text # stays', false]);
  t.deepEqual(shlexSplit(`a "b \\" c" 'd\\'`), [{ text: 'a', col: 1 }, { text: 'b " c', col: 3 }, { text: 'd\\', col: 12 }]);
  t.is(literal('"\\x41\\u00e9"', false), 'Aé');
});

test("vars precedence as Ansible: host line > child group's vars > parent group's > all:vars; same depth: the later name", (t) => {
  const inv = ini(
    '[control]',
    'c1 ansible_user=own',
    'c2',
    '[network]',
    'c2',
    '[horizon:children]',
    'control',
    '[control:vars]',
    'ansible_user=child',
    'ansible_port=2222',
    '[network:vars]',
    'ansible_port=2223',
    '[horizon:vars]',
    'ansible_user=parent',
    'ansible_become=true',
    '[all:vars]',
    'ansible_user=everyone',
    'ansible_ssh_private_key_file=/k',
  );
  t.is(hostVar(inv, 'c1', 'ansible_user')?.value, 'own');
  t.is(hostVar(inv, 'c2', 'ansible_user')?.value, 'child');
  // A :vars value is a string unless Python reads it as a literal ('true' is no Python literal).
  t.is(hostVar(inv, 'c2', 'ansible_become')?.value, 'true');
  t.is(hostVar(inv, 'c2', 'ansible_ssh_private_key_file')?.value, '/k');
  // control (depth 2, under horizon) beats network (depth 1).
  t.is(hostVar(inv, 'c2', 'ansible_port')?.value, 2222);
  t.regex(hostVar(inv, 'c2', 'ansible_port')!.from, /\[control:vars\]/);
});

test('children are followed recursively and a loop is refused at its place, exit 5', (t) => {
  const inv = ini('[a]', 'h1', '[b:children]', 'a', '[c:children]', 'b', '[horizon:children]', 'c');
  t.deepEqual(groupHosts(inv, 'horizon'), ['h1']);
  const [loop] = problems('[a:children]', 'b', '[b:children]', 'c', '[c:children]', 'a');
  t.regex(loop!.message, /\[:children\] sections make a loop: a -> b -> c -> a/);
  t.is(at(loop!), '1:1');
  t.is(new ConfigErrors([loop!]).exitCode, ExitCode.badInput);
});

test('every problem of an INI inventory at once, each at file:line:col with the line quoted (a password masked)', (t) => {
  const errs = problems(
    '[control]',
    'c1 ansible_password=hunter22 oops',
    "c2 x='open",
    'web[03:1]',
    'web[3:1]',
    '[bad group]',
    '[x:foo]',
    '[y:vars]',
    'novalue',
    '[horizon:children]',
    'nowhere',
    '[z:vars]',
    'a=1',
  );
  t.deepEqual(
    errs.map((e) => `${at(e)} ${e.message}`),
    [
      '2:30 expected key=value after the host name, got "oops"',
      '3:6 no closing quotation in this host line',
      "4:1 invalid host range '[03:1]' in 'web[03:1]': a zero-padded range needs a start and an end of the same length",
      "5:1 invalid host range '[3:1]' in 'web[3:1]': the start is after the end",
      '6:1 invalid section header "[bad group]": write [group], [group:vars] or [group:children], without spaces',
      "7:4 section [x:foo] has an unknown type 'foo' (hosts, vars or children)",
      '9:1 expected key=value in [y:vars], got "novalue"',
      // Groups only named (:children) or given vars are checked once the whole file is read, as Ansible does.
      "8:1 section [y:vars] is for group 'y', which no [y] or [y:children] section declares",
      "11:1 [horizon:children] names group 'nowhere', which is declared nowhere",
      "12:1 section [z:vars] is for group 'z', which no [z] or [z:children] section declares",
    ],
  );
  t.is(errs[0]!.pos?.lineText, 'c1 ansible_password=*** oops');
  t.is(errs[0]!.format(), '/etc/kolla/multinode:2:30: expected key=value after the host name, got "oops"\n     2 | c1 ansible_password=*** oops\n       |                         ^');
});

test('a range that expands past the host limit is refused at once, in bounded time', (t) => {
  const [e] = problems('[control]', 'c[0:99999999]');
  t.regex(e!.message, /expands to more than 10000 hosts/);
});

test("INI is told from YAML: a first [section] line, or a [horizon] section; a sessionctl inventory is not INI", (t) => {
  t.regex(ansibleIniEvidence(readFileSync(MULTINODE, 'utf8'))!, /^its first section header \[control\] on line 3$/);
  t.regex(ansibleIniEvidence('host1\n[horizon:children]\ncontrol\n')!, /\[horizon:children\] section on line 2/);
  t.is(ansibleIniEvidence('hosts:\n  dash1: { address: 10.0.0.1 }\n'), undefined);
});

// ---- the inventory from Kolla's files ---------------------------------------------------------

test('hosts from the horizon group with ansible_host/port/user/become/key; targets derived where Kolla defines them', async (t) => {
  const inv = await loadKollaInventory({ inventory: ADDRESSED, globals: GLOBALS, passwords: PASSWORDS }, undefined, { HOME });
  const dash = inv.hosts.filter((h) => h.role === 'dashboard');
  t.deepEqual(
    dash.map((h) => [h.name, h.address, h.port, h.user, h.become, h.identity, h.knownHosts]),
    [
      // [control:vars] (deeper) beat [horizon:vars] and [all:vars]; host lines beat both.
      ['control01', '10.0.0.11', 22, 'kolla', true, '/home/op/.ssh/kolla_id', '/home/op/.ssh/known_hosts'],
      ['control02', '10.0.0.12', 2222, 'kolla', true, '/home/op/.ssh/kolla_id', '/home/op/.ssh/known_hosts'],
      ['control03', '10.0.0.13', 22, 'root', true, '/home/op/.ssh/kolla_id', '/home/op/.ssh/known_hosts'],
    ],
  );
  t.is(dash[0]!.pos?.line, 5);
  // memcached_port in [memcached:vars] is below kolla-ansible's group_vars/all: Kolla uses 11211.
  t.deepEqual(inv.session.memcached, { servers: ['10.0.0.11:11211', '10.0.0.12:11211', '10.1.0.13:11211'] });
  t.deepEqual(inv.session.redis, {
    url: 'redis://kolla/0',
    sentinel: { service: 'kolla', hosts: ['10.0.0.11:26379', '10.0.0.12:26379', '10.1.0.13:26379'] },
    password: { kind: 'kolla-password', file: PASSWORDS, key: 'valkey_master_password' },
  });
  t.deepEqual(inv.session.database, {
    engine: 'mysql', host: '10.0.0.250', port: 3306, name: 'horizon', user: 'horizon', sessionEngine: 'db',
    password: { kind: 'kolla-password', file: PASSWORDS, key: 'horizon_database_password' },
  });
  const from = Object.fromEntries(inv.kolla!.derived!.map((d) => [d.what, d]));
  t.is(from['memcached servers']!.value, '10.0.0.11:11211,10.0.0.12:11211,10.1.0.13:11211');
  t.regex(from['memcached servers']!.from, /^multinode-addresses \[memcached\] \(control01: multinode-addresses ansible_host on the line of control01, assumed to be the address on api_interface ens3; .*control03: multinode-addresses api_interface_address on the line of control03\) \+ memcached_port 11211 from kolla-ansible's default memcached_port \(group_vars\/all\/memcached\.yml\)$/);
  t.regex(from['Valkey Sentinel hosts']!.from, /valkey_sentinel_port 26379 from kolla-ansible's default valkey_sentinel_port/);
  t.is(from['Valkey password']!.value, 'passwords.yml:valkey_master_password');
  t.is(from['database host']!.value, '10.0.0.250:3306');
  t.regex(from['database host']!.from, /^database_address from globals\.yml kolla_internal_vip_address \(via kolla-ansible's default kolla_internal_fqdn .*\) \(via kolla-ansible's default database_address/);
  t.regex(from['Dashboard host control02']!.from, /port from multinode-addresses ansible_port on the line of control02; user from multinode-addresses \[control:vars\] ansible_user/);
  // globals.yml is a copy outside /etc/kolla: this machine is not taken for the deploy host.
  t.is(inv.kolla!.deployHost, undefined);
  t.true(inv.kolla!.notes!.some((n) => /the deploy host is not known/.test(n)));
});

test("the real multinode (names only): hosts by name; memcached not derived, saying the API address is needed", async (t) => {
  const inv = await loadKollaInventory({ inventory: MULTINODE, globals: GLOBALS, passwords: PASSWORDS }, undefined, { HOME });
  t.deepEqual(inv.hosts.map((h) => h.address), ['control01', 'control02', 'control03']);
  t.is(inv.session.memcached, undefined);
  t.regex(inv.kolla!.unresolved!.memcached!, /^control01: its API address is the IP of its api_interface ens3, which kolla-ansible reads on the host; give it in multinode as api_interface_address=IP/);
  const err = await t.throwsAsync(resolveDesired(inv, { backend: 'memcached' }), { instanceOf: ConfigError });
  t.regex(err!.message, /no memcached servers: pass --memcached-servers .* \(not derived from kolla-ansible's files: control01: its API address/);
  // The flags still win: the operator's choice, with the hosts from Kolla.
  t.deepEqual((await resolveDesired(inv, { backend: 'memcached', memcachedServers: '10.9.9.9:11211' })).target.where.includes('10.9.9.9:11211'), true);
});

test("Valkey is derived only where Kolla deploys it (enable_valkey), with the reason otherwise", async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kolla-'));
  writeFileSync(path.join(dir, 'globals.yml'), readFileSync(GLOBALS, 'utf8').replace('enable_valkey: "yes"', '#enable_valkey: false'));
  const inv = await loadKollaInventory({ inventory: ADDRESSED, globals: path.join(dir, 'globals.yml'), passwords: PASSWORDS }, undefined, { HOME });
  t.is(inv.session.redis, undefined);
  t.is(inv.kolla!.unresolved!.redis, "enable_valkey is false (kolla-ansible's default enable_valkey (group_vars/all/valkey.yml)): Kolla runs no Valkey");
});

test('secrets: resolved from passwords.yml only when needed, named passwords.yml:KEY, never in a rendered report', async (t) => {
  const inv = await loadKollaInventory({ inventory: ADDRESSED, globals: GLOBALS, passwords: PASSWORDS }, undefined, { HOME });
  const valkey = password('valkey_master_password');
  const db = password('horizon_database_password');
  t.is(await resolveSecret(inv.session.redis!.password!, 'session.redis.password'), valkey);
  const d = await resolveDesired(inv, { backend: 'redis' });
  // The password reaches the settings (sessionctl writes it there), and only there.
  const block = d.target.settingsFor('4.2.28', { django_redis: '5.4.0' }).block;
  t.true(pyLiteral(block.find(([k]) => k === 'CACHES')![1] as never).includes(valkey));
  t.deepEqual(redisBlock({ url: 'redis://kolla/0', password: valkey, sentinel: { service: 'kolla', hosts: ['10.0.0.11:26379'] } })[1]![0], 'CACHES');
  // --redis-url names another server: Kolla's Sentinel and password stay with Kolla's.
  const other = await resolveDesired(inv, { backend: 'redis', redisUrl: 'redis://10.9.9.9:6379/0' });
  const otherCaches = pyLiteral(other.target.settingsFor('4.2.28', { django_redis: '5.4.0' }).block.find(([k]) => k === 'CACHES')![1] as never);
  t.regex(otherCaches, /'LOCATION': 'redis:\/\/10\.9\.9\.9:6379\/0'/);
  t.false(otherCaches.includes(valkey));
  t.false(otherCaches.includes('SENTINELS'));
  const dbd = await resolveDesired(inv, { backend: 'database' });
  const report: SwitchReport = {
    runId: 'r', mode: 'plan', backend: 'redis', playbook: 'p', outcome: 'planned', hosts: [], fleet: [],
    warnings: [`a warning quoting ${valkey} and ${db} by accident`, ...d.warnings, ...dbd.warnings],
    kolla: kollaSection(inv.kolla, 'redis')!,
  };
  const text = forTerminal(renderSwitch(report));
  const json = jsonForTerminal(report);
  const status = forTerminal(renderStatus({ hosts: [], warnings: [], kolla: kollaSection(inv.kolla)! }));
  for (const out of [text, json, status]) {
    t.false(out.includes(valkey));
    t.false(out.includes(db));
  }
  t.regex(text, /Derived from Kolla \(.*multinode-addresses\):/);
  t.regex(text, /Valkey password +passwords\.yml:valkey_master_password/);
  t.notRegex(text, /memcached servers/, "the plan shows the target's values only");
  t.regex(status, /database password +passwords\.yml:horizon_database_password/);
  t.regex(renderKolla(kollaSection(inv.kolla)!).join('\n'), /Dashboard host control01 +kolla@10\.0\.0\.11:22 \(sudo\) key \/home\/op\/\.ssh\/kolla_id/);
});

test('a bad passwords.yml is refused at its line without quoting it; a missing key is named, never a value', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kolla-'));
  const bad = path.join(dir, 'passwords.yml');
  writeFileSync(bad, 'valkey_master_password: s3cr3t-value\nhorizon_database_password: "unclosed\n');
  const err = await t.throwsAsync(loadKollaInventory({ inventory: ADDRESSED, globals: GLOBALS, passwords: bad }, undefined, { HOME }));
  const shown = err instanceof ConfigErrors ? err.errors.map((e) => e.format()).join('\n') : (err as ConfigError).format();
  t.regex(shown, new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d+:\\d+: invalid YAML`));
  t.false(shown.includes('unclosed'));
  t.false(shown.includes('s3cr3t-value'));
  writeFileSync(bad, 'valkey_master_password: s3cr3t-value\n');
  const inv = await loadKollaInventory({ inventory: ADDRESSED, globals: GLOBALS, passwords: bad }, undefined, { HOME });
  t.is(inv.kolla!.unresolved!.database, 'passwords.yml has no horizon_database_password (run kolla-genpwd?)');
});

test("INI host values that cannot work are ConfigErrors at the INI's line and column, every one at once", async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kolla-'));
  const file = path.join(dir, 'multinode');
  writeFileSync(file, '[control]\nc1 ansible_host=10.0.0.1 ansible_port=99999\nc2 ansible_host=10.0.0.2 ansible_become=maybe\nlocalhost ansible_connection=local\n[horizon:children]\ncontrol\n');
  const err = await t.throwsAsync(loadKollaInventory({ inventory: file }, undefined, { HOME }), { instanceOf: ConfigErrors });
  t.deepEqual((err as ConfigErrors).errors.map((e) => `${e.pos?.line}:${e.pos?.col} ${e.message.split(' (')[0]}`), [
    "2:39 host 'c1': ansible_port 99999",
    "3:41 host 'c2': ansible_become \"maybe\"",
    "4:30 host 'localhost': ansible_connection=local",
  ]);
  t.is(err!.exitCode, ExitCode.badInput);
});

test('-i multinode with the flags: loadInventory reads it as INI and says so; a YAML inventory names the three files under kolla:', async (t) => {
  const viaFlags = await loadInventory(ADDRESSED, { globals: GLOBALS, passwords: PASSWORDS });
  t.regex(viaFlags.kolla!.notes![0]!, /read as kolla-ansible's INI inventory \(its first section header \[control\] on line 3\)/);
  t.deepEqual(viaFlags.hosts.map((h) => h.name), ['control01', 'control02', 'control03']);

  const dir = mkdtempSync(path.join(tmpdir(), 'kolla-'));
  const yaml = path.join(dir, 'inventory.yaml');
  writeFileSync(
    yaml,
    [
      'defaults: { user: ops, identity: ./id_lab, known_hosts: ./known_hosts, connect_timeout: 7 }',
      `kolla: { inventory: ${JSON.stringify(MULTINODE)}, globals: ${JSON.stringify(GLOBALS)}, passwords: ${JSON.stringify(PASSWORDS)} }`,
      'session: { memcached: { servers: ["10.9.9.9:11211"] } }',
      '',
    ].join('\n'),
  );
  const inv = await loadInventory(yaml);
  t.deepEqual(
    inv.hosts.map((h) => [h.name, h.user, h.identity, h.knownHosts, h.connectTimeout]),
    ['control01', 'control02', 'control03'].map((n) => [n, 'ops', path.join(dir, 'id_lab'), path.join(dir, 'known_hosts'), 7]),
  );
  t.deepEqual(inv.session.memcached, { servers: ['10.9.9.9:11211'] }, "the inventory's session values win over Kolla's");
  t.false(inv.kolla!.derived!.some((d) => d.what === 'memcached servers'));
  t.is(inv.kolla!.unresolved!.memcached, undefined, "given in the inventory: no 'not derived' note for it");
  t.regex(inv.kolla!.unresolved!.redis ?? '', /^control01: its API address is the IP of its api_interface ens3/, 'not given there: the note stays');
  t.is(inv.file, yaml);
  // The load balancer's servers are checked against the hosts from Kolla's inventory.
  writeFileSync(yaml, `hosts: { lb1: { address: 10.0.0.5, role: loadbalancer } }\nloadbalancer: { hosts: [lb1], servers: { control01: ctl1 } }\nkolla: { inventory: "${ADDRESSED}" }\n`);
  t.deepEqual((await loadInventory(yaml)).loadbalancer?.servers, { control01: 'ctl1' });
  writeFileSync(yaml, `hosts: { lb1: { address: 10.0.0.5, role: loadbalancer } }\nloadbalancer: { hosts: [lb1], servers: { control01: "a b;c" } }\nkolla: { inventory: "${ADDRESSED}" }\n`);
  await t.throwsAsync(loadInventory(yaml), { message: /loadbalancer\.servers\.control01 must be an HAProxy server name/ });
  writeFileSync(yaml, `hosts: { lb1: { address: 10.0.0.5, role: loadbalancer } }\nloadbalancer: { hosts: [lb1], servers: { nobody: x } }\nkolla: { inventory: "${ADDRESSED}" }\n`);
  await t.throwsAsync(loadInventory(yaml), { message: /loadbalancer\.servers names 'nobody', which is not a Dashboard host/ });
  // An empty hosts: (as test/lab's labInventory writes it) is "not given".
  writeFileSync(yaml, `defaults:\n  user: "root"\nhosts:\nkolla: { inventory: "${ADDRESSED}" }\n`);
  t.deepEqual((await loadInventory(yaml)).hosts.map((h) => [h.name, h.user]), [['control01', 'kolla'], ['control02', 'kolla'], ['control03', 'root']]);
  // Without kolla.inventory, hosts stays required; the flags need Kolla's inventory.
  writeFileSync(yaml, 'session: {}\n');
  await t.throwsAsync(loadInventory(yaml), { message: /missing required key 'hosts' at the top level/ });
  writeFileSync(yaml, 'hosts: { d1: { address: 10.0.0.1 } }\n');
  await t.throwsAsync(loadInventory(yaml, { globals: GLOBALS }), { message: /--kolla-globals\/--kolla-passwords go with kolla-ansible's inventory/ });
});

test("this machine is the deploy host when globals.yml is in Kolla's node_config folder; its overrides go to node_custom_config", async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kolla-'));
  copyFileSync(ADDRESSED, path.join(dir, 'multinode'));
  copyFileSync(PASSWORDS, path.join(dir, 'passwords.yml'));
  // Stands in for /etc/kolla: kolla-ansible's CONFIG_DIR is node_config.
  writeFileSync(path.join(dir, 'globals.yml'), `${readFileSync(GLOBALS, 'utf8')}\nnode_config: ${JSON.stringify(dir)}\n`);
  const inv = await loadKollaInventory({ inventory: path.join(dir, 'multinode') }, undefined, { HOME });
  t.true(inv.kolla!.notes!.includes(`globals.yml not named: read ${path.join(dir, 'globals.yml')}`));
  t.is(inv.kolla!.deployHost, 'localhost');
  t.is(inv.kolla!.configDir, `${dir}/config`);
  const local = inv.hosts.find((h) => h.name === 'localhost')!;
  t.like(local, { local: true, role: 'deploy' });
  t.regex(inv.kolla!.derived!.find((d) => d.what === 'deploy host')!.value, /^this machine \(/);
  // The reconfigure warning is gone: the deploy host's override is written.
  const d = await resolveDesired(inv, { backend: 'memcached' });
  t.false(d.warnings.some((w) => /no kolla\.deploy_host/.test(w)));
});
