/**
 * The graceful reload: the new settings into the running Horizon without restarting its container.
 * No start hook runs (nothing is recompressed) and the listening socket stays open, so no request
 * fails; python/reload.py does it per web server and waits until every serving process is new.
 */
import { HostError } from '../errors.js';
import { pythonJson, type HorizonFacts } from '../facts/horizon.js';
import type { RolloutConfig } from '../inventory/types.js';
import type { LoadMethod, RestartTarget } from './types.js';

/** Pure: why a graceful reload cannot load `file` (a name in the Kolla config dir) on this host, or null when it can. */
export function whyNoReload(facts: Pick<HorizonFacts, 'webServer' | 'kollaEntries'>, file: string): string | null {
  const ws = facts.webServer;
  if (!ws || ws.kind === 'unknown') return `the container's main process${ws?.pid1 ? ` (${ws.pid1})` : ''} is neither Apache nor uWSGI`;
  if (ws.kind === 'uwsgi' && !ws.master) return 'uWSGI runs without a master, so nothing would respawn a reloaded worker';
  if (ws.kind === 'uwsgi' && !ws.lazyApps) return "uWSGI runs without lazy-apps: its workers fork the master's loaded app, so a reloaded worker keeps the old settings";
  if (!facts.kollaEntries?.[file]) return `Kolla's config.json does not copy ${file} into the container`;
  return null;
}

/** Pure: the method a host uses (with why it restarts), or a refusal when reload was demanded and cannot be done. */
export function chooseMethod(choice: RolloutConfig['method'], cannot: string | null): { method: LoadMethod; why?: string } | { refuse: string } {
  if (choice === 'restart') return { method: 'restart', why: 'rollout.method is restart (or --restart)' };
  if (!cannot) return { method: 'reload' };
  if (choice === 'reload') return { refuse: `rollout.method is reload, but ${cannot}; use rollout.method auto (restart where a reload cannot be done) or --restart` };
  return { method: 'restart', why: `no graceful reload: ${cannot}` };
}

/** What the plan says a reload does, per web server. */
export function reloadSummary(facts: Pick<HorizonFacts, 'webServer'>, file: string): string {
  const how = facts.webServer?.kind === 'uwsgi' ? 'uWSGI one worker at a time (SIGHUP between two requests; the next once the new one has loaded Horizon)' : 'Apache gracefully (SIGUSR1)';
  return `copy ${file} into the container as Kolla's config.json does, then reload ${how}; no restart, nothing recompressed`;
}

interface ReloadAnswer {
  server: string;
  copied?: string[];
  replaced?: [number | null, number | null][];
  seconds: number;
  /** uWSGI: how a new worker was known to have loaded Horizon (its log's word, or /proc). */
  ready_by?: 'log' | 'proc';
  /** uWSGI: how often a worker was found in a request and its SIGHUP waited for the request to end. */
  busy?: number;
  /** uWSGI: workers signalled without seeing their connections (their /proc/PID/fd closed to root and to their own user). */
  unseen?: number;
  error?: string;
  stage?: string;
}

/** Some slack over the script's own deadline for the exec itself. */
const EXEC_SLACK_S = 30;

/**
 * Copy `files` (names in the Kolla config dir, as they are there now) into the container and
 * reload its web server; resolves once every process that served before is replaced (every caller's
 * health gate then waits for the login page). Runs as root: Kolla's owners and the signals to PID 1 need it.
 */
export async function reloadInPlace(t: RestartTarget, files: string[]): Promise<string> {
  const seconds = t.run.timeouts.health;
  const a = await pythonJson<ReloadAnswer>(t.host.name, t.engine, t.host.container, 'steps/python/reload.py', { files, seconds }, { user: 'root', timeoutMs: (seconds + EXEC_SLACK_S) * 1000 });
  if (a.error) throw new HostError(t.host.name, `graceful reload (${a.server}) failed ${a.stage === 'copy' ? 'copying the settings in' : a.stage === 'check' ? 'before it began' : `after ${a.seconds}s`}: ${a.error}`);
  const pairs = a.replaced ?? [];
  const served = a.server === 'uwsgi'
    ? `workers ${pairs.map(([o, n]) => `${o}->${n}`).join(', ')}, each loaded per ${a.ready_by === 'log' ? "uWSGI's log" : '/proc'}; ${a.unseen ? `${a.unseen} signalled without seeing their connections (/proc/PID/fd unreadable)` : `each signalled between two requests${a.busy ? ` (${a.busy} waits)` : ''}`}`
    : `processes ${pairs.filter(([o]) => o !== null).map(([o]) => o).join(', ')} replaced by ${pairs.filter(([, n]) => n !== null).map(([, n]) => n).join(', ')}`;
  return `reloaded ${a.server} gracefully in ${a.seconds}s (${served})`;
}
