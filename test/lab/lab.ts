/**
 * The sessionctl test lab: Dashboard hosts (sshd + their own Docker engine running a Kolla-style
 * `horizon` container), a jump host, and the session-store services, all as containers on one
 * Docker network per lab. Node built-ins only; every command runs from an argv array.
 *
 *   const lab = await labUp({ name: 'zed', horizon: 'zed' });  // idempotent
 *   ... lab.inventory, lab.identity, lab.knownHosts ...
 *   await labDown('zed', { purge: true });
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fanout, LabError, run, sleep } from './exec.js';
import { ensureImages, FLAVOURS, imageId, isFlavour, labImageTags, REPO, type Flavour, type LabImages } from './images.js';
import { generateSshKey, type SshKeyType } from './sshkeys.js';
import { ensureLabTls, tlsPaths, type LabTls } from './tlscerts.js';

export { LabError } from './exec.js';
export type { Flavour } from './images.js';

const LAB_DIR = dirname(fileURLToPath(import.meta.url));
const IMAGES_DIR = join(LAB_DIR, 'images');
export const STATE_ROOT = join(LAB_DIR, '.state');

export type Layout = 'd' | 'legacy';

export interface LabUpOptions {
  /** Default 'lab'. */
  name?: string;
  /** Dashboard hosts, default 3. */
  hosts?: number;
  /** Default 'zed'. */
  horizon?: Flavour;
  /** Kolla settings layout: 'd' (>= 2024.1, default) or 'legacy' (<= 2023.2). */
  layout?: Layout;
  log?: (line: string) => void;
}

export interface LabHost {
  name: string;
  container: string;
  /** Address on the lab network (sshd on port 22 there). */
  ip: string;
  /** sshd published on 127.0.0.1. */
  sshPort: number;
  address: '127.0.0.1';
}

export interface LabInfo {
  name: string;
  horizon: Flavour;
  layout: Layout;
  slot: number;
  network: string;
  subnet: string;
  stateDir: string;
  /** Private key (ed25519, OpenSSH format, mode 0600) accepted for root and kolla everywhere. */
  identity: string;
  knownHosts: string;
  inventory: string;
  /** OpenSSH client config: `ssh -F <sshConfig> dash1`, and lab IPs go through the jump host. */
  sshConfig: string;
  secretKey: string;
  images: LabImages;
  hosts: LabHost[];
  jump: LabHost;
  services: {
    memcached: { ip: string; port: number };
    /** tlsPort speaks only TLS, with a certificate from the lab's CA (tls.ca) naming ip. */
    redis: { ip: string; port: number; passwordFile: string; tlsPort: number; tls: LabTls };
    /** A Redis Cluster of three masters (no replicas), password as redis's; containers sessionctl-LAB-cluster-N. TLS on tlsPort too (the CA and certificate as redis's), the bus over TLS. */
    cluster: { nodes: { ip: string; port: number; container: string }[]; passwordFile: string; tlsPort: number };
    /** Replica of redis (same password); the sentinel finds it and can promote it. */
    redisReplica: { ip: string; port: number };
    sentinel: { ip: string; port: number; service: 'mymaster'; passwordFile: string };
    /** A Sentinel on TLS only (the lab CA), watching redis's TLS port as service mytls; sentinel's password. */
    sentinelTls: { ip: string; port: number; service: 'mytls'; passwordFile: string; container: string };
    mariadb: { ip: string; port: number; database: string; user: string; passwordFile: string };
    postgres: { ip: string; port: number; database: string; user: string; passwordFile: string };
    /** Valkey and its Sentinel (monitor "kolla"), as kolla-ansible 2026.1 deploys them: k2026 labs only. */
    valkey?: { ip: string; port: number; passwordFile: string; sentinel: { ip: string; port: number }; monitor: 'kolla' };
  };
}

export interface LabStatus {
  name: string;
  /** up: everything running and healthy; degraded: some of it; down: nothing running. */
  state: 'up' | 'degraded' | 'down';
  info?: LabInfo;
  containers: Array<{ name: string; state: string }>;
  hosts: Array<{ name: string; ssh: boolean; horizon: string }>;
}

const CLUSTER_NODES = ['cluster-1', 'cluster-2', 'cluster-3'] as const;
const SERVICES = ['memcached', 'redis', 'redis-replica', 'sentinel', 'sentinel-tls', 'mariadb', 'postgres', ...CLUSTER_NODES] as const;
/** Only on flavours whose Kolla deploys Valkey (k2026). */
const VALKEY_SERVICES = ['valkey', 'valkey-sentinel'] as const;
type Service = (typeof SERVICES)[number] | (typeof VALKEY_SERVICES)[number];
const SERVICE_OCTET: Record<Service, number> = { memcached: 10, redis: 11, sentinel: 12, mariadb: 13, postgres: 14, 'redis-replica': 15, valkey: 16, 'cluster-1': 41, 'cluster-2': 42, 'cluster-3': 43, 'valkey-sentinel': 17, 'sentinel-tls': 18 };
const SERVICE_PORT: Record<Service, number> = { memcached: 11211, redis: 6379, sentinel: 26379, mariadb: 3306, postgres: 5432, 'redis-replica': 6379, 'cluster-1': 6379, 'cluster-2': 6379, 'cluster-3': 6379, valkey: 6379, 'valkey-sentinel': 26379, 'sentinel-tls': 26380 };
const SECRETS = ['redis', 'sentinel', 'mariadb', 'postgres', 'valkey'] as const;
const servicesOf = (info: { horizon: Flavour }): Service[] => [...SERVICES, ...(FLAVOURS[info.horizon].valkey ? VALKEY_SERVICES : [])];
const serviceAddress = (info: LabInfo, s: Service) => ({ ip: ipOf(info.slot, SERVICE_OCTET[s]), port: SERVICE_PORT[s] });
const REDIS_TLS_PORT = 6380;
const JUMP_OCTET = 5;
const DASH_OCTET = 20;
/** No container has this address: Horizon's Keystone URL points at it. */
const KEYSTONE_OCTET = 250;
const MAX_SLOT = 50;
const PORTS_PER_SLOT = 20;
const LABEL = `${REPO}.lab`;
const SPEC = `${REPO}.spec`;
const HOST_KEY_TYPES: SshKeyType[] = ['ed25519', 'rsa', 'ecdsa'];
/** Where Horizon listens: Apache on all addresses, port 80; uWSGI (k2026) on the host's API address, 8080, as kolla-ansible >= 2025.2. */
export function horizonUrl(info: LabInfo, h: LabHost): string {
  return info.horizon === 'k2026' ? `http://${h.ip}:8080` : 'http://127.0.0.1';
}

type Log = (line: string) => void;

interface Persisted {
  slot: number;
  secretKey: string;
}

interface Plan {
  name: string;
  hosts: number;
  horizon: Flavour;
  layout: Layout;
  slot: number;
  secretKey: string;
  stateDir: string;
  images: LabImages;
}

// ---------------------------------------------------------------------------------------------
// Naming and addressing

function checkName(name: string): string {
  if (!/^[a-z][a-z0-9-]{0,19}$/.test(name)) throw new LabError(`bad lab name ${JSON.stringify(name)}: use [a-z][a-z0-9-]{0,19}`);
  return name;
}

