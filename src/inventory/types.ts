import type { SshTarget } from '../transport/types.js';

export type { SecretRef } from '../util/secret.js';
import type { SecretRef } from '../util/secret.js';

/** Where Horizon's settings live on a host; `auto` means detect it from the container. */
export type SettingsLayout = 'auto' | 'kolla-local-settings-d' | 'kolla-local-settings' | 'plain';

/** One host of the inventory, with `defaults` already merged in and paths expanded (what SSH needs, and more). */
export interface HostConfig extends SshTarget {
  container: string;
  /**
   * jump: an SSH hop only; loadbalancer: reached only for its HAProxy (see LoadBalancerConfig);
   * deploy: only the Kolla deploy host (this machine, when kolla-ansible's files are read here).
   */
  role: 'dashboard' | 'jump' | 'loadbalancer' | 'deploy';
  layout: SettingsLayout;
  /** Host directory Kolla renders Horizon's config into (bind-mounted into the container). */
  configDir: string;
  /** For `plain` layout: the settings file to patch on the host. */
  settingsFile?: string;
  /** URL of Horizon's login page as seen from inside the container; unset: derived from the web server (see loginUrl). */
  healthUrl?: string;
  /** SSH settings the inventory sets (the host's own keys or `defaults`): ssh_config does not override them. */
  inventoryKeys?: ReadonlySet<SshSettingKey>;
  /** The settings ssh_config supplied, and from where. */
  sshOrigin?: SshOrigin;
}

/** The SSH settings ssh_config may supply. */
export type SshSettingKey = 'address' | 'user' | 'port' | 'identity' | 'knownHosts' | 'proxyJump';

/** Where ssh_config supplied a host's SSH settings: `file:line` of each value it gave. */
export type SshOrigin = Partial<Record<SshSettingKey, string>>;

export type Backend = 'memcached' | 'redis' | 'database' | 'cookie';

export interface RedisConfig {
  url: string;
  password?: SecretRef;
  /** rediss:// only: a PEM file on this machine; its contents go into the settings (unset: the container's system CAs). */
  tlsCa?: string;
  /** rediss:// only: the certificate must name the URL's host (default true). */
  tlsCheckHostname?: boolean;
  /** rediss:// only: a client certificate (and its key, unless the same file holds it), paths inside the horizon container. */
  tlsCert?: string;
  tlsKey?: string;
  /** Refuse a server that would lose the sessions when it restarts (or cannot say whether). */
  requirePersistence?: boolean;
  sentinel?: { service: string; hosts: string[]; password?: SecretRef };
  /** Redis Cluster: its startup nodes (url names one of them; the scheme says TLS). */
  cluster?: { nodes: string[] };
}

export interface MemcachedConfig {
  servers: string[];
}

export interface DatabaseConfig {
  engine: 'mysql' | 'postgresql';
  host: string;
  port?: number;
  name: string;
  user: string;
  password?: SecretRef;
  options?: Record<string, string | number | boolean>;
  sessionEngine: 'db' | 'cached_db';
}

export interface SecurityConfig {
  timeout?: number;
  refresh?: boolean;
  cookieSecure?: boolean;
  cookieHttponly?: boolean;
  cookieSamesite?: 'Lax' | 'Strict' | 'None' | false;
  csrfCookieSecure?: boolean;
}

export interface SessionConfig {
  backend?: Backend;
  redis?: RedisConfig;
  memcached?: MemcachedConfig;
  database?: DatabaseConfig;
  security?: SecurityConfig;
  /** Copy live sessions into the new backend during a switch (default true). */
  carry?: boolean;
}

export interface InstallConfig {
  method: 'pip' | 'wheelhouse' | 'distro';
  version?: string;
  indexUrl?: string;
  proxy?: string;
  wheelhouse?: string;
}

export interface RolloutConfig {
  serial: number;
  maxFail: number;
  /**
   * How a host loads the new settings. auto: a graceful reload of the web server where it can be
   * done, else a restart; reload: refuse hosts that cannot reload; restart: always restart.
   */
  method: 'auto' | 'reload' | 'restart';
}

/** HAProxy in front of the Dashboard hosts (kolla-ansible: on every loadbalancer host, in its `haproxy` container). */
export interface LoadBalancerConfig {
  /** Hosts of the inventory that run HAProxy (each its own). */
  hosts: string[];
  container: string;
  /** The runtime API's socket in that container (Kolla: operator level unless haproxy_socket_level_admin). */
  socket: string;
  backends: string[];
  /** Dashboard host -> its server name in those backends (default: the host's name). */
  servers: Record<string, string>;
}

/** One value derived from Kolla's files, for the plan's "derived from Kolla" section. */
export interface KollaDerived {
  /** What it is, e.g. `memcached servers`. */
  what: string;
  /** The value as shown (never a secret: secrets are named by their key in passwords.yml). */
  value: string;
  /** Where it came from, in words (files, groups, keys, defaults). */
  from: string;
  /** The backend it is for (absent: the hosts, the deploy host). */
  backend?: 'memcached' | 'redis' | 'database';
}

export interface KollaConfig {
  deployHost?: string;
  configDir: string;
  /** kolla-ansible's own inventory (INI, e.g. /etc/kolla/multinode): the Dashboard hosts are its `horizon` group. */
  inventory?: string;
  /** kolla-ansible's globals.yml and passwords.yml, read with the inventory. */
  globals?: string;
  passwords?: string;
  /** YAML `defaults:` given next to `kolla.inventory`: the base of every host read from it. */
  hostDefaults?: Partial<HostConfig>;
  /** The SSH settings those defaults set themselves (not built-in defaults): they win over ssh_config. */
  hostDefaultKeys?: ReadonlySet<SshSettingKey>;
  /** What was derived from kolla-ansible's files, each with where it came from (no secret values). */
  derived?: KollaDerived[];
  /** What was assumed reading them (which files, which defaults), for the plan and status. */
  notes?: string[];
  /** Why a backend's settings could not be derived: said when that backend is asked for without settings. */
  unresolved?: Partial<Record<'memcached' | 'redis' | 'database', string>>;
}

/** A validated inventory. Everything here is typed and defaulted; nothing is raw YAML. */
export interface Inventory {
  /** Absolute path of the file it came from (or `<guided>`). */
  file: string;
  /** sha256 of the file's bytes. */
  digest: string;
  /** Every host, Dashboard and jump, in file order. */
  hosts: HostConfig[];
  session: SessionConfig;
  install: InstallConfig;
  rollout: RolloutConfig;
  loadbalancer?: LoadBalancerConfig;
  kolla?: KollaConfig;
  /** `ssh_config:` (absolute), or after ssh_config was applied, the file that was. */
  sshConfig?: string;
}
