/**
 * What kolla-ansible itself would use, from its inventory (multinode), globals.yml and passwords.yml:
 * the Dashboard hosts (the `horizon` group) and how to reach them, and the session targets Kolla
 * defines (memcached, Valkey Sentinel, the database), each value with where it came from. Pure:
 * the files are read by the caller (kolla/load.ts).
 *
 * Variables are looked up as ansible-playbook sees them when kolla-ansible runs it: globals.yml and
 * passwords.yml are extra vars (`-e @globals.yml`: they win over everything), then the host's own
 * line in the inventory, then kolla-ansible's defaults (its playbook group_vars/all and the roles'
 * defaults, copied below from kolla-ansible master), then the inventory's group vars: Ansible ranks
 * a playbook's group_vars/all above an inventory file's group vars, so a `[memcached:vars]
 * memcached_port=...` is not what Kolla uses. Only plain `{{ name }}` references are followed; any
 * other Jinja (filters, tests) is not evaluated, and a value that needs it is reported as unknown.
 */
import * as net from 'node:net';
import type { SourcePos } from '../../errors.js';
import { groupHosts, groupVar, type AnsibleInventory } from './ini.js';
import type { KollaDerived } from '../types.js';

export type { KollaDerived } from '../types.js';

/** A variable's value with its provenance. */
export interface Looked {
  value: string | number | boolean | null;
  from: string;
  pos?: SourcePos;
}

/** kolla-ansible's defaults that sessionctl follows (kolla-ansible master, ansible/group_vars/all and roles/horizon/defaults). */
export const KOLLA_DEFAULTS: Record<string, { value: string | boolean; file: string }> = {
  network_interface: { value: 'eth0', file: 'group_vars/all/common.yml' },
  api_interface: { value: '{{ network_interface }}', file: 'group_vars/all/common.yml' },
  kolla_internal_fqdn: { value: '{{ kolla_internal_vip_address }}', file: 'group_vars/all/common.yml' },
  node_config: { value: '/etc/kolla', file: 'group_vars/all/common.yml' },
  node_custom_config: { value: '{{ node_config }}/config', file: 'group_vars/all/common.yml' },
  enable_memcached: { value: true, file: 'group_vars/all/memcached.yml' },
  memcached_port: { value: '11211', file: 'group_vars/all/memcached.yml' },
  enable_valkey: { value: false, file: 'group_vars/all/valkey.yml' },
  valkey_server_port: { value: '6379', file: 'group_vars/all/valkey.yml' },
  valkey_sentinel_port: { value: '26379', file: 'group_vars/all/valkey.yml' },
  valkey_sentinel_monitor_name: { value: 'kolla', file: 'group_vars/all/valkey.yml' },
  database_address: { value: '{{ kolla_internal_fqdn }}', file: 'group_vars/all/database.yml' },
  database_port: { value: '3306', file: 'group_vars/all/database.yml' },
  database_user: { value: 'root', file: 'group_vars/all/database.yml' },
  use_preconfigured_databases: { value: false, file: 'group_vars/all/mariadb.yml' },
  use_common_mariadb_user: { value: false, file: 'group_vars/all/mariadb.yml' },
  horizon_backend_database: { value: false, file: 'group_vars/all/horizon.yml' },
  horizon_database_name: { value: 'horizon', file: 'roles/horizon/defaults/main.yml' },
};

/** The inputs: the parsed inventory and the two YAML files' top-level keys (null: the file was not given). */
export interface KollaSources {
  ini: AnsibleInventory;
  /** Shown name of the inventory file (e.g. `multinode`). */
  iniName: string;
  globals: Record<string, unknown> | null;
  globalsName: string;
  /** Keys of passwords.yml and whether each holds a usable (non-empty string) value. */
  passwords: Map<string, boolean> | null;
  passwordsName: string;
}

/** Looks variables up as Kolla's ansible-playbook run sees them. */
export class KollaVars {
  constructor(readonly src: KollaSources) {}