const stateDirOf = (name: string) => join(STATE_ROOT, name);
const networkOf = (name: string) => `sessionctl-${name}`;
const containerOf = (lab: string, role: string) => `sessionctl-${lab}-${role}`;
const volumeOf = (lab: string, host: string) => `sessionctl-${lab}-${host}-docker`;
const ipOf = (slot: number, octet: number | '*') => `172.30.${slot}.${octet}`;
const subnetOf = (slot: number) => `172.30.${slot}.0/24`;
const jumpPortOf = (slot: number) => 2200 + slot * PORTS_PER_SLOT;

function describeLab(plan: Plan): LabInfo {
  const { name, slot, stateDir } = plan;
  const secret = (s: string) => join(stateDir, 'secrets', `${s}.password`);
  const host = (hostName: string, octet: number, port: number): LabHost => ({
    name: hostName,
    container: containerOf(name, hostName),
    ip: ipOf(slot, octet),
    sshPort: port,
    address: '127.0.0.1',
  });
  const svc = (s: Service) => ({ ip: ipOf(slot, SERVICE_OCTET[s]), port: SERVICE_PORT[s] });
  return {
    name,
    horizon: plan.horizon,
    layout: plan.layout,
    slot,
    network: networkOf(name),
    subnet: subnetOf(slot),
    stateDir,
    identity: join(stateDir, 'id_ed25519'),
    knownHosts: join(stateDir, 'known_hosts'),
    inventory: join(stateDir, 'inventory.yaml'),
    sshConfig: join(stateDir, 'ssh_config'),
    secretKey: plan.secretKey,
    images: plan.images,
    hosts: Array.from({ length: plan.hosts }, (_, i) => host(`dash${i + 1}`, DASH_OCTET + i + 1, jumpPortOf(slot) + i + 1)),
    jump: host('jump', JUMP_OCTET, jumpPortOf(slot)),
    services: {
      memcached: svc('memcached'),
      redis: { ...svc('redis'), passwordFile: secret('redis'), tlsPort: REDIS_TLS_PORT, tls: tlsPaths(stateDir) },
      redisReplica: svc('redis-replica'),
      cluster: { nodes: CLUSTER_NODES.map((n) => ({ ...svc(n), container: containerOf(name, n) })), passwordFile: secret('redis'), tlsPort: REDIS_TLS_PORT },
      sentinel: { ...svc('sentinel'), service: 'mymaster', passwordFile: secret('sentinel') },
      sentinelTls: { ...svc('sentinel-tls'), service: 'mytls', passwordFile: secret('sentinel'), container: containerOf(name, 'sentinel-tls') },
      mariadb: { ...svc('mariadb'), database: 'horizon', user: 'horizon', passwordFile: secret('mariadb') },
      postgres: { ...svc('postgres'), database: 'horizon', user: 'horizon', passwordFile: secret('postgres') },
      ...(FLAVOURS[plan.horizon].valkey
        ? { valkey: { ...svc('valkey'), passwordFile: secret('valkey'), sentinel: svc('valkey-sentinel'), monitor: 'kolla' as const } }
        : {}),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Locks: labs may be brought up from several test processes at once.

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function withLock<T>(lock: string, fn: () => Promise<T>, timeoutMs = 45 * 60_000): Promise<T> {
  const dir = join(STATE_ROOT, '.locks');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${lock}.lock`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let holder = '';
      try {
        holder = readFileSync(file, 'utf8').trim();
      } catch {
        continue;
      }
      // An empty file is a lock being written right now.
      if (holder && !pidAlive(Number(holder))) {
        rmSync(file, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new LabError(`timed out waiting for lock ${file} (held by pid ${holder})`);
      await sleep(500);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(file, { force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// State files

function writeSecretFile(path: string, content: string): void {
  writeFileSync(path, content, { mode: 0o600 });
  chmodSync(path, 0o600);
}

function readPersisted(stateDir: string): Persisted | undefined {
  try {
    return JSON.parse(readFileSync(join(stateDir, 'persist.json'), 'utf8')) as Persisted;
  } catch {
    return undefined;
  }
}

function ipToInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

function overlaps(cidrA: string, cidrB: string): boolean {
  const range = (cidr: string): [number, number] => {
    const [ip = '', bits = '32'] = cidr.split('/');
    const size = 2 ** (32 - Number(bits));
    const start = Math.floor(ipToInt(ip) / size) * size;
    return [start, start + size - 1];
  };
  const [a0, a1] = range(cidrA);
  const [b0, b1] = range(cidrB);
  return a0 <= b1 && b0 <= a1;
}

/** A slot (subnet 172.30.<slot>.0/24, ssh ports 2200 + 20 * slot ...) that no other lab or network uses. */
async function allocateSlot(name: string): Promise<number> {
  const taken = new Set<number>();
  if (existsSync(STATE_ROOT)) {
    for (const other of readdirSync(STATE_ROOT)) {
      if (other === name || other.startsWith('.')) continue;
      const p = readPersisted(join(STATE_ROOT, other));
      if (p) taken.add(p.slot);
    }
  }
  const ids = (await run('docker', ['network', 'ls', '-q'])).stdout.split('\n').filter(Boolean);
  const subnets: Array<{ net: string; subnet: string }> = [];
  if (ids.length) {
    const r = await run('docker', ['network', 'inspect', '--format', '{{.Name}}{{range .IPAM.Config}} {{.Subnet}}{{end}}', ...ids]);
    for (const line of r.stdout.split('\n').filter(Boolean)) {
      const [net = '', ...nets] = line.split(' ');
      for (const s of nets) if (/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(s)) subnets.push({ net, subnet: s });
    }
  }
  for (let slot = 1; slot <= MAX_SLOT; slot++) {
    if (taken.has(slot)) continue;
    if (subnets.some((s) => s.net !== networkOf(name) && overlaps(s.subnet, subnetOf(slot)))) continue;
    return slot;
  }
  throw new LabError(`no free lab slot (1..${MAX_SLOT})`);
}

function randomPassword(): string {
  return randomBytes(24).toString('hex');
}

function randomSecretKey(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return Array.from(randomBytes(50), (b) => alphabet[b % alphabet.length]).join('');
}

/** Keys, secrets and the per-container /lab directories. Existing ones are kept. */
function ensureStateFiles(info: LabInfo, hostNames: string[]): void {
  const { stateDir } = info;
  mkdirSync(join(stateDir, 'secrets'), { recursive: true, mode: 0o700 });
  chmodSync(stateDir, 0o700);
  if (!existsSync(info.identity)) {
    const key = generateSshKey('ed25519', `sessionctl-lab-${info.name}`);
    writeSecretFile(info.identity, key.privateKey);
    writeFileSync(`${info.identity}.pub`, `${key.publicKey}\n`);
  }
  ensureLabTls(stateDir, [info.services.redis.ip, info.services.sentinelTls.ip, ...info.services.cluster.nodes.map((n) => n.ip)]);
  const authorized = readFileSync(`${info.identity}.pub`, 'utf8');
  for (const s of SECRETS) {
    const file = join(stateDir, 'secrets', `${s}.password`);
    if (!existsSync(file)) writeSecretFile(file, `${randomPassword()}\n`);
  }
  for (const host of hostNames) {
    const sshDir = join(stateDir, 'hosts', host, 'ssh');
    mkdirSync(sshDir, { recursive: true });
    for (const type of HOST_KEY_TYPES) {
      const file = join(sshDir, `ssh_host_${type}_key`);
      if (existsSync(file) && existsSync(`${file}.pub`)) continue;
      const key = generateSshKey(type, `root@${host}`);
      writeSecretFile(file, key.privateKey);
      writeFileSync(`${file}.pub`, `${key.publicKey}\n`);
    }
    writeFileSync(join(stateDir, 'hosts', host, 'authorized_keys'), authorized);
  }
}

function hostPublicKeys(info: LabInfo, host: string): string[] {
  return HOST_KEY_TYPES.map((type) => {
    const [alg = '', blob = ''] = readFileSync(join(info.stateDir, 'hosts', host, 'ssh', `ssh_host_${type}_key.pub`), 'utf8').split(' ');
    return `${alg} ${blob}`;
  });
}

function writeClientFiles(info: LabInfo): void {
  const lines: string[] = [];
  for (const h of [info.jump, ...info.hosts]) {
    for (const key of hostPublicKeys(info, h.name)) {
      lines.push(`[127.0.0.1]:${h.sshPort} ${key}`);
      lines.push(`${h.ip} ${key}`);
    }
  }
  writeFileSync(info.knownHosts, `${lines.join('\n')}\n`);
  const inventory = [
    '# sessionctl lab inventory (generated)',
    'defaults:',
    '  user: root',
    `  identity: ${info.identity}`,
    `  known_hosts: ${info.knownHosts}`,
    '  container: horizon',
    'hosts:',
    ...info.hosts.map((h) => `  ${h.name}: { address: ${h.address}, port: ${h.sshPort} }`),
    'session:',
    '  backend: redis',
    `  redis: { url: "redis://${info.services.redis.ip}:${info.services.redis.port}/0", password_file: ${info.services.redis.passwordFile} }`,
    '',
  ];
  writeFileSync(info.inventory, inventory.join('\n'));
  // Command-line options (-i, -o UserKnownHostsFile) do not reach the ssh that -J starts; a
  // config file given with -F does.
  const sshConfig = [
    '# sessionctl lab ssh client config (generated)',
    ...[info.jump, ...info.hosts].flatMap((h) => [`Host ${h.name}`, `    HostName 127.0.0.1`, `    Port ${h.sshPort}`]),
    `Host ${ipOf(info.slot, '*')}`,
    `    ProxyJump ${info.jump.name}`,
    'Host *',
    '    User root',
    `    IdentityFile ${info.identity}`,
    '    IdentitiesOnly yes',
    `    UserKnownHostsFile ${info.knownHosts}`,
    '    StrictHostKeyChecking yes',
    '    BatchMode yes',
    '',
  ];
  writeFileSync(info.sshConfig, sshConfig.join('\n'));
}

// ---------------------------------------------------------------------------------------------
// Kolla-rendered Horizon settings

function cachesBlock(info: LabInfo): string {
  const m = info.services.memcached;
  return [
    'CACHES = {',
    "    'default': {",
    "        'BACKEND': 'django.core.cache.backends.memcached.PyMemcacheCache',",
    "        'LOCATION': [",
    `            '${m.ip}:${m.port}'`,
    '        ],',
    "        'OPTIONS': {",
    "            'ignore_exc': True,",
    '        }',
    '    }',
    '}',
  ].join('\n');
}

/** What kolla-ansible renders (the parts a login page and the session machinery depend on). */
function kollaSettings(info: LabInfo): string {
  const keystone = ipOf(info.slot, KEYSTONE_OCTET);
  return `DEBUG = False
TEMPLATE_DEBUG = DEBUG
COMPRESS_OFFLINE = True
WEBROOT = '/'
ALLOWED_HOSTS = ['*']

SESSION_ENGINE = 'django.contrib.sessions.backends.cache'
${cachesBlock(info)}

OPENSTACK_API_VERSIONS = {
    "identity": 3,
}

LOCAL_PATH = '/tmp'
SECRET_KEY='${info.secretKey}'

EMAIL_BACKEND = 'django.core.mail.backends.console.EmailBackend'

OPENSTACK_HOST = "${keystone}"
OPENSTACK_KEYSTONE_URL = "http://${keystone}:5000/v3"
OPENSTACK_KEYSTONE_DEFAULT_ROLE = "member"

TIME_ZONE = "UTC"
`;
}

interface ConfigFile {
  source: string;
  dest: string;
  owner: string;
  perm: string;
  optional?: boolean;
}

/**
 * kolla-ansible's uWSGI ini for Horizon (service-uwsgi-config role), with what Debian's packages need:
 * the HTTP router plugins, the venv named (Kolla's uWSGI lives in the venv), wsgi-file instead of
 * the module Debian's Horizon lacks, Debian's STATIC_ROOT. The last host's ini names no log file
 * (uWSGI logs to Docker), as an operator's own may not: a reload there knows a new worker has
 * loaded Horizon from /proc alone, elsewhere from uWSGI's log, so a switch runs both ways.
 */
function uwsgiIni(info: LabInfo, h: LabHost): string {
  const listen = new URL(horizonUrl(info, h)).host;
  const logto = h.name === info.hosts.at(-1)?.name ? '' : 'logto2 = /var/log/kolla/horizon/horizon-uwsgi.log\n';
  return `[uwsgi]
add-header = Connection: close
buffer-size = 65535
die-on-term = true
enable-threads = true
exit-on-reload = false
hook-master-start = unix_signal:15 gracefully_kill_them_all
http = ${listen}
http-auto-chunked = true
http-chunked-input = true
http-raw-body = true
lazy-apps = true
${logto}master = true
wsgi-file = /usr/share/openstack-dashboard/wsgi.py
virtualenv = /var/lib/kolla/venv
plugins-dir = /usr/lib/uwsgi/plugins
plugins = corerouter,http,python3
processes = 2
threads = 1
socket-timeout = 30
thunder-lock = true
uid = horizon
gid = horizon
worker-reload-mercy = 80
static-map = /static=/var/lib/openstack-dashboard/static
`;
}

/** The files of /etc/kolla/horizon/ on a Dashboard host, by name. */
export function kollaHorizonFiles(info: LabInfo, h: LabHost): Record<string, string> {
  const src = (f: string) => `/var/lib/kolla/config_files/${f}`;
  const entry = (f: string, dest: string): ConfigFile => ({ source: src(f), dest, owner: 'horizon', perm: '0600' });
  const header = (what: string) => `# ${what}\n# Rendered by kolla-ansible (sessionctl lab); a reconfigure overwrites this file.\n\n`;
  if (info.layout === 'd') {
    const uwsgi = info.horizon === 'k2026';
    const config = {
      command: uwsgi ? 'uwsgi /etc/horizon/horizon-uwsgi.ini' : '/usr/sbin/apache2 -DFOREGROUND',
      config_files: [
        ...(uwsgi ? [entry('horizon-uwsgi.ini', '/etc/horizon/horizon-uwsgi.ini')] : []),
        entry('_9998-kolla-settings.py', '/etc/openstack-dashboard/local_settings.d/_9998-kolla-settings.py'),
        entry('_9999-custom-settings.py', '/etc/openstack-dashboard/local_settings.d/_9999-custom-settings.py'),
      ],
    };
    return {
      'config.json': `${JSON.stringify(config, null, 4)}\n`,
      ...(uwsgi ? { 'horizon-uwsgi.ini': uwsgiIni(info, h) } : {}),
      '_9998-kolla-settings.py': header('Horizon settings (Kolla >= 2024.1 layout)') + kollaSettings(info),
      '_9999-custom-settings.py': '# Custom Horizon settings (from /etc/kolla/config/horizon/_9999-custom-settings.py on the deploy host).\n',
    };
  }
  const config = {
    command: '/usr/sbin/apache2 -DFOREGROUND',
    config_files: [
      entry('local_settings', '/etc/openstack-dashboard/local_settings.py'),
      entry('custom_local_settings', '/etc/openstack-dashboard/custom_local_settings'),
      entry('_0006_debian_cache.py', '/etc/openstack-dashboard/local_settings.d/_0006_debian_cache.py'),
    ],
  };
  // The image links openstack_dashboard/local/custom_local_settings.py to
  // /etc/openstack-dashboard/custom_local_settings, as Kolla's extend_start did.
  const localSettings = `${header('Horizon local_settings (Kolla <= 2023.2 layout)')}import os

from django.utils.translation import gettext_lazy as _

${kollaSettings(info)}
# Allow operators to overwrite variables (LP: #1769970).
from openstack_dashboard.local.custom_local_settings import *  # noqa
`;
  // Debian's local_settings.d/ snippets run after local_settings.py; its _0006 would put
  // LocMemCache back, so the deployment renders it with the same cache.
  const debianCache = `${header("Debian's cache snippet, rendered to agree with local_settings")}${cachesBlock(info)}\n`;
  return {
    'config.json': `${JSON.stringify(config, null, 4)}\n`,
    local_settings: localSettings,
    custom_local_settings: '# Custom Horizon settings (from /etc/kolla/config/horizon/custom_local_settings on the deploy host).\n',
    '_0006_debian_cache.py': debianCache,
  };
}

// ---------------------------------------------------------------------------------------------
// Docker helpers

const docker = (args: string[], opts: Parameters<typeof run>[2] = {}) => run('docker', args, opts);

function specHash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}

interface ContainerSpec {
  name: string;
  image: string;
  runArgs: string[];
  cmd?: string[];
}

interface ContainerState {
  running: boolean;
  spec: string | undefined;
  health: string | undefined;
}

async function inspectContainer(name: string, inHost?: string): Promise<ContainerState | undefined> {
  const format = `{{.State.Running}} {{index .Config.Labels "${SPEC}"}} {{if .State.Health}}{{.State.Health.Status}}{{end}}`;
  const args = ['inspect', '--type', 'container', '--format', format, name];
  const r = inHost ? await docker(['exec', inHost, 'docker', ...args], { allowFailure: true }) : await docker(args, { allowFailure: true });
  if (r.code !== 0) return undefined;
  const [running, spec, health] = r.stdout.trim().split(' ');
  return { running: running === 'true', spec: spec || undefined, health: health || undefined };
}

/** Runs the container unless one with the same spec exists (then it is only started). True if (re)created. */
async function ensureContainer(lab: string, c: ContainerSpec, log: Log): Promise<boolean> {
  const spec = specHash(c);
  const state = await inspectContainer(c.name);
  if (state && state.spec === spec) {
    if (!state.running) {
      log(`starting ${c.name}`);
      await docker(['start', c.name]);
    }
    return false;
  }
  if (state) {
    log(`replacing ${c.name}`);
    await docker(['rm', '-f', c.name]);
  } else {
    log(`creating ${c.name}`);
  }
  await docker(['run', '-d', '--name', c.name, '--label', `${LABEL}=${lab}`, '--label', `${SPEC}=${spec}`, ...c.runArgs, c.image, ...(c.cmd ?? [])]);
  return true;
}

async function ensureNetwork(info: LabInfo, log: Log): Promise<void> {
  const r = await docker(['network', 'inspect', '--format', '{{range .IPAM.Config}}{{.Subnet}}{{end}}', info.network], { allowFailure: true });
  if (r.code === 0 && r.stdout.trim() === info.subnet) return;
  if (r.code === 0) {
    log(`network ${info.network} has subnet ${r.stdout.trim()}, recreating with ${info.subnet}`);
    await removeContainers(info.name);
    await docker(['network', 'rm', info.network]);
  }
  log(`creating network ${info.network} (${info.subnet})`);
  await docker(['network', 'create', '--label', `${LABEL}=${info.name}`, '--subnet', info.subnet, '--gateway', ipOf(info.slot, 1), info.network]);
}

async function labContainers(name: string): Promise<Array<{ name: string; state: string }>> {
  const r = await docker(['ps', '-a', '--filter', `label=${LABEL}=${name}`, '--format', '{{.Names}} {{.State}}']);
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [n = '', s = ''] = l.split(' ');
      return { name: n, state: s };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

async function removeContainers(name: string, keep: Set<string> = new Set(), log: Log = () => {}): Promise<void> {
  const gone = (await labContainers(name)).map((c) => c.name).filter((n) => !keep.has(n));
  if (!gone.length) return;
  log(`removing ${gone.join(' ')}`);
  await docker(['rm', '-f', ...gone]);
}

// ---------------------------------------------------------------------------------------------
// Containers of a lab

function serviceSpec(info: LabInfo, images: LabImages, s: Service): ContainerSpec {
  const args = [
    '--hostname', s,
    '--network', info.network,
    '--ip', serviceAddress(info, s).ip,
    '--restart', 'unless-stopped',
    '-e', `LAB_SUBNET=${info.subnet}`,
    '-v', `${join(info.stateDir, 'secrets')}:/lab/secrets:ro`,
  ];
  if (s === 'redis' || s === 'sentinel-tls' || (CLUSTER_NODES as readonly string[]).includes(s)) args.push('-v', `${info.services.redis.tls.dir}:/lab/tls:ro`, '-e', `TLS_PORT=${info.services.redis.tlsPort}`);
  if (s === 'sentinel' || s === 'sentinel-tls' || s === 'redis-replica') args.push('-e', `REDIS_HOST=${info.services.redis.ip}`, '-e', `REDIS_PORT=${info.services.redis.port}`);
  // SIGINT is PostgreSQL's fast shutdown; SIGTERM would wait for clients to go.
  if (s === 'postgres') args.push('--stop-signal', 'SIGINT');
  if (s === 'valkey' || s === 'valkey-sentinel') {
    if (!images.valkey) throw new LabError(`no Valkey image for flavour ${info.horizon}`);
    if (s === 'valkey-sentinel') args.push('-e', `VALKEY_HOST=${serviceAddress(info, 'valkey').ip}`, '-e', 'MONITOR=kolla');
    return { name: containerOf(info.name, s), image: images.valkey, runArgs: args, cmd: [s === 'valkey' ? 'server' : 'sentinel'] };
  }
  return { name: containerOf(info.name, s), image: images.services, runArgs: args, cmd: [(CLUSTER_NODES as readonly string[]).includes(s) ? 'cluster' : s] };
}

function jumpSpec(info: LabInfo, images: LabImages): ContainerSpec {
  const j = info.jump;
  return {
    name: j.container,
    image: images.jump,
    runArgs: [
      '--hostname', j.name,
      '--network', info.network,
      '--ip', j.ip,
      '--restart', 'unless-stopped',
      '-p', `127.0.0.1:${j.sshPort}:22`,
      '-v', `${join(info.stateDir, 'hosts', j.name)}:/lab:ro`,
    ],
  };
}

function dashSpec(info: LabInfo, images: LabImages, h: LabHost): ContainerSpec {
  return {
    name: h.container,
    image: images.dash,
    runArgs: [
      '--hostname', h.name,
      '--network', info.network,
      '--ip', h.ip,
      '--restart', 'unless-stopped',
      '-p', `127.0.0.1:${h.sshPort}:22`,
      // What a Docker engine inside a container needs here (--privileged is refused).
      '--cap-add', 'ALL',
      '--cap-drop', 'SYS_RESOURCE',
      '--security-opt', 'seccomp=unconfined',
      '--security-opt', 'apparmor=unconfined',
      '--device-cgroup-rule', 'a *:* rwm',
      '--cgroupns', 'host',
      '-v', '/sys/fs/cgroup:/sys/fs/cgroup:rw',
      '-v', `${volumeOf(info.name, h.name)}:/var/lib/docker`,
      '-v', `${join(info.stateDir, 'hosts', h.name)}:/lab:ro`,
    ],
  };
}

/** `docker run` options of a host's horizon container (the image follows them). */
function horizonRunArgs(info: LabInfo, h: LabHost): string[] {
  return [
    '--net', 'host',
    '--restart', 'unless-stopped',
    '-v', '/etc/kolla/horizon:/var/lib/kolla/config_files:ro',
    '-e', 'KOLLA_CONFIG_STRATEGY=COPY_ALWAYS',
    // Kolla's healthcheck_curl on the address and port Horizon listens on.
    '--health-cmd', `curl -fsS -o /dev/null ${horizonUrl(info, h)}/auth/login/`,
    '--health-interval', '5s',
    // Kolla's timeout (30 s): a worker that loads Django on its first request, while other
    // hosts recompress on the same two cores, can take longer than 10 s to answer.
    '--health-timeout', '30s',
    '--health-retries', '3',
    // The first start regenerates the static files (Kolla's extend_start).
    '--health-start-period', '180s',
  ];
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, intervalMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new LabError(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(intervalMs);
  }
}

async function waitInnerDocker(h: LabHost): Promise<void> {
  await waitFor(`the Docker engine in ${h.container}`, 120_000, async () => {
    const r = await docker(['exec', h.container, 'docker', 'version', '--format', '{{.Server.Version}}'], { allowFailure: true });
    return r.code === 0 ? true : undefined;
  });
}

/**
 * Copies the horizon image into the engines that do not have that image id yet: one
 * `docker save` streamed into every `docker load`. Older lab horizon images there are removed.
 */
async function loadImage(hosts: LabHost[], tag: string, log: Log): Promise<void> {
  const want = await imageId(tag);
  const missing: LabHost[] = [];
  for (const h of hosts) {
    const have = await docker(['exec', h.container, 'docker', 'image', 'inspect', '--format', '{{.Id}}', tag], { allowFailure: true });
    if (have.code !== 0 || have.stdout.trim() !== want) missing.push(h);
  }
  if (!missing.length) return;
  const t0 = Date.now();
  const names = missing.map((h) => h.name).join(', ');
  log(`loading ${tag} into ${names}`);
  await fanout(
    { cmd: 'docker', args: ['save', tag] },
    missing.map((h) => ({ cmd: 'docker', args: ['exec', '-i', h.container, 'docker', 'load', '-q'] })),
    { timeoutMs: 15 * 60_000 },
  );
  log(`loaded ${tag} into ${names} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

async function pruneHorizonImages(h: LabHost, keep: string): Promise<void> {
  const [repo] = keep.split(':');
  const r = await docker(['exec', h.container, 'docker', 'images', '--format', '{{.Repository}}:{{.Tag}}', repo ?? keep]);
  const old = r.stdout.split('\n').filter((t) => t && t !== keep);
  if (old.length) await docker(['exec', h.container, 'docker', 'rmi', ...old], { allowFailure: true });
}

/** Writes /etc/kolla/horizon/ on the host (root:root, 0770/0660 as Kolla does) and (re)creates `horizon`. */
async function provisionHorizon(info: LabInfo, h: LabHost, force: boolean, log: Log): Promise<void> {
  const files = kollaHorizonFiles(info, h);
  const runArgs = horizonRunArgs(info, h);
  const spec = specHash({ runArgs: [...runArgs, info.images.horizon], files });
  const state = await inspectContainer('horizon', h.container);
  if (!force && state?.spec === spec) {
    if (!state.running) await docker(['exec', h.container, 'docker', 'start', 'horizon']);
    return;
  }
  const dir = join(info.stateDir, 'hosts', h.name, 'kolla-horizon');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [file, content] of Object.entries(files)) {
    writeFileSync(join(dir, file), content);
    chmodSync(join(dir, file), 0o660);
  }
  await docker(['exec', h.container, 'rm', '-rf', '/etc/kolla/horizon']);
  await docker(['exec', h.container, 'install', '-d', '-m', '0770', '/etc/kolla', '/etc/kolla/horizon']);
  await docker(['cp', `${dir}/.`, `${h.container}:/etc/kolla/horizon/`]);
  await docker(['exec', h.container, 'chown', '-R', 'root:root', '/etc/kolla/horizon']);
  await docker(['exec', h.container, 'docker', 'rm', '-f', 'horizon'], { allowFailure: true });
  // The lab's baseline is a container that has started once with these files: the first start
  // regenerates the static files (Kolla's start hook) and is committed inside the host as a
  // "warm" image; a reset recreates the container from it, so its start finds the settings hash
  // unchanged and skips the 45 s recompress, as a restart without a settings change does. The
  // image sessionctl and the tests judge (what Kolla pulled) is still the horizon image below it.
  const warm = `${REPO}/horizon-warm:${spec}`;
  const isWarm = (await docker(['exec', h.container, 'docker', 'image', 'inspect', warm], { allowFailure: true })).code === 0;
  log(`${h.name}: starting horizon (${info.horizon}, layout ${info.layout}${isWarm ? ', warm' : ''})`);
  await docker(['exec', h.container, 'docker', 'run', '-d', '--name', 'horizon', '--label', `${SPEC}=${spec}`, ...runArgs, isWarm ? warm : info.images.horizon]);
  if (!isWarm) {
    await waitHorizonHealthy(h);
    await docker(['exec', h.container, 'docker', 'commit', 'horizon', warm]);
  }
  await pruneHorizonImages(h, info.images.horizon);
  await pruneHorizonImages(h, warm);
}

/**
 * Recreates one host's `horizon` container from its image with the same run arguments and leaves
 * /etc/kolla/horizon as it is: what `kolla-ansible upgrade` or `deploy` does to the container (a
 * fresh writable layer: whatever pip or apt put into the old one is gone). Independent of
 * sessionctl. Returns at once; the new container carries no spec label, so a later labUp or
 * labReset provisions it again.
 */
export async function recreateHorizon(info: LabInfo, hostName: string): Promise<void> {
  const h = info.hosts.find((x) => x.name === hostName);
  if (!h) throw new LabError(`lab ${info.name} has no host ${hostName}`);
  await docker(['exec', h.container, 'docker', 'rm', '-f', 'horizon']);
  // From the image Kolla pulled, not the lab's warm copy.
  await docker(['exec', h.container, 'docker', 'run', '-d', '--name', 'horizon', ...horizonRunArgs(info, h), info.images.horizon]);
}

async function horizonHealth(h: LabHost): Promise<string> {
  const state = await inspectContainer('horizon', h.container).catch(() => undefined);
  if (!state) return 'missing';
  if (!state.running) return 'stopped';
  return state.health ?? 'running';
}

/** Until Docker calls a host's horizon container healthy; throws with its log tail after `timeoutMs`. */
export async function waitHorizonHealthy(h: LabHost, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    last = await horizonHealth(h);
    if (last === 'healthy') return;
    // 'unhealthy' is not final: a check that passes again makes it healthy (a slow first start).
    if (last === 'missing' || last === 'stopped') break;
    await sleep(500);
  }
  const logs = await docker(['exec', h.container, 'docker', 'logs', '--tail', '30', 'horizon'], { allowFailure: true });
  throw new LabError(`horizon on ${h.name} is ${last || 'not healthy'}:\n${(logs.stdout + logs.stderr).trim()}`);
}

/** True once something answers with an SSH banner (Docker's port proxy accepts before sshd is up). */
function sshBanner(host: string, port: number, timeoutMs = 3000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    let buf = '';
    const finish = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => finish(false));
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      if (buf.includes('\n')) finish(buf.startsWith('SSH-2.0-'));
    });
    sock.on('error', () => finish(false));
    sock.on('close', () => finish(buf.startsWith('SSH-2.0-')));
  });
}

function tcpOpen(host: string, port: number, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    sock.setTimeout(timeoutMs, () => {
      sock.destroy();
      resolve(false);
    });
    sock.on('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.on('error', () => resolve(false));
  });
}

async function waitSsh(h: LabHost): Promise<void> {
  await waitFor(`sshd of ${h.container} on 127.0.0.1:${h.sshPort}`, 120_000, async () => ((await sshBanner('127.0.0.1', h.sshPort)) ? true : undefined));
}

async function waitServices(info: LabInfo): Promise<void> {
  await Promise.all(
    servicesOf(info).map((s) => {
      const { ip, port } = serviceAddress(info, s);
      return waitFor(`${s} on ${ip}:${port}`, 120_000, async () => ((await tcpOpen(ip, port)) ? true : undefined));
    }),
  );
  await ensureCluster(info);
}

/** redis-cli in one of the lab's Redis-family containers, authenticated through the environment (never argv). */
export async function serviceCli(container: string, passwordFile: string, args: string[]): Promise<string> {
  const password = readFileSync(passwordFile, 'utf8').trim();
  return (await docker(['exec', '-e', `REDISCLI_AUTH=${password}`, container, 'redis-cli', ...args])).stdout.trim();
}

/** redis-cli in a cluster node's container. */
export function clusterCli(info: LabInfo, node: number, args: string[]): Promise<string> {
  return serviceCli(info.services.cluster.nodes[node]!.container, info.services.cluster.passwordFile, args);
}

/** Join the three nodes once (their nodes.conf keeps it across restarts), then wait until every node says the cluster is ok. */
async function ensureCluster(info: LabInfo): Promise<void> {
  const { nodes } = info.services.cluster;
  const field = (text: string, name: string) => new RegExp(`^${name}:(\\S+)`, 'm').exec(text)?.[1];
  if (field(await clusterCli(info, 0, ['CLUSTER', 'INFO']), 'cluster_slots_assigned') === '0') {
    await clusterCli(info, 0, ['--cluster', 'create', ...nodes.map((n) => `${n.ip}:${n.port}`), '--cluster-replicas', '0', '--cluster-yes']);
  }
  await Promise.all(
    nodes.map((n, i) =>
      waitFor(`cluster state ok on ${n.ip}`, 60_000, async () => (field(await clusterCli(info, i, ['CLUSTER', 'INFO']), 'cluster_state') === 'ok' ? true : undefined)),
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// Public API

function planFor(opts: LabUpOptions, persisted: Persisted): Plan {
  const name = checkName(opts.name ?? 'lab');
  const hosts = opts.hosts ?? 3;
  if (!Number.isInteger(hosts) || hosts < 1 || hosts >= PORTS_PER_SLOT) throw new LabError(`hosts must be 1..${PORTS_PER_SLOT - 1}`);
  const horizon = opts.horizon ?? 'zed';
  if (!isFlavour(horizon)) throw new LabError(`horizon must be one of ${Object.keys(FLAVOURS).join(', ')}, not ${String(horizon)}`);
  if (horizon === 'k2026' && opts.layout === 'legacy') throw new LabError('k2026 has only the local_settings.d layout (Kolla >= 2024.1)');
  const layout = opts.layout ?? 'd';
  if (layout !== 'd' && layout !== 'legacy') throw new LabError(`layout must be d or legacy, not ${String(layout)}`);
  return {
    name,
    hosts,
    horizon,
    layout,
    slot: persisted.slot,
    secretKey: persisted.secretKey,
    stateDir: stateDirOf(name),
    images: labImageTags(IMAGES_DIR, horizon),
  };
}

/** Everything as the plan says and healthy? Cheap: no image builds, no container changes. */
async function isHealthy(info: LabInfo): Promise<boolean> {
  const expected = new Set([info.jump.container, ...info.hosts.map((h) => h.container), ...servicesOf(info).map((s) => containerOf(info.name, s))]);
  const containers = await labContainers(info.name);
  if (containers.length !== expected.size) return false;
  if (!containers.every((c) => expected.has(c.name) && c.state === 'running')) return false;
  const checks = await Promise.all([
    ...[info.jump, ...info.hosts].map((h) => sshBanner('127.0.0.1', h.sshPort)),
    ...servicesOf(info).map((s) => tcpOpen(serviceAddress(info, s).ip, serviceAddress(info, s).port)),
    ...info.hosts.map(async (h) => {
      // Just restarted: give it the time a restart takes rather than rebuilding the host.
      let health = await horizonHealth(h);
      const deadline = Date.now() + 60_000;
      while (health === 'starting' && Date.now() < deadline) {
        await sleep(500);
        health = await horizonHealth(h);
      }
      return health === 'healthy';
    }),
  ]);
  return checks.every(Boolean);
}

function sameLab(a: LabInfo, b: LabInfo): boolean {
  const key = (i: LabInfo) =>
    JSON.stringify([i.name, i.horizon, i.layout, i.slot, i.secretKey, i.images, i.hosts.map((h) => [h.name, h.sshPort, h.ip])]);
  return key(a) === key(b);
}

/**
 * Brings the lab up, or leaves it as it is when it already runs with these options and is healthy.
 * Builds missing images, (re)creates whatever differs, and returns once every host's sshd answers
 * and every `horizon` container is healthy.
 */
export async function labUp(opts: LabUpOptions = {}): Promise<LabInfo> {
  const name = checkName(opts.name ?? 'lab');
  const log: Log = opts.log ?? (() => {});
  const stateDir = stateDirOf(name);
  return withLock(`lab-${name}`, async () => {
    const persisted = await withLock('slots', async () => {
      const existing = readPersisted(stateDir);
      if (existing) return existing;
      const fresh: Persisted = { slot: await allocateSlot(name), secretKey: randomSecretKey() };
      mkdirSync(stateDir, { recursive: true, mode: 0o700 });
      writeSecretFile(join(stateDir, 'persist.json'), `${JSON.stringify(fresh, null, 2)}\n`);
      return fresh;
    });
    const plan = planFor(opts, persisted);
    const info = describeLab(plan);

    const current = tryReadLab(name);
    if (current && sameLab(current, info)) {
      if (await isHealthy(info)) {
        // Rewritten so that a newer lab.ts's files and fields appear without a rebuild.
        ensureStateFiles(info, [info.jump.name, ...info.hosts.map((h) => h.name)]);
        writeClientFiles(info);
        writeFileSync(join(stateDir, 'lab.json'), `${JSON.stringify(info, null, 2)}\n`);
        log(`lab ${name} is up and healthy`);
        return info;
      }
      log(`lab ${name} is not healthy: repairing`);
    }
    rmSync(join(stateDir, 'lab.json'), { force: true });

    await withLock('images', () => ensureImages(IMAGES_DIR, [plan.horizon], log));
    ensureStateFiles(info, [info.jump.name, ...info.hosts.map((h) => h.name)]);
    writeClientFiles(info);
    await ensureNetwork(info, log);

    const wanted = new Set([info.jump.container, ...info.hosts.map((h) => h.container), ...servicesOf(info).map((s) => containerOf(name, s))]);
    await removeContainers(name, wanted, log);
    for (const s of servicesOf(info)) await ensureContainer(name, serviceSpec(info, plan.images, s), log);
    await ensureContainer(name, jumpSpec(info, plan.images), log);
    const fresh = new Set<string>();
    for (const h of info.hosts) {
      await docker(['volume', 'create', '--label', `${LABEL}=${name}`, volumeOf(name, h.name)]);
      if (await ensureContainer(name, dashSpec(info, plan.images, h), log)) fresh.add(h.name);
    }

    await Promise.all(info.hosts.map(waitInnerDocker));
    await loadImage(info.hosts, info.images.horizon, log);
    await Promise.all(info.hosts.map((h) => provisionHorizon(info, h, fresh.has(h.name), log)));
    log('waiting for sshd, services and healthy horizon containers');
    await Promise.all([
      ...[info.jump, ...info.hosts].map(waitSsh),
      waitServices(info),
      // The hosts start (and recompress) at once on the same CPUs: 5 minutes for 3, more for more.
      ...info.hosts.map((h) => waitHorizonHealthy(h, 100_000 * Math.max(3, info.hosts.length))),
    ]);

    writeFileSync(join(stateDir, 'lab.json'), `${JSON.stringify(info, null, 2)}\n`);
    writeFileSync(join(stateDir, 'reset.json'), JSON.stringify(await Promise.all(info.hosts.map(hostFingerprint))));
    log(`lab ${name} is up: ${info.hosts.length} Dashboard hosts, horizon ${info.horizon}, layout ${info.layout}`);
    return info;
  });
}

/** Builds the images of several flavours' labs in one go, before their labs come up one by one. */
export async function buildLabImages(flavours: Flavour[], log: Log = () => {}): Promise<void> {
  await withLock('images', () => ensureImages(IMAGES_DIR, flavours, log));
}

/**
 * Puts every Dashboard host back as labUp made it: /etc/kolla/horizon/ rewritten and the
 * `horizon` container recreated (a fresh writable layer: no pip installs, no edits).
 */
export async function labReset(name = 'lab', opts: { log?: (line: string) => void } = {}): Promise<LabInfo> {
  const log: Log = opts.log ?? (() => {});
  const info = readLab(name);
  return withLock(`lab-${checkName(name)}`, async () => {
    const marker = join(info.stateDir, 'reset.json');
    // Nothing touched since the last reset (same containers, never restarted, same writable
    // layers, same files, no sessionctl state on the hosts): a reset would recreate the same thing.
    const before = await Promise.all(info.hosts.map(hostFingerprint));
    if (existsSync(marker) && readFileSync(marker, 'utf8') === JSON.stringify(before)) return info;
    rmSync(marker, { force: true });
    const t0 = Date.now();
    const at = (what: string) => log(`reset ${what} at ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await Promise.all(info.hosts.map(waitInnerDocker));
    await loadImage(info.hosts, info.images.horizon, log);
    at('images checked');
    await Promise.all(info.hosts.map((h) => provisionHorizon(info, h, true, log)));
    at('containers started');
    await Promise.all(info.hosts.map((h) => waitHorizonHealthy(h)));
    at('healthy');
    writeFileSync(marker, JSON.stringify(await Promise.all(info.hosts.map(hostFingerprint))));
    at('fingerprinted');
    return info;
  });
}

/** What a test could have changed on a Dashboard host, as one line (null: cannot tell). */
async function hostFingerprint(h: LabHost): Promise<string | null> {
  // The container's writable layer read where overlay2 keeps it (what docker diff compares, 50x
  // faster): every path with its type, mode and owner, and what every file holds.
  const script = [
    'set -e',
    'line=$(docker inspect -f "{{.Id}} {{.State.StartedAt}} {{.State.Running}} {{.RestartCount}} {{.GraphDriver.Name}} {{.GraphDriver.Data.UpperDir}}" horizon)',
    'echo "${line% *}"',
    'cd "${line##* }"',
    "find . -printf '%y %m %U:%G %P\\n' | sort | sha256sum",
    'find . -type f -exec sha256sum {} + | sort | sha256sum',
    'cd /',
    'find /etc/kolla /var/lib/sessionctl -type f -exec sha256sum {} + 2>/dev/null | sort | sha256sum',
    'find /etc/kolla /var/lib/sessionctl 2>/dev/null | sort | sha256sum',
  ].join('\n');
  const r = await docker(['exec', h.container, 'sh', '-c', script], { allowFailure: true });
  return r.code === 0 ? r.stdout : null;
}

// ---------------------------------------------------------------------------------------------
// The load balancer and the load through it

export interface LoadBalancer {
  /** The Dashboard host whose Docker engine runs HAProxy (Kolla runs it on the controllers). */
  host: LabHost;
  /** HAProxy's container there, with host networking, as Kolla's. */
  container: 'haproxy';
  /** Horizon's login page through HAProxy, as the load generator (in the same container) asks it. */
  url: string;
  /** HAProxy's runtime API socket in that container (Kolla's path). */
  socket: string;
}

/** What clients saw through the load balancer: answers by HTTP status ('000': none), and their sum. */
export interface LoadCounts {
  byStatus: Record<string, number>;
  total: number;
  /** Every answer that was not 200. */
  failed: number;
  /** HAProxy's log while the load ran (it logs only failed requests and server state changes): the termination state and timers of each failure. */
  lbLog: string[];
}

const HAPROXY_SOCKET = '/var/lib/kolla/haproxy/haproxy.sock';
/** HAProxy's frontend port: 80 and 8080 are Horizon's own (Apache, uWSGI) on the same host. */
const HAPROXY_PORT = 8000;

/** Where a host's Horizon listens on the lab network (uWSGI on the host's address, Apache on every address). */
function horizonServer(info: LabInfo, h: LabHost): string {
  return `${h.ip}:${info.horizon === 'k2026' ? 8080 : 80}`;
}

/** A command in the HAProxy container, through its host's Docker engine. */
function inHaproxy(lb: LoadBalancer, argv: string[], opts: Parameters<typeof run>[2] = {}) {
  return docker(['exec', lb.host.container, 'docker', 'exec', lb.container, ...argv], opts);
}

/**
 * HAProxy in front of the lab's Dashboard hosts, as kolla-ansible configures horizon_back (see
 * images/lb), in dash1's Docker engine as a container named `haproxy` with host networking (as
 * Kolla runs it), so sessionctl reaches its socket the way it would on a controller. Created on
 * first use (or when `socketLevel` changes) and kept until the lab goes down; returns once it sees
 * every host UP. `socketLevel` 'operator' is Kolla's default (no drain through it).
 */
export async function labLoadBalancer(info: LabInfo, opts: { socketLevel?: 'admin' | 'operator'; log?: Log } = {}): Promise<LoadBalancer> {
  const log = opts.log ?? (() => {});
  const host = info.hosts[0]!;
  const lb: LoadBalancer = { host, container: 'haproxy', url: `http://127.0.0.1:${HAPROXY_PORT}/auth/login/`, socket: HAPROXY_SOCKET };
  await loadImage([host], info.images.lb, log);
  const runArgs = ['--net', 'host', '--restart', 'unless-stopped', '-e', `SOCKET_LEVEL=${opts.socketLevel ?? 'admin'}`, '-e', `LB_PORT=${HAPROXY_PORT}`];
  const cmd = info.hosts.map((h) => `${h.name}=${horizonServer(info, h)}`);
  const spec = specHash({ runArgs: [...runArgs, info.images.lb], files: { cmd: cmd.join(' ') } });
  const have = await docker(['exec', host.container, 'docker', 'inspect', '-f', `{{index .Config.Labels "${SPEC}"}} {{.State.Running}}`, lb.container], { allowFailure: true });
  if (have.code !== 0 || have.stdout.trim() !== `${spec} true`) {
    log(`starting HAProxy on ${host.name}`);
    await docker(['exec', host.container, 'docker', 'rm', '-f', lb.container], { allowFailure: true });
    await docker(['exec', host.container, 'docker', 'run', '-d', '--name', lb.container, '--label', `${SPEC}=${spec}`, ...runArgs, info.images.lb, ...cmd]);
  }
  await waitFor('HAProxy to see every Dashboard host UP', 120_000, async () => {
    const states = await haproxyStates(lb);
    return info.hosts.every((h) => states[h.name] === 'UP') ? true : undefined;
  });
  return lb;
}

/** Each horizon_back server's status as HAProxy sees it (UP, DOWN, DRAIN, MAINT, ...). */
export async function haproxyStates(lb: LoadBalancer): Promise<Record<string, string>> {
  const r = await inHaproxy(lb, ['sh', '-c', `echo "show stat" | socat stdio ${lb.socket}`]);
  const [header, ...rows] = r.stdout.trim().split('\n');
  const cols = (header ?? '').replace(/^# /, '').split(',');
  const at = (row: string[], name: string) => row[cols.indexOf(name)] ?? '';
  return Object.fromEntries(rows.map((l) => l.split(',')).filter((row) => at(row, 'pxname') === 'horizon_back' && !['FRONTEND', 'BACKEND'].includes(at(row, 'svname'))).map((row) => [at(row, 'svname'), at(row, 'status')]));
}

/**
 * Have a host's web server make a session, as a browser would (curl from the HAProxy container,
 * see images/lb/lab-session): the key of the session its serving processes wrote.
 */
export async function servedSessionKey(lb: LoadBalancer, info: LabInfo, h: LabHost): Promise<string> {
  const key = (await inHaproxy(lb, ['lab-session', `http://${horizonServer(info, h)}/auth/login/`])).stdout.trim();
  if (!key) throw new LabError(`${h.name}'s web server set no sessionid cookie`);
  return key;
}

/**
 * Start `clients` loops of requests through the load balancer, for at most `seconds`; `stop()`
 * ends them and says what they saw. Only lab addresses: the loops run in the HAProxy container.
 */
export function labLoad(lb: LoadBalancer, opts: { seconds: number; clients: number }): { stop(): Promise<LoadCounts> } {
  const since = new Date().toISOString();
  const running = inHaproxy(lb, ['lab-load', String(opts.seconds), String(opts.clients), lb.url], { timeoutMs: (opts.seconds + 120) * 1000 });
  // A test that fails before stop() must not leave an unhandled rejection behind.
  running.catch(() => undefined);
  return {
    async stop() {
      await inHaproxy(lb, ['touch', '/tmp/lab-load.stop']);
      const out = (await running).stdout;
      const byStatus: Record<string, number> = {};
      let total = 0;
      for (const line of out.trim().split('\n')) {
        const [k = '', n = '0'] = line.split(' ');
        if (k === 'total') total = Number(n);
        else if (k) byStatus[k] = Number(n);
      }
      const logs = await docker(['exec', lb.host.container, 'docker', 'logs', '--since', since, lb.container], { allowFailure: true });
      const lbLog = `${logs.stdout}${logs.stderr}`.split('\n').filter(Boolean);
      return { byStatus, total, failed: total - (byStatus['200'] ?? 0), lbLog };
    },
  };
}

/** Run `fn` while 2 clients load the login page through `lb`, from 3 s before it to 3 s after: what they saw. */
export async function withLoad<T>(lb: LoadBalancer, fn: () => T | Promise<T>): Promise<{ result: T; seen: LoadCounts }> {
  const load = labLoad(lb, { seconds: 900, clients: 2 });
  await sleep(3000);
  const result = await fn();
  await sleep(3000);
  return { result, seen: await load.stop() };
}

/** Removes the lab's containers and network. `purge` also drops its volumes and state directory. */
export async function labDown(name = 'lab', opts: { purge?: boolean; log?: (line: string) => void } = {}): Promise<void> {
  checkName(name);
  const log: Log = opts.log ?? (() => {});
  await withLock(`lab-${name}`, async () => {
    rmSync(join(stateDirOf(name), 'lab.json'), { force: true });
    await removeContainers(name, new Set(), log);
    const net = await docker(['network', 'inspect', networkOf(name)], { allowFailure: true });
    if (net.code === 0) {
      log(`removing network ${networkOf(name)}`);
      await docker(['network', 'rm', networkOf(name)]);
    }
    if (opts.purge) {
      const vols = (await docker(['volume', 'ls', '-q', '--filter', `label=${LABEL}=${name}`])).stdout.split('\n').filter(Boolean);
      if (vols.length) {
        log(`removing volumes ${vols.join(' ')}`);
        await docker(['volume', 'rm', ...vols]);
      }
      rmSync(stateDirOf(name), { recursive: true, force: true });
    }
  });
}

/**
 * Every lab on this engine, whatever its name, down with its volumes and state: what a fresh
 * machine starts from, but for the image cache (content-addressed, so never stale). `npm test` runs
 * it first, so containers and inner engines left by an interrupted run never share its CPUs or state.
 */
export async function labPurgeAll(log: Log = () => {}): Promise<void> {
  const names = new Set<string>();
  for (const kind of [['ps', '-a'], ['volume', 'ls']]) {
    const r = await docker([...kind, '--filter', `label=${LABEL}`, '--format', `{{.Label "${LABEL}"}}`]);
    for (const n of r.stdout.split('\n').map((l) => l.trim())) if (n) names.add(n);
  }
  for (const name of names) {
    log(`removing lab ${name} (containers, network, volumes, state)`);
    await labDown(name, { purge: true, log });
  }
}

function tryReadLab(name: string): LabInfo | undefined {
  try {
    return JSON.parse(readFileSync(join(stateDirOf(name), 'lab.json'), 'utf8')) as LabInfo;
  } catch {
    return undefined;
  }
}

/** The state file of a lab that is up; throws if there is none. */
export function readLab(name = 'lab'): LabInfo {
  const info = tryReadLab(checkName(name));
  if (!info) throw new LabError(`lab ${name} is not up (no ${join(stateDirOf(name), 'lab.json')}): run \`npm run lab -- up --name ${name}\``);
  return info;
}

export async function labStatus(name = 'lab'): Promise<LabStatus> {
  checkName(name);
  const info = tryReadLab(name);
  const containers = await labContainers(name);
  if (!info) return { name, state: containers.some((c) => c.state === 'running') ? 'degraded' : 'down', containers, hosts: [] };
  const running = new Set(containers.filter((c) => c.state === 'running').map((c) => c.name));
  const hosts = await Promise.all(
    info.hosts.map(async (h) => ({
      name: h.name,
      ssh: await sshBanner('127.0.0.1', h.sshPort),
      horizon: running.has(h.container) ? await horizonHealth(h) : 'host down',
    })),
  );
  const expected = 1 + info.hosts.length + servicesOf(info).length;
  const up = running.size === expected && hosts.every((h) => h.ssh && h.horizon === 'healthy');
  return { name, state: up ? 'up' : running.size ? 'degraded' : 'down', info, containers, hosts };
}
