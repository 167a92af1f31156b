import type { HostConfig } from '../inventory/types.js';
import type { Connections } from '../transport/fleet.js';
import type { ContainerInfo } from '../transport/types.js';
import type { FileSnapshot } from '../transport/hostfs.js';
import type { ContainerCheck } from '../backends/types.js';
import { HostError, SessionctlError, ExitCode, detailFor } from '../errors.js';
import type { FactsCache } from './cache.js';
import { CUSTOM_FILES, detectLayout, probeHorizon, type CachedFacts, type HorizonFacts, type LayoutFact } from './horizon.js';
import { LIBRARIES_CHECK, libraryFacts, type LibraryFact } from './libraries.js';

/** Everything read-only we know about one host; `error` set when we could not learn it all. */
export interface HostFacts {
  host: HostConfig;
  reachable: boolean;
  engineVia?: 'api' | 'sudo-cli';
  container?: ContainerInfo | null;
  layout?: LayoutFact;
  horizon?: HorizonFacts;
  /** Every known client library (facts/libraries.ts): image, container layer or missing. */
  libraries?: Record<string, LibraryFact>;
  /** Read in the lock's round trip (commands/lock.ts): files the run may patch (absent: not read), room for backups. */
  readUnderLock?: { files: Map<string, FileSnapshot | null>; free?: number };
  error?: { kind: 'unreachable' | 'failed'; message: string };
}

/** What else the facts probe does in its process. */
export interface GatherOptions {
  /** Checks to run (the target backend's, the parse of the files the run patches). */
  also?: ContainerCheck[];
  /** Reuse Django's answer from an earlier run while nothing it depends on changed, and keep a new one. */
  cache?: FactsCache;
  /** status: ask the Redis or Valkey server Django's cache uses now what it is and whether it persists. */
  currentRedis?: boolean;
}

/** Connect and read the facts of one host; never throws for host-level problems. */
export async function gatherHostFacts(fleet: Connections, host: HostConfig, { also = [], cache, currentRedis }: GatherOptions = {}): Promise<HostFacts> {
  const facts: HostFacts = { host, reachable: false };
  try {
    await fleet.ssh(host);
    facts.reachable = true;
    const engine = await fleet.engine(host);
    facts.engineVia = engine.via;
    // The probe starts with the inspect; its answer counts only for a running container.
    const probe = probeHorizon(host.name, engine, host.container, {
      also: [...also, LIBRARIES_CHECK],
      ...(currentRedis ? { currentRedis } : {}),
      ...(cache ? { cache: { cached: cache.get(host), keep: (kept: CachedFacts) => cache.put(host, kept) } } : {}),
    });
    probe.catch(() => undefined);
    facts.container = await engine.inspect(host.container);
    if (!facts.container) throw new HostError(host.name, `no container named '${host.container}'`);
    if (facts.container.state !== 'running') {
      throw new HostError(host.name, `container '${host.container}' is ${facts.container.state}`);
    }
    facts.horizon = await probe;
    facts.libraries = libraryFacts(facts.horizon, facts.container.created);
    facts.layout = overrideLayout(host, detectLayout(facts.container, facts.horizon.kollaConfigFiles));
  } catch (err) {
    if (!(err instanceof SessionctlError)) throw err;
    const kind = err.exitCode === ExitCode.hostUnreachable ? 'unreachable' : 'failed';
    facts.error = { kind, message: detailFor(err, host.name) };
    if (kind === 'unreachable') facts.reachable = false;
  }
  return facts;
}

/** The files a host's settings may be in, before its layout is known: read in the lock's round trip. */
export function settingsCandidates(host: HostConfig): string[] {
  switch (host.layout) {
    case 'auto':
      return Object.values(CUSTOM_FILES).map((name) => `${host.configDir}/${name}`);
    case 'kolla-local-settings-d':
    case 'kolla-local-settings':
      return [`${host.configDir}/${CUSTOM_FILES[host.layout]}`];
    case 'plain':
      return host.settingsFile ? [host.settingsFile] : [];
  }
}

/** The inventory may pin the layout (and the file for `plain`); detection fills the rest. */
function overrideLayout(host: HostConfig, detected: LayoutFact): LayoutFact {
  if (host.layout === 'auto') return detected;
  const configDir = detected.configDir ?? host.configDir;
  switch (host.layout) {
    case 'kolla-local-settings-d':
    case 'kolla-local-settings':
      return { layout: host.layout, configDir, customFile: `${configDir}/${CUSTOM_FILES[host.layout]}` };
    case 'plain':
      return { layout: 'plain', configDir: detected.configDir, customFile: host.settingsFile ?? null };
  }
}