  /** The raw value of `key` for `host` (or for no host: globals and defaults only), before templates. */
  raw(key: string, host?: string): Looked | undefined {
    const g = this.src.globals;
    if (g && Object.hasOwn(g, key)) {
      const v = g[key];
      if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) return { value: v as Looked['value'], from: `${this.src.globalsName} ${key}` };
      return { value: null, from: `${this.src.globalsName} ${key} (not a plain value)` };
    }
    const own = host !== undefined ? this.src.ini.hosts.get(host)?.vars.get(key) : undefined;
    if (own) return { ...own, from: `${this.src.iniName} ${key} on the line of ${host}` };
    const def = KOLLA_DEFAULTS[key];
    if (def) return { value: def.value, from: `kolla-ansible's default ${key} (${def.file})` };
    const gv = host !== undefined ? groupVar(this.src.ini, host, key) : this.src.ini.groups.get('all')?.vars.get(key) && { ...this.src.ini.groups.get('all')!.vars.get(key)!, from: '[all:vars]' };
    if (gv) return { value: gv.value, pos: gv.pos, from: `${this.src.iniName} ${gv.from} ${key}` };
    return undefined;
  }

  /**
   * The value of `key` with plain `{{ name }}` references followed; `problem` says why it is
   * unknown (not set, or Jinja that is not evaluated here).
   */
  get(key: string, host?: string, depth = 0): Looked | { problem: string } {
    const r = this.raw(key, host);
    if (!r) return { problem: `${key} is not set (${this.src.globalsName}, ${this.src.iniName})` };
    if (typeof r.value !== 'string' || !r.value.includes('{{')) return r;
    if (depth > 16) return { problem: `${key}: its {{ }} references go more than 16 deep` };
    let unknown: string | undefined;
    const via: string[] = [];
    const value = r.value.replace(/\{\{\s*([^}]*?)\s*\}\}/g, (_all, expr: string) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(expr)) {
        unknown ??= `${key} is ${JSON.stringify(r.value)} (${r.from}): Jinja that sessionctl does not evaluate; set ${key} plainly in ${this.src.globalsName}`;
        return '';
      }
      const inner = this.get(expr, host, depth + 1);
      if ('problem' in inner) {
        unknown ??= `${key} is ${JSON.stringify(r.value)} (${r.from}), and ${inner.problem}`;
        return '';
      }
      via.push(inner.from);
      return String(inner.value ?? '');
    });
    if (unknown) return { problem: unknown };
    return { value, from: `${via.join(', ')} (via ${r.from})`, ...(r.pos ? { pos: r.pos } : {}) };
  }

  /** A boolean as Ansible's `bool` filter reads it. */
  bool(key: string, host?: string): { value: boolean; from: string } | { problem: string } {
    const r = this.get(key, host);
    if ('problem' in r) return r;
    const b = ansibleBool(r.value);
    return b === undefined ? { problem: `${key} is ${JSON.stringify(r.value)} (${r.from}), not true or false` } : { value: b, from: r.from };
  }
}

/** Ansible's boolean(): yes/no, true/false, on/off, 1/0, y/n, t/f, any case. */
export function ansibleBool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (v === 1 || v === 0) return v === 1;
  if (typeof v !== 'string') return undefined;
  const s = v.trim().toLowerCase();
  if (['yes', 'on', '1', 'true', 'y', 't'].includes(s)) return true;
  if (['no', 'off', '0', 'false', 'n', 'f', ''].includes(s)) return false;
  return undefined;
}

/** `addr` as a URL or LOCATION puts it (Kolla's put_address_in_context('url')): IPv6 in brackets. */
function inUrl(addr: string): string {
  return net.isIPv6(addr) ? `[${addr}]` : addr;
}

