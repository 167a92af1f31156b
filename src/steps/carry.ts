import { basename } from 'node:path';
import { backendOf, pythonJson } from '../facts/horizon.js';
import { renderBlock } from '../settings/block.js';
import { hostSettings } from './settings.js';
import type { CarryCounts } from '../runner/results.js';
import { fleetStep, type CarryRoute, type HostContext, type Undo } from './types.js';

/** carry.py's answer (see src/steps/python/carry.py): counts only, never a session key or content. */
interface CarryAnswer {
  supported: boolean;
  why?: string;
  cookies?: boolean;
  same?: boolean;
  live?: number;
  carried?: number;
  unchanged?: number;
  newer?: number;
  expired?: number;
  failed?: number;
  forgotten?: number;
  kept?: number;
  errors?: Record<string, number>;
  ledger?: Record<string, number | null>;
  seconds?: number;
}

/**
 * Run carry.py on the carrier. The old backend is Horizon's settings with the settings file as it
 * was before this run (whether or not the container restarted since); the new one is our block.
 */
async function ask(route: CarryRoute, op: 'count' | 'carry' | 'forget', ledger?: Record<string, number | null>): Promise<CarryAnswer> {
  const { carrier: h, settings: s } = route;
  const wanted = hostSettings(h);
  return pythonJson<CarryAnswer>(h.host.name, h.engine, h.host.container, 'steps/python/carry.py', {
    op,
    old_files: { [basename(s.path)]: s.before ? s.before.content.toString('utf8') : '' },
    new_settings: renderBlock(wanted.block, 'carry', wanted.prelude),
    ...(ledger ? { ledger } : {}),
  }, { maxStdoutBytes: CARRY_MAX_STDOUT_BYTES });
}

/** carry.py's ledger has a line per session copied (about 50 bytes): room for millions, beyond the default cap. */
const CARRY_MAX_STDOUT_BYTES = 256 * 1024 * 1024;

/** The backend Horizon runs on now, for messages (the probe masked any password). */
function oldBackend(h: HostContext): string {
  const s = h.facts.horizon?.settings;
  if (!s) return 'the old backend';
  const name = backendOf(s.sessionEngine, s.cache.backend);
  const where = /db$|database/.test(name) ? s.database && `${s.database.name} at ${s.database.host}` : s.cache.location && [s.cache.location].flat().join(', ');
  return where ? `${name} at ${where}` : name;
}

/** Pure: one pass's answer as counts, for the report and the note. */
export function countsOf(pass: 1 | 2, a: CarryAnswer): CarryCounts {
  return {
    pass,
    live: a.live ?? 0,
    carried: a.carried ?? 0,
    unchanged: a.unchanged ?? 0,
    newer: a.newer ?? 0,
    expired: a.expired ?? 0,
    failed: a.failed ?? 0,
    forgotten: a.forgotten ?? 0,
    seconds: a.seconds ?? 0,
  };
}

/** Pure: the report line of one pass. */
export function describeCarry(c: CarryCounts, errors: Record<string, number> = {}): string {
  const parts = [
    c.unchanged && `${c.unchanged} already there (${c.pass === 2 ? 'unchanged since the first pass' : 'same expiry'})`,
    c.newer && `${c.newer} newer in the new backend (kept)`,
    `${c.expired} expired (skipped)`,
    `${c.failed} failed${Object.keys(errors).length ? ` (${Object.entries(errors).map(([e, n]) => `${e} x${n}`).join(', ')})` : ''}`,
    c.forgotten && `${c.forgotten} logged out meanwhile (their copies removed)`,
  ].filter(Boolean);
  return `carried ${c.carried} of ${c.live} live sessions in ${c.seconds.toFixed(2)}s: ${parts.join(', ')}`;
}

/** One pass's answer as counts and the copies it made; a pass that could not run fails the step. */
function passOf(pass: 1 | 2, a: CarryAnswer): { counts: CarryCounts; note: string; ledger: Record<string, number | null> } {
  if (!a.supported) throw new Error(`copying the sessions failed: ${a.why}`);
  const counts = countsOf(pass, a);
  return { counts, note: describeCarry(counts, a.errors), ledger: a.ledger ?? {} };
}

