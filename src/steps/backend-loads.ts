/**
 * Before any settings file is written: Django's own backend for the target, loaded in the container
 * with the new settings overlaid (facts/python/backend_load.py in the settings probe's process). The
 * database backend imports its driver and runs Django's version check; the cache backend builds its
 * client. What the version table (backends/compat.ts) cannot know, Django says here, and the run
 * stops in the prepare stage with nothing but the installed package to report.
 */
import { basename } from 'node:path';
import { HostError } from '../errors.js';
import { alsoAnswer, probeWithOverlay } from '../facts/horizon.js';
import { forTerminal } from '../util/terminal.js';
import { mismatches } from '../backends/effective.js';
import { blockFor, hostSettings } from './settings.js';
import { hostStep, type HostContext } from './types.js';

const SCRIPT = 'backend_load.py';

interface Loaded {
  ok: boolean;
  engine?: string;
  backend?: string;
  versions: Record<string, string>;
  error?: string;
}

/** What the new settings make Django load on this host: its database backend, its cache backend, or both (cached_db). */
function parts(ctx: HostContext): { database: boolean; cache: boolean } {
  const { expect } = hostSettings(ctx);
  const engine = expect.sessionEngine.replace('django.contrib.sessions.backends.', '');
  return { database: Boolean(expect.database) && (engine === 'db' || engine === 'cached_db'), cache: Boolean(expect.cacheBackend) && (engine === 'cache' || engine === 'cached_db') };
}

/** Pure: Django's verdict on one backend as a sentence (null: it loaded). */
export function loadFailure(django: string, what: string, loaded: Loaded | undefined): string | null {
  if (!loaded) return `Django ${django} did not say whether it can load the ${what}`;
  if (loaded.ok) return null;
  const libs = Object.entries(loaded.versions).map(([m, v]) => `${m} ${v}`).join(', ');
  return `Django ${django} cannot load the ${what} with the new settings (${libs || 'no client library imported'}): ${forTerminal(loaded.error ?? 'no reason given')}`;
}

export const backendLoads = hostStep({
  title: "Django loads the new backend with its client library (before any settings write)",
  needs: [],
  gives: [],
  async plan(ctx) {
    const want = parts(ctx);
    if (!want.database && !want.cache) return { action: 'none', reason: 'no change: the new backend loads no client library' };
    // A Horizon already running this backend is the proof: its workers load it on every start.
    if (mismatches(hostSettings(ctx).expect, ctx.facts.horizon!).length === 0) return { action: 'none', reason: 'no change: Horizon already runs this backend' };
    const what = [want.database && 'database backend (driver and Django\'s version check)', want.cache && 'cache backend with its client'].filter(Boolean).join(' and ');
    return { action: 'check', summary: `load Django's ${what} in the container with the new settings overlaid, before any settings file is written` };
  },
  async apply(ctx) {
    const want = parts(ctx);
    const path = ctx.facts.layout!.customFile!;
    const before = await ctx.files.read(path);
    // The block appended to the file as it is: what it assigns wins, as in the patched file.
    const text = `${before ? before.content.toString('utf8') : ''}\n\n${blockFor(ctx)}`;
    const facts = await probeWithOverlay(ctx.host.name, ctx.engine, ctx.host.container, { [basename(path)]: text }, {}, [{ script: SCRIPT, input: want }]);
    const django = facts.settings?.django ?? ctx.facts.horizon!.settings!.django;
    if (!facts.settings) throw new HostError(ctx.host.name, `with the new settings, Horizon's settings do not load: ${forTerminal(facts.settingsError ?? 'unknown error')}; nothing was written`);
    const answer = alsoAnswer<{ database?: Loaded; cache?: Loaded }>(facts, SCRIPT);
    if (!answer) throw new HostError(ctx.host.name, `${SCRIPT} failed: ${forTerminal(facts.also?.[SCRIPT]?.error ?? 'no answer')}; nothing was written`);
    const failures = [
      want.database ? loadFailure(django, `database backend ${answer.database?.engine ?? ''}`.trim(), answer.database) : null,
      want.cache ? loadFailure(django, `cache backend ${answer.cache?.backend ?? ''}`.trim(), answer.cache) : null,
    ].filter((f): f is string => f !== null);
    if (failures.length) throw new HostError(ctx.host.name, `${failures.join('; ')}; no settings file was written (a package this run installed stays, as on any rollback)`);
    const libs = { ...answer.database?.versions, ...answer.cache?.versions };
    return `ok: Django ${django} loads it (${Object.entries(libs).map(([m, v]) => `${m} ${v}`).join(', ') || 'no client library'})`;
  },
});
