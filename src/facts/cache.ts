import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HostConfig } from '../inventory/types.js';
import { asset } from '../util/assets.js';
import type { CachedFacts } from './horizon.js';

/**
 * What Django resolved on each host in an earlier run, reused while its fingerprint (python/probe.py:
 * the settings files, the packages, the interpreter and its environment) is unchanged: a re-run
 * that changes nothing skips the settings import, most of its time. Holds no secret (the probe
 * masks passwords and keeps only a truncated hash of SECRET_KEY); 0600 all the same.
 */
export interface FactsCache {
  get(host: HostConfig): CachedFacts | null;
  put(host: HostConfig, facts: CachedFacts): void;
}

/** One file per host and container under `dir`; another sessionctl's probe starts afresh. */
export function factsCache(dir: string): FactsCache {
  const probe = sha256(asset('src/facts/python/probe.py'));
  const file = (h: HostConfig) => join(dir, `${sha256([h.name, h.address, h.port, h.user, h.container, probe].join('\0'))}.json`);
  return {
    get(host) {
      try {
        const data = JSON.parse(readFileSync(file(host), 'utf8')) as Partial<CachedFacts>;
        return typeof data.fingerprint === 'string' && data.part && typeof data.part === 'object' ? { fingerprint: data.fingerprint, part: data.part } : null;
      } catch {
        // Absent, unreadable or cut short: the probe reads the facts afresh.
        return null;
      }
    },
    put(host, facts) {
      const target = file(host);
      const tmp = `${target}.${randomBytes(4).toString('hex')}.tmp`;
      try {
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        writeFileSync(tmp, JSON.stringify(facts), { mode: 0o600 });
        renameSync(tmp, target);
      } catch {
        // A cache that cannot be written only costs the next run the import.
        try {
          rmSync(tmp, { force: true });
        } catch {
          // Nothing was written there.
        }
      }
    },
  };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
