import { randomBytes, randomInt } from 'node:crypto';
import { HostError } from '../errors.js';
import { pythonJson } from '../facts/horizon.js';
import { fleetStep, type HostContext } from './types.js';

interface SessionAnswer {
  engine: string;
  key: string;
  cache_key?: string;
  value?: string | null;
  error?: string;
}

function session(h: HostContext, input: Record<string, unknown>): Promise<SessionAnswer> {
  return pythonJson<SessionAnswer>(h.host.name, h.engine, h.host.container, 'steps/python/session.py', input);
}

/** The proof session expires by itself: nothing has to be cleaned up after the proof. */
const PROOF_TTL_S = 60;
/** How long a reader waits for the session written on the other host to appear. */
const READ_WAIT_S = 30;

/** Tries of the served-session proof (more while the backend may still settle), and the pause between them. */
const SERVED_TRIES = 3;
const SERVED_PAUSE_MS = 2500;

/**
 * Proof that the processes serving `url` use the new backend, not only a fresh interpreter beside
 * them: the web server's own answer to a login form post sets a session, and that session must be
 * readable through the new settings and present in the backend itself. It expires by itself.
 * A miss is tried again: a write can be lost for reasons of the backend (a Sentinel failover drops
 * what the old master takes until it is demoted: target.settleMs), while processes on the old
 * backend miss every time.
 */
export async function servedSession(h: HostContext, url: string): Promise<string> {
  const { target } = h.run.desired;
  const misses: string[] = [];
  const settled = Date.now() + (target.settleMs ?? 0);
  for (let i = 1; ; i++) {
    const a = await session(h, { op: 'served', url, ttl: PROOF_TTL_S });
    const shown = a.error ? '' : a.cache_key ?? a.key.slice(0, 40);
    const held = !a.error && a.value === 'credentials' && (await target.holds(h, { key: a.key, ...(a.cache_key ? { cacheKey: a.cache_key } : {}) }));
    if (held) {
      const retried = misses.length ? `; ${misses.length} earlier ${misses.length === 1 ? 'try' : 'tries'} missed (first: ${misses[0]})` : '';
      return (target.name === 'cookie' ? `${url} makes signed-cookie sessions` : `the session ${url} made is in ${target.where} (${shown})`) + retried;
    }
    misses.push(a.error ? `could not have ${url} make a session: ${a.error}` : `the session ${url} made (${shown}) is not in ${target.where}`);
    if (i >= SERVED_TRIES && Date.now() >= settled) {
      const last = misses.at(-1)!;
      throw new HostError(h.host.name, a.error ? `${last} (${i} tries)` : `${last} in ${i} tries: the serving processes do not use the new backend`);
    }
    await new Promise((r) => setTimeout(r, SERVED_PAUSE_MS));
  }
}

/** A session key as Django makes them (32 of [a-z0-9]), chosen here so the readers can start at once. */
function sessionKey(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from({ length: 32 }, () => alphabet[randomInt(alphabet.length)]).join('');
}

/**
 * Write a session through Django's SessionStore on one host, read it back through every other
 * host, and find its key in the backend itself. The readers start with the writer and wait for the
 * key (signed cookies carry the data in the key itself, so there they start after the write).
 */
export const crossHostSession = fleetStep({
  title: 'a session written on one host is read on the others',
  needs: ['method'],
  gives: [],
  async plan(fleet, { hosts }) {
    return hosts.some((h) => h.method)
      ? { action: 'check', summary: `write a session on ${fleet.hosts[0]!.host.name} (it expires after ${PROOF_TTL_S}s), read it on ${fleet.hosts.length > 1 ? fleet.hosts.slice(1).map((h) => h.host.name).join(', ') : 'the same host'}, find it in ${fleet.run.desired.target.where}` }
      : { action: 'none', reason: 'no change: nothing was switched' };
  },
  async apply(fleet) {
    const [writer, ...others] = fleet.hosts;
    const readers = others.length ? others : [writer!];
    const { target } = fleet.run.desired;
    const token = randomBytes(12).toString('hex');
    const read = async (reader: HostContext, key: string, wait: number) => {
      const answer = await session(reader, { op: 'read', key, wait });
      if (answer.value !== token) {
        throw new Error(`a session written on ${writer!.host.name} is not readable on ${reader.host.name} (got ${answer.value === null ? 'nothing' : 'another value'})`);
      }
    };
    const chosen = target.name === 'cookie' ? undefined : sessionKey();
    const writing = session(writer!, { op: 'write', token, ttl: PROOF_TTL_S, ...(chosen ? { key: chosen } : {}) });
    const early = chosen ? readers.map((r) => read(r, chosen, READ_WAIT_S)) : [];
    // The readers' failures are reported after the write's own: settle them so none goes unhandled.
    early.forEach((p) => p.catch(() => undefined));
    const written = await writing;
    const [held] = await Promise.all([
      target.holds(writer!, { key: written.key, ...(written.cache_key ? { cacheKey: written.cache_key } : {}) }),
      ...(chosen ? early : readers.map((r) => read(r, written.key, 0))),
    ]);
    if (!held) throw new Error(`the session key ${written.cache_key ?? written.key} is not in ${target.where}`);
    return `session written on ${writer!.host.name}, read on ${readers.map((h) => h.host.name).join(', ')}, ${target.name === 'cookie' ? 'the data travels in the signed cookie' : `session ${target.name === 'database' ? written.key : written.cache_key ?? written.key} found in ${target.where}`}`;
  },
});
