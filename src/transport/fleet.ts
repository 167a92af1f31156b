import { readLocalSshFiles, SshConnection, type LocalSshFiles, type Once, type SshOptions } from './ssh.js';
import { connectEngine, loadDockerode } from './docker.js';
import type { Engine, Shell, SshTarget } from './types.js';
import { LocalShell } from './local.js';
import { ConfigError, ConfigErrors, InternalError } from '../errors.js';

/** What commands use of a run's connections: Fleet over SSH, or fake hosts in unit tests. */
export interface Connections {
  /**
   * Read the local files (keys, passphrases, known_hosts) the connections to `hosts` will need,
   * before any connection: a bad one is a ConfigError (exit 5) for every host at once.
   */
  readLocalFiles(hosts: Iterable<SshTarget | string>): Promise<void>;
  ssh(host: SshTarget): Promise<Shell>;
  engine(target: SshTarget | string): Promise<Engine>;
  close(): Promise<void>;
}

/**
 * The run's connections: at most one SSH connection per host (jump hosts included, shared by every
 * host behind them) and one engine per host. Commands never open connections themselves.
 */
export class Fleet implements Connections {
  private readonly conns = new Map<string, Promise<SshConnection>>();
  private readonly engines = new Map<string, Promise<Engine>>();
  private readonly byName: Map<string, SshTarget>;
  private readonly local = new Map<string, Promise<LocalSshFiles>>();
  /** Each key file and known_hosts is read once, however many hosts name it. */
  private readonly read = new Map<string, Promise<unknown>>();
  private readonly once: Once = (key, read) => {
    let p = this.read.get(key);
    if (!p) this.read.set(key, (p = read()));
    return p as ReturnType<typeof read>;
  };

  /** `hosts`: every host a connection may go to or through (jump hosts included). */
  constructor(hosts: SshTarget[], private readonly opts: SshOptions) {
    this.byName = new Map(hosts.map((h) => [h.name, h]));
  }

  /**
   * Read the local files the connections to `hosts` (and the hosts they jump through) need: keys,
   * passphrases, known_hosts. Called before any connection, so that a bad one is a ConfigError
   * (exit 5) for every host at once, not a host failure found half-way.
   *
   * @throws {ConfigError} or {ConfigErrors}, each at its host's place in the inventory
   */
  async readLocalFiles(hosts: Iterable<SshTarget | string>): Promise<void> {
    const all = new Set<SshTarget>();
    for (const h of hosts) {
      if (typeof h !== 'string' && h.local) continue;
      for (let cur = typeof h === 'string' ? this.byName.get(h) : h; cur && !all.has(cur); cur = cur.proxyJump ? this.byName.get(cur.proxyJump) : undefined) all.add(cur);
    }
    const failed = (await Promise.allSettled([...all].map((h) => this.localFiles(h)))).flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    const other = failed.find((e) => !(e instanceof ConfigError));
    if (other !== undefined) throw other;
    if (failed.length === 1) throw failed[0];
    if (failed.length > 1) throw new ConfigErrors(failed as ConfigError[]);
  }

  private localFiles(host: SshTarget): Promise<LocalSshFiles> {
    let files = this.local.get(host.name);
    if (!files) this.local.set(host.name, (files = readLocalSshFiles(host, this.once)));
    return files;
  }

  /** The host's shell: its SSH connection, opened (with its jump chain) on first use; this machine itself for a local host. */
  ssh(host: SshTarget): Promise<Shell> {
    if (host.local) return Promise.resolve(new LocalShell(host));
    return this.connection(host);
  }

  private connection(host: SshTarget): Promise<SshConnection> {
    if (host.local) return Promise.reject(new InternalError(`${host.name} is this machine: no SSH connection`));
    let conn = this.conns.get(host.name);
    if (!conn) {
      void loadDockerode();
      conn = (async () => {
        const jump = host.proxyJump ? this.byName.get(host.proxyJump) : undefined;
        if (host.proxyJump && !jump) throw new InternalError(`proxy_jump ${host.proxyJump} is not a known host`);
        const via = jump ? await this.connection(jump) : undefined;
        return SshConnection.open(host, this.opts, via, await this.localFiles(host));
      })();
      // A failed connect is not cached, so a later retry (rollback after a drop) can reconnect.
      conn.catch(() => this.conns.delete(host.name));
      this.conns.set(host.name, conn);
    }
    return conn;
  }

  /** The host's container engine (by its inventory name too), through its connection. */
  engine(target: SshTarget | string): Promise<Engine> {
    const host = typeof target === 'string' ? this.byName.get(target) : target;
    if (!host) return Promise.reject(new InternalError(`${String(target)} is not a known host`));
    let engine = this.engines.get(host.name);
    if (!engine) {
      engine = this.connection(host).then(connectEngine);
      engine.catch(() => this.engines.delete(host.name));
      this.engines.set(host.name, engine);
    }
    return engine;
  }

  async close(): Promise<void> {
    const all = await Promise.allSettled([...this.conns.values()]);
    for (const r of all) if (r.status === 'fulfilled') r.value.close();
    this.conns.clear();
    this.engines.clear();
  }
}
