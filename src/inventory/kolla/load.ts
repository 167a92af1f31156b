/**
 * A sessionctl {@link Inventory} from kolla-ansible's own files: its INI inventory (the Dashboard
 * hosts are the `horizon` group), globals.yml and passwords.yml. The result is the same typed value
 * the YAML loader gives, with the session targets Kolla defines filled in where the sessionctl
 * inventory does not set them, and `kolla.derived` saying where each value came from.
 */
import { createHash } from 'node:crypto';
import { existsSync, realpathSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, ConfigErrors, type SourcePos } from '../../errors.js';
import { FILE_LIMITS, readLocalFile } from '../../util/files.js';
import { masker } from '../../util/secret.js';
import { yamlMapFile } from '../../util/yaml-map.js';
import { isHostAddress } from '../schema.js';
import type { HostConfig, Inventory, KollaConfig, SessionConfig, SshSettingKey } from '../types.js';
import { groupHosts, parseAnsibleIni, type AnsibleInventory } from './ini.js';
import { ansibleBool, deriveDatabase, deriveMemcached, deriveValkey, KollaVars, type KollaDerived } from './derive.js';

/** kolla-ansible's files as flags or `kolla:` keys name them. */
export interface KollaFiles {
  inventory: string;
  globals?: string;
  passwords?: string;
}

/** Where kolla-ansible keeps its configuration (CONFIG_DIR): a machine with globals.yml here is a deploy host. */
export const KOLLA_CONFIG_DIR = '/etc/kolla';