/**
 * A host's API address: Kolla takes the IP of its api_interface on the host itself. Here: the
 * host's api_interface_address when the inventory or globals.yml gives it, else its ansible_host
 * when that is an IP address (assumed to be on api_interface, as on most deployments: the plan
 * says so), else the inventory name when it is an IP.
 */
export function apiAddress(vars: KollaVars, host: string): { value: string; from: string } | { problem: string } {
  const iface = vars.get('api_interface', host);
  const ifaceName = 'problem' in iface ? 'api_interface' : `api_interface ${String(iface.value)}`;
  const explicit = vars.raw('api_interface_address', host);
  if (explicit && typeof explicit.value === 'string' && !explicit.value.includes('{{') && net.isIP(explicit.value)) return { value: explicit.value, from: explicit.from };
  if (explicit && typeof explicit.value === 'string' && !explicit.value.includes('{{')) return { problem: `${host}: api_interface_address ${JSON.stringify(explicit.value)} (${explicit.from}) is not an IP address` };
  const ah = vars.raw('ansible_host', host);
  if (ah && typeof ah.value === 'string' && net.isIP(ah.value)) return { value: ah.value, from: `${ah.from}, assumed to be the address on ${ifaceName}` };
  if (net.isIP(host)) return { value: host, from: `the inventory name ${host}, assumed to be the address on ${ifaceName}` };
  return {
    problem:
      `${host}: its API address is the IP of its ${ifaceName}, which kolla-ansible reads on the host; ` +
      `give it in ${vars.src.iniName} as api_interface_address=IP (or ansible_host=IP) on the line of ${host}`,
  };
}

/** `address:port` on each API address of a group's hosts, and where they came from. */
function groupEndpoints(vars: KollaVars, group: string, portVar: string): { endpoints: string[]; from: string } | { problem: string } {
  const hosts = groupHosts(vars.src.ini, group);
  if (!hosts.length) return { problem: `${vars.src.iniName} has no host in the ${group} group` };
  const port = vars.get(portVar);
  if ('problem' in port) return port;
  const endpoints: string[] = [];
  const froms: string[] = [];
  for (const h of hosts) {
    const a = apiAddress(vars, h);
    if ('problem' in a) return a;
    endpoints.push(`${inUrl(a.value)}:${String(port.value)}`);
    froms.push(`${h}: ${a.from}`);
  }
  return { endpoints, from: `${vars.src.iniName} [${group}] (${froms.join('; ')}) + ${portVar} ${String(port.value)} from ${port.from}` };
}

/** What Kolla defines for one backend: the settings to fill in, or why they cannot be derived. */
export type Derivation<T> = { value: T; derived: KollaDerived[] } | { problem: string };

/** memcached: the `memcached` group's API addresses and memcached_port. */
export function deriveMemcached(vars: KollaVars): Derivation<{ servers: string[] }> {
  const enabled = vars.bool('enable_memcached');
  if ('problem' in enabled) return enabled;
  if (!enabled.value) return { problem: `enable_memcached is false (${enabled.from}): Kolla runs no memcached` };
  const at = groupEndpoints(vars, 'memcached', 'memcached_port');
  if ('problem' in at) return at;
  return {
    value: { servers: at.endpoints },
    derived: [{ what: 'memcached servers', value: at.endpoints.join(','), from: at.from, backend: 'memcached' }],
  };
}