/** What undoes a pass: its copies, removed unless used since (in memory only: a later rollback leaves them to expire). */
interface CopiesMade {
  route: CarryRoute;
  ledger: Record<string, number | null>;
}

/** Remove the copies nobody used since: a later switch to that backend must not revive them. */
const removeCopies: Undo<CopiesMade> = {
  async plan(ctx, { ledger }) {
    const n = Object.keys(ledger).length;
    return n ? { action: 'undo', summary: `remove the ${n} copied sessions nobody used since` } : { action: 'none', reason: 'no session was copied' };
  },
  async apply(ctx, copies) {
    const a = await ask(copies.route, 'forget', copies.ledger);
    const where = copies.route.carrier.run.desired.target.where;
    if (!a.supported) throw new Error(`the copied sessions could not be removed from ${where}: ${a.why}`);
    return `removed ${a.forgotten} copied sessions from ${where}${a.kept ? `; ${a.kept} were used since and stay` : ''}`;
  },
};

/**
 * Before the first host restarts onto the new backend: copy every live session into it, with its
 * remaining lifetime, through Django inside a horizon container. The old backend is only read, so
 * a rollback to it loses nothing. Gives `carry` (where from, or null) and, applied, `carried`.
 */
export const carrySessions = fleetStep({
  title: 'live sessions copied into the new backend (users stay logged in)',
  needs: ['settings'],
  gives: ['carry', 'carried'],
  async plan(fleet, { hosts }) {
    // The first host being switched copies: its settings file says what "before" was.
    const switching = hosts.find((h) => h.settings.switches);
    const none = { carry: { route: null } };
    if (!switching) return { action: 'none', reason: 'no change: nothing is switched', gives: none };
    if (!fleet.run.desired.carry) return { action: 'none', reason: 'not asked (--no-carry-sessions or session.carry: false): every user will be logged out', gives: none };
    const route = { carrier: switching.ctx, settings: switching.settings, from: oldBackend(switching.ctx) };
    const a = await ask(route, 'count');
    if (!a.supported) return { action: 'none', reason: `cannot carry the sessions: ${a.why}; every user will be logged out`, gives: { carry: { route: null, cannot: a.why ?? 'unknown' } } };
    if (a.cookies) return { action: 'none', reason: 'nothing to copy: signed-cookie sessions live in the browsers (and SECRET_KEY is the same on every host)', gives: none };
    if (a.same) return { action: 'none', reason: 'nothing to copy: the old and the new settings name the same backend', gives: none };
    return {
      action: 'change',
      summary: `copy the ${a.live} live sessions from ${route.from} into ${fleet.run.desired.target.where} before the first restart (on ${route.carrier.host.name}), and again after the last (a newer copy wins)`,
      gives: { carry: { route } },
    };
  },
  async apply(_run, { carry }, remember: (copies: CopiesMade) => void) {
    const route = carry.route!;
    const pass = passOf(1, await ask(route, 'carry'));
    // Remembered once carry.py answered: only its answer names the copies (a pass cut short wrote none it could name).
    remember({ route, ledger: pass.ledger });
    return { note: pass.note, gives: { carried: { counts: pass.counts, entries: pass.ledger } } };
  },
  undo: removeCopies,
});

/**
 * After the last host: hosts not yet switched kept writing to the old backend during the rollout.
 * Copy again what is newer there, and drop copies of sessions logged out of the old backend since.
 */
export const carrySessionsAgain = fleetStep({
  title: 'sessions changed during the rollout copied again',
  needs: ['carry', 'carried'],
  gives: ['carriedAgain'],
  async plan(_run, { carry }) {
    if (!carry.route) return { action: 'none', reason: 'no session is carried in this run' };
    return { action: 'check', summary: `copy the sessions created or changed in ${carry.route.from} during the rollout (a newer copy wins)` };
  },
  async apply(_run, { carry, carried }, remember: (copies: CopiesMade) => void) {
    const route = carry.route!;
    const pass = passOf(2, await ask(route, 'carry', carried.entries));
    remember({ route, ledger: pass.ledger });
    return { note: pass.note, gives: { carriedAgain: pass.counts } };
  },
  undo: removeCopies,
});