const SECTION_LINE = /^\s*\[[^:\]\s]+(?::\w+)?\]\s*(?:[#;].*)?$/;

/**
 * Whether inventory text is Ansible's INI rather than YAML: its first line that is not blank or a
 * comment is a `[group]` header (a sessionctl inventory is a YAML mapping, never a flow list), or
 * it has a `[horizon]` / `[horizon:children]` section. Returns the line that decided, or undefined.
 */
export function ansibleIniEvidence(text: string): string | undefined {
  const lines = text.split(/\r?\n/, 20_000);
  const first = lines.findIndex((l) => l.trim() !== '' && !/^\s*[#;]/.test(l));
  if (first >= 0 && SECTION_LINE.test(lines[first]!)) return `its first section header ${lines[first]!.trim()} on line ${first + 1}`;
  const horizon = lines.findIndex((l) => /^\s*\[horizon(?::children)?\]/.test(l));
  if (horizon >= 0) return `its ${lines[horizon]!.trim()} section on line ${horizon + 1}`;
  return undefined;
}

/** Read a YAML file of Kolla's (bounded like an inventory). */
const readKollaYaml = yamlMapFile;

/** The file as reports name it: its base name (`multinode`, `globals.yml`). */
const shown = (file: string | undefined, fallback: string) => (file ? path.basename(file) : fallback);

/** Next to the inventory, else in /etc/kolla: where kolla-ansible's other files are when not named. */
function findBeside(inventory: string, name: string): string | undefined {
  for (const dir of [path.dirname(inventory), KOLLA_CONFIG_DIR]) {
    const f = path.join(dir, name);
    if (existsSync(f)) return f;
  }
  return undefined;
}

/**
 * The inventory from kolla-ansible's files. `base`: the sessionctl YAML inventory that named them
 * (its defaults, session, install, rollout, loadbalancer and other hosts are kept; hosts from the
 * INI file come first); absent: `-i multinode` alone, everything else at its defaults.
 *
 * @param env HOME for `~` in paths
 * @throws {ConfigError} / {ConfigErrors} at file:line:col
 */
export async function loadKollaInventory(files: KollaFiles, base?: Inventory, env: NodeJS.ProcessEnv = process.env): Promise<Inventory> {
  const notes: string[] = [];
  const iniFile = path.resolve(files.inventory);
  const iniBytes = await readLocalFile(iniFile, `kolla-ansible inventory ${iniFile}`, FILE_LIMITS.inventory);
  const ini = parseAnsibleIni(iniBytes.toString('utf8'), iniFile);

  let globalsFile = files.globals && path.resolve(files.globals);
  let passwordsFile = files.passwords && path.resolve(files.passwords);
  if (!globalsFile && (globalsFile = findBeside(iniFile, 'globals.yml'))) notes.push(`globals.yml not named: read ${globalsFile}`);
  if (!passwordsFile && (passwordsFile = findBeside(iniFile, 'passwords.yml'))) notes.push(`passwords.yml not named: read ${passwordsFile}`);
  if (!globalsFile) notes.push("no globals.yml given or found: kolla-ansible's defaults only");
  if (!passwordsFile) notes.push('no passwords.yml given or found: no Valkey or database password from Kolla');
  const globals = globalsFile ? await readKollaYaml(globalsFile, 'globals file', false) : undefined;
  const passwords = passwordsFile ? await readKollaYaml(passwordsFile, 'passwords file', true) : undefined;
  const usable = passwords && new Map(Object.entries(passwords.map).map(([k, v]) => [k, (typeof v === 'string' && v !== '') || typeof v === 'number'] as const));
  // The ones a report could meet: masked from here on, in every form.
  for (const key of ['valkey_master_password', 'horizon_database_password', 'horizon_secret_key', 'database_password']) {
    const v = passwords?.map[key];
    if (typeof v === 'string' || typeof v === 'number') masker.add(String(v));
  }

  const vars = new KollaVars({
    ini,
    iniName: shown(iniFile, 'inventory'),
    globals: globals?.map ?? null,
    globalsName: shown(globalsFile, 'globals.yml'),
    passwords: usable ?? null,
    passwordsName: shown(passwordsFile, 'passwords.yml'),
  });

  const home = env.HOME || os.homedir();
  const hostDefaults = base?.kolla?.hostDefaults ?? {};
  const { hosts: kollaHosts, derived: hostLines } = horizonHosts(ini, vars, hostDefaults, base?.kolla?.hostDefaultKeys ?? new Set(), home);
  const yamlHosts = base?.hosts ?? [];
  const clash = yamlHosts.find((h) => kollaHosts.some((k) => k.name === h.name));
  if (clash) throw new ConfigError(`host '${clash.name}' is both in ${base!.file} and in the horizon group of ${iniFile}: name it once`, clash.pos);
  const hosts = [...kollaHosts, ...yamlHosts];

  const derived: KollaDerived[] = [...hostLines];
  const unresolved: NonNullable<KollaConfig['unresolved']> = {};
  const session: SessionConfig = { ...(base?.session ?? {}) };
  const mc = deriveMemcached(vars);
  if ('problem' in mc) {
    if (!session.memcached) unresolved.memcached = mc.problem;
  }
  else if (!session.memcached) {
    session.memcached = mc.value;
    derived.push(...mc.derived);
  }
  const vk = deriveValkey(vars);
  if ('problem' in vk) {
    if (!session.redis) unresolved.redis = vk.problem;
  }
  else if (!session.redis) {
    session.redis = { url: vk.value.url, sentinel: vk.value.sentinel, password: { kind: 'kolla-password', file: passwordsFile!, key: vk.value.passwordKey } };
    derived.push(...vk.derived);
  }
  const db = deriveDatabase(vars);
  if ('problem' in db) {
    if (!session.database) unresolved.database = db.problem;
  }
  else if (!session.database) {
    const { passwordKey, ...rest } = db.value;
    session.database = { engine: 'mysql', ...rest, password: { kind: 'kolla-password', file: passwordsFile!, key: passwordKey }, sessionEngine: 'db' };
    derived.push(...db.derived);
  }

  // The deploy host: named in the YAML, else this machine when it holds kolla-ansible's configuration.
  const kollaBase = base?.kolla;
  const customDir = vars.get('node_custom_config');
  const configDir = kollaBase?.configDir && kollaBase.configDir !== '/etc/kolla/config' ? kollaBase.configDir : 'problem' in customDir ? '/etc/kolla/config' : String(customDir.value);
  const nodeConfig = vars.get('node_config');
  const configHome = 'problem' in nodeConfig ? KOLLA_CONFIG_DIR : String(nodeConfig.value);
  let deployHost = kollaBase?.deployHost;
  if (deployHost !== undefined && !hosts.some((h) => h.name === deployHost)) throw new ConfigError(`kolla.deploy_host names unknown host '${deployHost}'; hosts are: ${hosts.map((h) => h.name).join(', ')}`);
  if (!deployHost && globalsFile && sameDir(path.dirname(globalsFile), configHome)) {
    deployHost = LOCAL_DEPLOY.name;
    hosts.push({ ...LOCAL_DEPLOY, become: process.getuid?.() !== 0, knownHosts: path.join(home, '.ssh', 'known_hosts') });
    derived.push({ what: 'deploy host', value: `this machine (${os.hostname()})`, from: `${globalsFile} is in ${configHome}, kolla-ansible's configuration: the overrides go to ${configDir}/horizon here${process.getuid?.() !== 0 ? ', through sudo -n' : ''}` });
  } else if (!deployHost) {
    notes.push(`the deploy host is not known (${globalsFile ?? 'globals.yml'} is not in ${configHome}): name it with kolla.deploy_host in a sessionctl inventory`);
  }
  if (base?.loadbalancer) {
    const missing = base.loadbalancer.hosts.find((n) => !hosts.some((h) => h.name === n));
    if (missing) throw new ConfigError(`loadbalancer.hosts names unknown host '${missing}'; hosts are: ${hosts.map((h) => h.name).join(', ')}`);
    for (const [host, server] of Object.entries(base.loadbalancer.servers)) {
      if (!kollaHosts.some((h) => h.name === host) && !yamlHosts.some((h) => h.name === host && h.role === 'dashboard')) throw new ConfigError(`loadbalancer.servers names '${host}', which is not a Dashboard host (the horizon group of ${iniFile})`);
      // The runtime API splits on whitespace and ';'.
      if (!/^[A-Za-z0-9_.:-]+$/.test(server)) throw new ConfigError(`loadbalancer.servers.${host} must be an HAProxy server name ([A-Za-z0-9_.:-]+), got ${JSON.stringify(server)}`);
    }
  }

  const digest = createHash('sha256').update(iniBytes).update(globals?.bytes ?? Buffer.alloc(0)).digest('hex');
  const kolla: KollaConfig = {
    configDir,
    inventory: iniFile,
    ...(globalsFile ? { globals: globalsFile } : {}),
    ...(passwordsFile ? { passwords: passwordsFile } : {}),
    ...(deployHost ? { deployHost } : {}),
    derived,
    notes,
    unresolved,
  };
  return {
    file: base?.file ?? iniFile,
    digest: base ? createHash('sha256').update(base.digest).update(digest).digest('hex') : digest,
    hosts,
    session,
    install: base?.install ?? { method: 'pip' },
    rollout: base?.rollout ?? { serial: 1, maxFail: 0, method: 'auto' },
    ...(base?.loadbalancer ? { loadbalancer: base.loadbalancer } : {}),
    ...(base?.sshConfig ? { sshConfig: base.sshConfig } : {}),
    kolla,
  };
}

/** This machine as the Kolla deploy host. */
const LOCAL_DEPLOY: Omit<HostConfig, 'become' | 'knownHosts'> = {
  name: 'localhost',
  address: '127.0.0.1',
  port: 22,
  user: os.userInfo().username,
  local: true,
  role: 'deploy',
  container: 'horizon',
  layout: 'auto',
  configDir: '/etc/kolla/horizon',
  connectTimeout: 15,
  commandTimeout: 300,
};

function sameDir(a: string, b: string): boolean {
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return path.resolve(p);
    }
  };
  return real(a) === real(b);
}

const USER_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.@-]*\$?$/;

/** The `horizon` group's hosts as sessionctl hosts: address, port, user, become and key from Ansible's variables. */
function horizonHosts(ini: AnsibleInventory, vars: KollaVars, defaults: Partial<HostConfig>, defaultKeys: ReadonlySet<SshSettingKey>, home: string): { hosts: HostConfig[]; derived: KollaDerived[] } {
  const names = groupHosts(ini, 'horizon');
  const iniName = vars.src.iniName;
  if (!ini.groups.get('horizon')?.pos) throw new ConfigError(`${ini.file} has no [horizon] or [horizon:children] section: kolla-ansible's Dashboard hosts are that group`);
  if (!names.length) throw new ConfigError(`the horizon group of ${ini.file} has no host`, ini.groups.get('horizon')!.pos);
  const problems: ConfigError[] = [];
  const hosts: HostConfig[] = [];
  const derived: KollaDerived[] = [];
  for (const name of names) {
    const h = ini.hosts.get(name)!;
    const look = (...keys: string[]) => keys.map((k) => vars.raw(k, name)).find((v) => v !== undefined);
    const bad = (v: { pos?: SourcePos } | undefined, message: string) => problems.push(new ConfigError(`host '${name}': ${message}`, v?.pos ?? h.pos));
    const from: string[] = [];

    const conn = look('ansible_connection');
    if (conn && conn.value !== 'ssh' && conn.value !== 'paramiko' && conn.value !== 'smart') {
      bad(conn, `ansible_connection=${String(conn.value)} (${conn.from}): sessionctl reaches Dashboard hosts over SSH only; give the host's address as ansible_host`);
      continue;
    }
    const pass = look('ansible_password', 'ansible_ssh_pass', 'ansible_ssh_password');
    if (pass) bad(pass, `an SSH password is set (${pass.from}): password authentication is not supported; use a key (ansible_ssh_private_key_file) or ssh-agent`);

    const ah = look('ansible_host', 'ansible_ssh_host');
    let address = defaults.address ?? name;
    if (ah) {
      const a = String(ah.value ?? '');
      const bare = /^\[(.*)\]$/.exec(a)?.[1] ?? a;
      if (!isHostAddress(bare)) bad(ah, `ansible_host ${JSON.stringify(a)} (${ah.from}) is not a hostname or IP address`);
      address = bare;
      from.push(`address from ${ah.from}`);
    } else if (!isHostAddress(name)) bad(h, `'${name}' is not a hostname or IP address, and no ansible_host is set for it`);
    else from.push('address: its inventory name');

    const p = look('ansible_port', 'ansible_ssh_port');
    let port = defaults.port ?? 22;
    if (p) {
      const n = typeof p.value === 'number' ? p.value : /^\d+$/.test(String(p.value)) ? Number(p.value) : NaN;
      if (!Number.isInteger(n) || n < 1 || n > 65535) bad(p, `ansible_port ${JSON.stringify(p.value)} (${p.from}) is not a port (1-65535)`);
      else port = n;
      from.push(`port from ${p.from}`);
    }

    const u = look('ansible_user', 'ansible_ssh_user');
    // Ansible's own default is the user running it (unless ansible.cfg says otherwise).
    let user = defaults.user ?? os.userInfo().username;
    if (u) {
      const s = String(u.value ?? '');
      if (!USER_NAME.test(s)) bad(u, `ansible_user ${JSON.stringify(s)} (${u.from}) is not a user name`);
      user = s;
      from.push(`user from ${u.from}`);
    } else if (!defaults.user) from.push(`user ${user}: Ansible's default, the user running sessionctl`);

    const b = look('ansible_become');
    let become = defaults.become ?? false;
    if (b) {
      const v = ansibleBool(b.value);
      if (v === undefined) bad(b, `ansible_become ${JSON.stringify(b.value)} (${b.from}) is not true or false`);
      else become = v;
      from.push(`become from ${b.from}`);
    }

    const k = look('ansible_ssh_private_key_file', 'ansible_private_key_file');
    let identity = defaults.identity;
    if (k) {
      const s = String(k.value ?? '');
      if (!s) bad(k, `ansible_ssh_private_key_file is empty (${k.from})`);
      else if (s.startsWith('~') && !s.startsWith('~/') && s !== '~') bad(k, `ansible_ssh_private_key_file ${s}: only '~/' (your home) is supported`);
      else {
        identity = s === '~' ? home : s.startsWith('~/') ? path.join(home, s.slice(2)) : path.resolve(path.dirname(ini.file), s);
        from.push(`key from ${k.from}`);
      }
    }

    // What Ansible's variables or the YAML defaults set wins over ssh_config; the rest ssh_config may
    // fill in, as it would for Ansible's own ssh.
    const inventoryKeys = new Set<SshSettingKey>([
      ...defaultKeys,
      ...(ah ? (['address'] as const) : []),
      ...(p ? (['port'] as const) : []),
      ...(u ? (['user'] as const) : []),
      ...(k ? (['identity'] as const) : []),
    ]);
    const host: HostConfig = {
      name,
      inventoryKeys,
      address,
      port,
      user,
      knownHosts: defaults.knownHosts ?? path.join(home, '.ssh', 'known_hosts'),
      become,
      container: defaults.container ?? 'horizon',
      role: 'dashboard',
      layout: defaults.layout ?? 'auto',
      configDir: defaults.configDir ?? '/etc/kolla/horizon',
      connectTimeout: defaults.connectTimeout ?? 15,
      commandTimeout: defaults.commandTimeout ?? 300,
      pos: h.pos,
      ...(identity ? { identity } : {}),
      ...(defaults.identityPassphrase ? { identityPassphrase: defaults.identityPassphrase } : {}),
      ...(defaults.proxyJump ? { proxyJump: defaults.proxyJump } : {}),
      ...(defaults.settingsFile ? { settingsFile: defaults.settingsFile } : {}),
      ...(defaults.healthUrl ? { healthUrl: defaults.healthUrl } : {}),
    };
    hosts.push(host);
    derived.push({
      what: `Dashboard host ${name}`,
      value: `${user}@${address}:${port}${become ? ' (sudo)' : ''}${identity ? ` key ${identity}` : ''}`,
      from: `${iniName} [horizon]${from.length ? `; ${from.join('; ')}` : ''}`,
    });
  }
  if (problems.length === 1) throw problems[0]!;
  if (problems.length) throw new ConfigErrors(problems);
  return { hosts, derived };
}
