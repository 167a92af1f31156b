import { randomBytes } from 'node:crypto';
import { pythonJson } from '../facts/horizon.js';
import type { FleetStep, HostContext } from '../runner/types.js';

interface SessionAnswer {
  engine: string;
  key: string;
  cache_key?: string;
  value?: string | null;
  exists?: boolean;
}

function session(h: HostContext, input: Record<string, unknown>): Promise<SessionAnswer> {
  return pythonJson<SessionAnswer>(h.host.name, h.engine, h.host.container, 'session.py', input);
}

/**
 * Write a session through Django's SessionStore on one host, read it back through every other
 * host, and find its key in the backend itself; then delete it.
 */
export const crossHostSession: FleetStep = {
  scope: 'fleet',
  title: 'a session written on one host is read on the others',
  async plan(run) {
    const changed = run.hosts.some((h) => h.state.changes.length || h.state.needsRestart);
    return changed
      ? { action: 'check', summary: `write a session on ${run.hosts[0]!.host.name}, read it on ${run.hosts.length > 1 ? run.hosts.slice(1).map((h) => h.host.name).join(', ') : 'the same host'}, find it in ${run.desired.target.where}` }
      : { action: 'none', reason: 'no change: nothing was switched' };
  },
  async apply(run) {
    const [writer, ...readers] = run.hosts;
    const token = randomBytes(12).toString('hex');
    const written = await session(writer!, { op: 'write', token });
    try {
      const { target } = run.desired;
      // The reads and the look-up in the backend only need the written session: ask them at once.
      const [held] = await Promise.all([
        target.holds(writer!, { key: written.key, ...(written.cache_key ? { cacheKey: written.cache_key } : {}) }),
        ...(readers.length ? readers : [writer!]).map(async (reader) => {
          const read = await session(reader, { op: 'read', key: written.key });
          if (read.value !== token) {
            throw new Error(`a session written on ${writer!.host.name} is not readable on ${reader.host.name} (got ${read.value === null ? 'nothing' : 'another value'})`);
          }
        }),
      ]);
      if (!held) throw new Error(`the session key ${written.cache_key ?? written.key} is not in ${target.where}`);
      return `session written on ${writer!.host.name}, read on ${(readers.length ? readers : [writer!]).map((h) => h.host.name).join(', ')}, ${target.name === 'cookie' ? 'the data travels in the signed cookie' : `session ${target.name === 'database' ? written.key : written.cache_key ?? written.key} found in ${target.where}`}`;
    } finally {
      await session(writer!, { op: 'delete', key: written.key }).catch(() => undefined);
    }
  },
};
