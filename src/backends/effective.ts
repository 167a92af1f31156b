/**
 * Pure judgements of what Django resolves in a container against what a backend expects, and the
 * one definition of "the previous backend is back" that the automatic rollback and `sessionctl
 * rollback` share.
 */
import { backendOf, type EffectiveSettings, type HorizonFacts } from '../facts/horizon.js';
import type { BeforeBackend } from '../journal/records.js';
import { backendDifferences } from '../journal/rollback-plan.js';
import { sha256 } from '../transport/hostfs.js';
import type { Expect } from './types.js';
import { sentinelHosts } from './redis.js';

/** Pure: does Django's resolved state match what the run asked for? Returns the differences. */
export function mismatches(expect: Expect, facts: HorizonFacts): string[] {
  const s = facts.settings;
  if (!s) return [`Horizon's settings do not load: ${facts.settingsError ?? 'unknown error'}`];
  const out: string[] = [];
  if (s.sessionEngine !== expect.sessionEngine) out.push(`SESSION_ENGINE would be ${s.sessionEngine}, not ${expect.sessionEngine}`);
  if (expect.cacheBackend !== undefined && s.cache.backend !== expect.cacheBackend) {
    out.push(`CACHES['default'] BACKEND would be ${s.cache.backend}, not ${expect.cacheBackend}`);
  }
  if (expect.location !== undefined && JSON.stringify(s.cache.location) !== JSON.stringify(expect.location)) {
    out.push(`CACHES['default'] LOCATION would be ${JSON.stringify(s.cache.location)}, not ${JSON.stringify(expect.location)}`);
  }
  if (expect.sentinel) {
    const c = s.cache;
    const hosts = Array.isArray(c.sentinels) ? sentinelHosts(c.sentinels as unknown[][]) : [];
    if (JSON.stringify(hosts) !== JSON.stringify(expect.sentinel.hosts)) out.push(`the sentinels would be ${JSON.stringify(hosts)}, not ${JSON.stringify(expect.sentinel.hosts)}`);
    if (c.clientClass !== expect.sentinel.clientClass) out.push(`CLIENT_CLASS would be ${JSON.stringify(c.clientClass)}, not ${expect.sentinel.clientClass}`);
    if (c.connectionFactory !== expect.sentinel.connectionFactory) out.push(`the connection factory would be ${JSON.stringify(c.connectionFactory)}, not ${expect.sentinel.connectionFactory}`);
  }
  if (expect.database) {
    const db = s.database;
    if (!db || db.engine !== expect.database.engine || db.name !== expect.database.name || db.host !== expect.database.host) {
      out.push(`DATABASES['default'] would be ${JSON.stringify(db)}, not ${JSON.stringify(expect.database)}`);
    }
  }
  for (const [name, value] of Object.entries(expect.settings ?? {})) {
    if (JSON.stringify(s.security[name]) !== JSON.stringify(value)) out.push(`${name} would be ${JSON.stringify(s.security[name])}, not ${JSON.stringify(value)}`);
  }
  return out;
}

/** What Django resolved before the run, enough to check it is back (no credentials: the LOCATION is hashed). */
export function beforeBackend(s: EffectiveSettings): BeforeBackend {
  return { name: backendOf(s.sessionEngine, s.cache.backend), sessionEngine: s.sessionEngine, cacheBackend: s.cache.backend, locationSha256: sha256(JSON.stringify(s.cache.location ?? null)) };
}

/** Differences between what Django resolves now and the backend before the run (empty: it is back). */
export function previousMismatches(before: BeforeBackend, facts: HorizonFacts): string[] {
  if (!facts.settings) return [`Horizon's settings do not load: ${facts.settingsError ?? 'unknown error'}`];
  return backendDifferences(before, beforeBackend(facts.settings));
}
