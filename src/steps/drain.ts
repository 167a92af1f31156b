/**
 * A restart without failed requests where the load balancer allows it: the host is drained on
 * every HAProxy (no new request reaches it; the running ones finish) before its restart, and set
 * ready again once it is healthy and every HAProxy sees it UP. A graceful reload needs none of it.
 */
import { HostError } from '../errors.js';
import type { Balancers } from '../facts/balancers.js';
import type { HaproxySocket } from '../transport/haproxy.js';
import type { Drain } from './types.js';

/** Pure: the drains of a host, or why it cannot be drained; null when the inventory names no load balancer. */
export function drainPlan(b: Balancers | undefined, host: string): { drains: Drain[] } | { unavailable: string } | null {
  if (!b) return null;
  const server = b.config.servers[host] ?? host;
  const drains: Drain[] = [];
  for (const lb of b.found) {
    if (lb.error !== undefined) return { unavailable: `${lb.host}: ${lb.error}` };
    if (lb.level !== 'admin') return { unavailable: `HAProxy's socket on ${lb.host} is ${lb.level} level and a drain needs admin (kolla-ansible: haproxy_socket_level_admin: true)` };
    const backends = b.config.backends.filter((be) => lb.servers[be]?.[server]);
    if (!backends.length) return { unavailable: `HAProxy on ${lb.host} has no server '${server}' in ${b.config.backends.join(', ')} (loadbalancer.servers maps hosts to server names)` };
    drains.push(...backends.map((backend) => ({ lb: lb.host, backend, server })));
  }
  return { drains };
}

/** Pure: each load balancer of `drains` with its drains there, in order. */
function byBalancer(drains: Drain[]): Map<string, Drain[]> {
  const out = new Map<string, Drain[]>();
  for (const d of drains) out.set(d.lb, [...(out.get(d.lb) ?? []), d]);
  return out;
}

/** Pure: "lb1 (horizon_back, horizon_external_back), lb2 (horizon_back)". */
function where(drains: Drain[]): string {
  return [...byBalancer(drains)].map(([lb, ds]) => `${lb} (${ds.map((d) => d.backend).join(', ')})`).join(', ');
}

/** Pure: "dash1 on lb1 (horizon_back, horizon_external_back), lb2 (horizon_back)". */
export function describeDrains(drains: Drain[]): string {
  return `${drains[0]?.server ?? '?'} on ${where(drains)}`;
}

/** What to type when sessionctl cannot set a server ready itself. */
export function byHand(drains: Drain[]): string {
  return drains.map((d) => `on ${d.lb}: echo "set server ${d.backend}/${d.server} state ready" | docker exec -i haproxy socat stdio /var/lib/kolla/haproxy/haproxy.sock`).join('; ');
}

function socketOf(b: Balancers | undefined, host: string, d: Drain): HaproxySocket {
  const socket = b?.found.find((x) => x.host === d.lb)?.socket;
  if (!socket) throw new HostError(host, `no connection to the load balancer ${d.lb} (is it in the inventory's loadbalancer.hosts?); by hand ${byHand([d])}`);
  return socket;
}

const POLL_MS = 500;

/** Poll every load balancer of `drains` (one `show stat` each) until `done` holds for the server's state in each backend. */
async function waitAll(b: Balancers | undefined, host: string, drains: Drain[], seconds: number, what: string, done: (status: string, sessions: number) => boolean): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const polled = await Promise.all(
      [...byBalancer(drains)].map(async ([, ds]) => {
        const servers = await socketOf(b, host, ds[0]!).servers(ds.map((d) => d.backend));
        return ds.map((d) => ({ d, s: servers[d.backend]?.[d.server] }));
      }),
    );
    const left = polled.flat().filter(({ s }) => !s || !done(s.status, s.sessions));
    if (!left.length) return (Date.now() - t0) / 1000;
    if (Date.now() - t0 > seconds * 1000) {
      throw new HostError(host, `${what} within ${seconds}s: ${left.map(({ d, s }) => `on ${d.lb} ${d.backend}/${d.server} is ${s?.status ?? 'gone'} with ${s?.sessions ?? 0} request(s)`).join(', ')}`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** Drain the host on every load balancer, then wait until it serves no request there. */
export async function drainHost(b: Balancers | undefined, host: string, drains: Drain[], seconds: number): Promise<string> {
  for (const d of drains) await socketOf(b, host, d).setState(d.backend, d.server, 'drain');
  const waited = await waitAll(b, host, drains, seconds, 'the drained server did not finish its requests', (_status, sessions) => sessions === 0);
  return `drained ${describeDrains(drains)}: no request left after ${waited.toFixed(1)}s`;
}

/** Set the host ready on every load balancer, then wait until each sees it UP (its health check passes). */
export async function readyHost(b: Balancers | undefined, host: string, drains: Drain[], seconds: number): Promise<string> {
  for (const d of drains) await socketOf(b, host, d).setState(d.backend, d.server, 'ready');
  const waited = await waitAll(b, host, drains, seconds, 'HAProxy did not see the server UP', (status) => status === 'UP' || status === 'no check');
  return `ready again on ${where(drains)}, UP after ${waited.toFixed(1)}s`;
}
