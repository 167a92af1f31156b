/**
 * The load balancers in front of the Dashboard hosts, read once per run: what each HAProxy's socket
 * allows (a drain needs admin level) and which servers its backends have. Read only.
 */
import { detailFor } from '../errors.js';
import type { LoadBalancerConfig } from '../inventory/types.js';
import { HaproxySocket, type ServerState } from '../transport/haproxy.js';
import type { Engine } from '../transport/types.js';

export interface Balancer {
  /** The inventory host HAProxy runs on. */
  host: string;
  /** null: its socket could not be read (`error` says why). */
  socket: HaproxySocket | null;
  level: string | null;
  /** backend -> server -> state, for the configured backends. */
  servers: Record<string, Record<string, ServerState>>;
  error?: string;
}

export interface Balancers {
  config: LoadBalancerConfig;
  found: Balancer[];
}

/** Ask every load balancer at once; one that cannot be asked is a fact (its error), not a failure. */
export async function gatherBalancers(config: LoadBalancerConfig, engineOf: (host: string) => Promise<Engine>): Promise<Balancers> {
  const found = await Promise.all(
    config.hosts.map(async (host): Promise<Balancer> => {
      try {
        const socket = new HaproxySocket(host, await engineOf(host), config.container, config.socket);
        const [level, servers] = await Promise.all([socket.level(), socket.servers(config.backends)]);
        return { host, socket, level, servers };
      } catch (err) {
        return { host, socket: null, level: null, servers: {}, error: detailFor(err, host) };
      }
    }),
  );
  return { config, found };
}
