import type { HostConfig, InstallConfig } from '../inventory/types.js';
import type { Engine } from '../transport/types.js';
import type { SettingsBlock } from '../settings/block.js';
import type { LibraryName } from './compat.js';

/** What Django must resolve once a host runs the new settings. */
export interface Expect {
  sessionEngine: string;
  /** Absent when the backend does not use the cache (signed cookies). */
  cacheBackend?: string;
  location?: unknown;
  /**
   * Redis Sentinel: where the sentinels are ("host:port", any order) and the client/factory classes,
   * however the settings spell them (Kolla puts the factory in OPTIONS, sessionctl in the global setting).
   */
  sentinel?: { hosts: string[]; clientClass: string; connectionFactory: string };
  /** DATABASES['default'] as the probe reports it (engine, name, host). */
  database?: { engine: string; name: string; host: string };
  /** Other settings that must resolve to exactly these values (session security). */
  settings?: Record<string, unknown>;
}

/** A Python library the backend needs inside the container. */
export interface ClientLibrary {
  /** Import name, e.g. django_redis. */
  module: string;
  /** pip's name for it (the name kolla-build's pip_packages take). */
  package: string;
  /** Its row in the table of what fits which container (backends/compat.ts). */
  fits: LibraryName;
  /**
   * The newest version known to fit this Django, inside `requirement`'s range: the pin printed for
   * an image build when pip only chooses the version at install time.
   */
  knownFit(django: string): string;
  /** The distribution's package for install.method distro. */
  distroPackage: string;
  /** Its row in the table when it differs for the distro package (psycopg2-binary's wheel rules do not bind Debian's psycopg2). */
  distroFits?: LibraryName;
}

/** One of sessionctl's own modules the settings import (installed as a wheel made in the container). */
export interface OwnModule {
  module: string;
  version: string;
  /** Its source, by path from the package root. */
  source: string;
}

/** The settings one host gets: its Django (and what it can import) decides some classes. */
export interface HostSettings {
  block: SettingsBlock;
  /** Constant code placed before the settings (e.g. PyMySQL standing in for MySQLdb). */
  prelude?: string;
  expect: Expect;
  library?: ClientLibrary;
  /** Installed after `library` (it imports it). */
  ownModule?: OwnModule;
}

/** A session backend the run switches to, with its target resolved (secrets included, never logged). */
export interface BackendTarget {
  name: 'redis' | 'memcached' | 'cookie' | 'database';
  /** Where sessions will live, for messages (no secrets). */
  where: string;
  /** Settings this backend owns: earlier assignments of them in the patched file are commented out. */
  owns: string[];
  settingsFor(django: string, modules: Record<string, string | null>): HostSettings;
  /** The read-only check from inside the container that the backend can be used (none: nothing to reach). */
  reachCheck?: ContainerCheck;
  /** What the check answered, as a note; throws HostError when the backend cannot be used. */
  reached(host: string, answer: unknown): string;
  /** What the operator is told before confirming about a usable backend (e.g. sessions lost when it restarts), or null. */
  warning?(answer: unknown): string | null;
  /**
   * How long a session the web server made may be missing from the backend for reasons of the
   * backend itself (ms; unset: none beyond a few tries). A Sentinel failover leaves the old master
   * taking writes until the sentinels demote it (about 10 s here), and those writes are lost.
   */
  settleMs?: number;
  /** Is this session stored in the backend (checked from inside the container)? */
  holds(ctx: InContainer, session: { key: string; cacheKey?: string }): Promise<boolean>;
}

/** A script from src/facts/python/ run in the horizon container, with its JSON input on stdin. */
export interface ContainerCheck {
  script: string;
  input: Record<string, unknown>;
  /** Tells several runs of one script apart in the facts probe's answers (default: the script). */
  name?: string;
}

/** What a check inside a host's horizon container needs (the backend checks run before the facts are in). */
export interface InContainer {
  host: Pick<HostConfig, 'name' | 'container'>;
  engine: Engine;
}

/** The backend the run switches to, with everything resolved (secrets included, never logged). */
export interface Desired {
  target: BackendTarget;
  /** Names the managed block owns; earlier assignments of these are neutralised. */
  owned: string[];
  /** Session expiry and cookie settings written in the same block (empty: left as they are). */
  security: SettingsBlock;
  install: InstallConfig;
  /** Told to the operator with the plan (e.g. signed cookies are for development only). */
  warnings: string[];
  /** Copy live sessions from the old backend into the new one (--no-carry-sessions: false). */
  carry: boolean;
}