/** Valkey Sentinel: the `valkey` group's API addresses, valkey_sentinel_port, the monitor name, valkey_master_password. */
export function deriveValkey(vars: KollaVars): Derivation<{ url: string; sentinel: { service: string; hosts: string[] }; passwordKey: string }> {
  const enabled = vars.bool('enable_valkey');
  if ('problem' in enabled) return enabled;
  if (!enabled.value) return { problem: `enable_valkey is false (${enabled.from}): Kolla runs no Valkey` };
  const at = groupEndpoints(vars, 'valkey', 'valkey_sentinel_port');
  if ('problem' in at) return at;
  const sentinels = at.endpoints;
  const monitor = vars.get('valkey_sentinel_monitor_name');
  if ('problem' in monitor) return monitor;
  const service = String(monitor.value);
  if (!/^[A-Za-z0-9._-]+$/.test(service)) return { problem: `valkey_sentinel_monitor_name ${JSON.stringify(service)} (${monitor.from}) is not a plain name` };
  const pw = passwordKey(vars, 'valkey_master_password');
  if ('problem' in pw) return pw;
  return {
    value: { url: `redis://${service}/0`, sentinel: { service, hosts: sentinels }, passwordKey: 'valkey_master_password' },
    derived: [
      { what: 'Valkey Sentinel hosts', value: sentinels.join(','), from: at.from, backend: 'redis' },
      { what: 'Valkey Sentinel service', value: service, from: monitor.from, backend: 'redis' },
      { what: 'Valkey password', value: pw.shown, from: `${vars.src.passwordsName} (never shown)`, backend: 'redis' },
    ],
  };
}

/** The database Kolla gives Horizon (horizon_backend_database): database_address, horizon_database_name/_user/_password. */
export function deriveDatabase(vars: KollaVars): Derivation<{ host: string; port: number; name: string; user: string; passwordKey: string }> {
  const host = vars.get('database_address');
  if ('problem' in host) return { problem: `the database address: ${host.problem}` };
  if (!host.value) return { problem: `database_address is empty (${host.from}): set kolla_internal_vip_address or database_address in ${vars.src.globalsName}` };
  const port = vars.get('database_port');
  if ('problem' in port) return port;
  const portNo = Number(port.value);
  if (!Number.isInteger(portNo) || portNo < 1 || portNo > 65535) return { problem: `database_port ${JSON.stringify(port.value)} (${port.from}) is not a port` };
  const name = vars.get('horizon_database_name');
  if ('problem' in name) return name;
  // roles/horizon/defaults: the common MariaDB user with preconfigured databases, else 'horizon'.
  let user: Looked | { problem: string } | undefined = vars.src.globals && Object.hasOwn(vars.src.globals, 'horizon_database_user') ? vars.get('horizon_database_user') : undefined;
  if (!user) {
    const pre = vars.bool('use_preconfigured_databases');
    const common = vars.bool('use_common_mariadb_user');
    if ('problem' in pre) return pre;
    if ('problem' in common) return common;
    user = pre.value && common.value ? vars.get('database_user') : { value: 'horizon', from: "kolla-ansible's default horizon_database_user (roles/horizon/defaults/main.yml)" };
  }
  if ('problem' in user) return user;
  const pw = passwordKey(vars, 'horizon_database_password');
  if ('problem' in pw) return pw;
  const h = String(host.value);
  return {
    value: { host: h, port: portNo, name: String(name.value), user: String(user.value), passwordKey: 'horizon_database_password' },
    derived: [
      { what: 'database host', value: `${h}:${portNo}`, from: `database_address from ${host.from}; database_port from ${port.from}`, backend: 'database' },
      { what: 'database name', value: String(name.value), from: name.from, backend: 'database' },
      { what: 'database user', value: String(user.value), from: user.from, backend: 'database' },
      { what: 'database password', value: pw.shown, from: `${vars.src.passwordsName} (never shown)`, backend: 'database' },
    ],
  };
}

/** A password of passwords.yml, named, never its value. */
function passwordKey(vars: KollaVars, key: string): { shown: string } | { problem: string } {
  const p = vars.src.passwords;
  if (!p) return { problem: `${key} lives in passwords.yml, which was not given (--kolla-passwords or kolla.passwords)` };
  if (!p.has(key)) return { problem: `${vars.src.passwordsName} has no ${key} (run kolla-genpwd?)` };
  if (!p.get(key)) return { problem: `${vars.src.passwordsName} ${key} is empty (run kolla-genpwd?)` };
  return { shown: `${vars.src.passwordsName}:${key}` };
}
