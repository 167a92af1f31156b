import { basename } from 'node:path';
import { backendOf, pythonJson } from '../facts/horizon.js';
import { renderBlock } from '../settings/block.js';
import { hostSettings } from './settings.js';
import type { CarryCounts, FleetStep, HostContext, RunContext, StepPlan } from '../runner/types.js';

/** carry.py's answer (see src/facts/python/carry.py): counts only, never a session key or content. */
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

/** The host whose container does the copying: the first one being switched (its settings file says what "before" was). */
function carrier(run: RunContext): HostContext | undefined {
  return run.hosts.find((h) => h.state.settings && (h.state.changes.length || h.state.needsRestart));
}

/**
 * Run carry.py on the carrier. The old backend is Horizon's settings with the settings file as it
 * was before this run (whether or not the container restarted since); the new one is our block.
 */
async function ask(h: HostContext, op: 'count' | 'carry' | 'forget', ledger?: Record<string, number | null>): Promise<CarryAnswer> {
  const s = h.state.settings!;
  const wanted = hostSettings(h);
  return pythonJson<CarryAnswer>(h.host.name, h.engine, h.host.container, 'carry.py', {
    op,
    old_files: { [basename(s.path)]: s.before ? s.before.content.toString('utf8') : '' },
    new_settings: renderBlock(wanted.block, 'carry', wanted.prelude),
    ...(ledger ? { ledger } : {}),
  });
}

/** The backend Horizon runs on now, for messages (the probe masked any password). */
function oldBackend(h: HostContext): string {
  const s = h.state.facts.horizon?.settings;
  if (!s) return 'the old backend';
  const name = backendOf(s.sessionEngine, s.cache.backend);
  const where = /db$|database/.test(name) ? s.database && `${s.database.name} at ${s.database.host}` : s.cache.location && [s.cache.location].flat().join(', ');
  return where ? `${name} at ${where}` : name;
}

const CANNOT = 'cannot carry the sessions: ';
const LOGGED_OUT = '; every user will be logged out';

/** Pure: why a carry-sessions plan will not copy the sessions although it was asked to (undefined: it will, or was not asked). */
export function cannotCarry(p: StepPlan | undefined): string | undefined {
  return p?.action === 'none' && p.reason.startsWith(CANNOT) ? p.reason.slice(CANNOT.length).replace(LOGGED_OUT, '') : undefined;
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

function record(run: RunContext, pass: 1 | 2, a: CarryAnswer): string {
  if (!a.supported) throw new Error(`copying the sessions failed: ${a.why}`);
  const counts = countsOf(pass, a);
  run.carry!.passes.push(counts);
  Object.assign(run.carry!.ledger, a.ledger ?? {});
  return describeCarry(counts, a.errors);
}

/**
 * Before the first host restarts onto the new backend: copy every live session into it, with its
 * remaining lifetime, through Django inside a horizon container. The old backend is only read, so
 * a rollback to it loses nothing.
 */
export const carrySessions: FleetStep = {
  scope: 'fleet',
  title: 'live sessions copied into the new backend (users stay logged in)',
  async plan(run) {
    const h = carrier(run);
    if (!h) return { action: 'none', reason: 'no change: nothing is switched' };
    if (!run.desired.carry) return { action: 'none', reason: 'not asked (--no-carry-sessions or session.carry: false): every user will be logged out' };
    const a = await ask(h, 'count');
    if (!a.supported) return { action: 'none', reason: `${CANNOT}${a.why}${LOGGED_OUT}` };
    if (a.cookies) return { action: 'none', reason: 'nothing to copy: signed-cookie sessions live in the browsers (and SECRET_KEY is the same on every host)' };
    if (a.same) return { action: 'none', reason: 'nothing to copy: the old and the new settings name the same backend' };
    const from = oldBackend(h);
    run.carry = { from, passes: [], ledger: {} };
    return {
      action: 'change',
      summary: `copy the ${a.live} live sessions from ${from} into ${run.desired.target.where} before the first restart (on ${h.host.name}), and again after the last (a newer copy wins)`,
    };
  },
  async apply(run) {
    return record(run, 1, await ask(carrier(run)!, 'carry'));
  },
  /** Remove the copies nobody used since: a later switch to that backend must not revive them. */
  async rollback(run) {
    const ledger = run.carry?.ledger ?? {};
    if (Object.keys(ledger).length === 0) return 'no session was copied';
    const a = await ask(carrier(run)!, 'forget', ledger);
    if (!a.supported) throw new Error(`the copied sessions could not be removed from ${run.desired.target.where}: ${a.why}`);
    return `removed ${a.forgotten} copied sessions from ${run.desired.target.where}${a.kept ? `; ${a.kept} were used since and stay` : ''}`;
  },
};

/**
 * After the last host: hosts not yet switched kept writing to the old backend during the rollout.
 * Copy again what is newer there, and drop copies of sessions logged out of the old backend since.
 */
export const carrySessionsAgain: FleetStep = {
  scope: 'fleet',
  title: 'sessions changed during the rollout copied again',
  async plan(run) {
    if (!run.carry) return { action: 'none', reason: 'no session is carried in this run' };
    return { action: 'check', summary: `copy the sessions created or changed in ${run.carry.from} during the rollout (a newer copy wins)` };
  },
  async apply(run) {
    return record(run, 2, await ask(carrier(run)!, 'carry', run.carry!.ledger));
  },
};
