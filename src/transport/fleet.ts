import { SshConnection, type SshOptions } from './ssh.js';
import { connectEngine, loadDockerode } from './docker.js';
import type { Engine, Shell, SshTarget } from './types.js';
import { InternalError } from '../errors.js';

/** What commands use of a run's connections: Fleet over SSH, or fake hosts in unit tests. */
export interface Connections {
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

  /** `hosts`: every host a connection may go to or through (jump hosts included). */
  constructor(hosts: SshTarget[], private readonly opts: SshOptions) {
    this.byName = new Map(hosts.map((h) => [h.name, h]));
  }

  /** The host's connection, opening it (and its jump chain) on first use. */
  ssh(host: SshTarget): Promise<SshConnection> {
    let conn = this.conns.get(host.name);
    if (!conn) {
      void loadDockerode();
      conn = (async () => {
        const jump = host.proxyJump ? this.byName.get(host.proxyJump) : undefined;
        if (host.proxyJump && !jump) throw new InternalError(`proxy_jump ${host.proxyJump} is not a known host`);
        const via = jump ? await this.ssh(jump) : undefined;
        return SshConnection.open(host, this.opts, via);
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
      engine = this.ssh(host).then(connectEngine);
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
