import { basename } from 'node:path';
import { HostError, InternalError, SessionctlError, HostUnreachableError, detailFor } from '../errors.js';
import { loginUrl, probeHorizon, type HorizonFacts } from '../facts/horizon.js';
import { beforeBackend, mismatches, previousMismatches } from '../backends/effective.js';
import { restartAction } from '../journal/rollback-plan.js';
import { hostSettings } from './settings.js';
import { servedSession } from './prove.js';
import type { HostConfig } from '../inventory/types.js';
import type { Engine } from '../transport/types.js';
import type { BeforeBackend } from '../journal/records.js';
import { chooseMethod, reloadInPlace, reloadSummary, whyNoReload } from './reload.js';
import { byHand, describeDrains, drainHost, drainPlan, readyHost } from './drain.js';
import { hostStep, type HostContext, type Drain, type HostSettingsChange, type LoadMethod, type RestartTarget, type RestartUndo, type Undo, type UndoContext } from './types.js';

/** The restart target of a host in a run: its login page from the facts gathered at the start. */
function restartTarget(ctx: HostContext): RestartTarget {
  return { host: ctx.host, engine: ctx.engine, run: ctx.run, loginUrl: loginUrl(ctx.host.healthUrl, ctx.facts.horizon) };
}

/** Docker's stop timeout for a restart: Apache as PID 1 stops at once on SIGTERM. */
const STOP_TIMEOUT_S = 10;
/** Kolla's start hook keeps its hash of the settings here (kolla's horizon extend_start.sh). */
const KOLLA_SETTINGS_HASH = '/var/lib/kolla/.settings.md5sum.txt';

/**
 * Kolla's start hook regenerates the static files only when its hash of the settings differs. A
 * start cut short (a rollback right after a restart, a health gate that timed out during the
 * recompress) leaves them half made under a hash that still matches the restored settings, and
 * every page then fails on the offline manifest. Dropping the hash first (Kolla's own remedy,
 * "Horizon webinterface broken") costs nothing when the settings changed anyway.
 */
async function restartRegenerating(engine: Engine, container: string): Promise<void> {
  try {
    await engine.exec(container, ['rm', '-f', KOLLA_SETTINGS_HASH], { user: 'root' });
  } catch (err) {
    // A container that is not running has no start to cut short; the restart says the rest.
    if (err instanceof HostUnreachableError || !(err instanceof SessionctlError)) throw err;
  }
  await engine.restart(container, STOP_TIMEOUT_S);
}

/** Longest wait inside the container before Docker's view of it is asked again. */
const WAIT_SLICE_S = 15;

/**
 * Wait until the container runs, Docker does not call it unhealthy, and the login page answers 200:
 * the request Kolla's own health check makes. Docker's 'starting' is accepted once the page
 * answers, so the gate does not wait out the health check interval (30 s on Kolla).
 * One process in the container waits for the page and then reads what Django resolves: the settings
 * are read only after the 200 (Kolla has copied them in by then), without a second process start.
 */
export async function healthGate(ctx: RestartTarget): Promise<{ note: string; facts: HorizonFacts }> {
  const t0 = Date.now();
  const deadline = t0 + ctx.run.timeouts.health * 1000;
  let last = 'not checked yet';
  while (Date.now() < deadline) {
    const info = await ctx.engine.inspect(ctx.host.container);
    if (!info) throw new HostError(ctx.host.name, `container '${ctx.host.container}' disappeared`);
    if (info.state !== 'running') {
      last = `container is ${info.state}`;
      if (info.state === 'exited' || info.state === 'dead') break;
    } else if (info.health === 'unhealthy') {
      last = 'Docker reports it unhealthy';
    } else {
      const seconds = Math.max(1, Math.min(WAIT_SLICE_S, (deadline - Date.now()) / 1000));
      try {
        const facts = await probeHorizon(ctx.host.name, ctx.engine, ctx.host.container, { wait: { url: ctx.loginUrl, seconds } });
        if (facts.loginPage?.status === '200') {
          return { note: `login page 200 after ${((Date.now() - t0) / 1000).toFixed(1)}s (Docker health: ${info.health})`, facts };
        }
        last = `login page answered ${facts.loginPage?.status ?? 'nothing'}`;
      } catch (err) {
        // The probe failed in a container still starting up: "not yet". A lost host is thrown on.
        if (!(err instanceof HostError)) throw err;
        last = detailFor(err, ctx.host.name);
      }
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new HostError(ctx.host.name, `not healthy within ${ctx.run.timeouts.health}s: ${last}`);
}

/** How this host loads its settings file, behind which drains, and the plan's words for it (a refusal fails the host). */
function loadPlan(ctx: HostContext, settings: HostSettingsChange): { method: LoadMethod; drain: Drain[]; summary: string } {
  const file = basename(settings.path);
  const chosen = chooseMethod(ctx.run.rollout.method, whyNoReload(ctx.facts.horizon!, file));
  if ('refuse' in chosen) throw new HostError(ctx.host.name, chosen.refuse);
  if (chosen.method === 'reload') return { method: 'reload', drain: [], summary: reloadSummary(ctx.facts.horizon!, file) };
  const restart = `restart ${ctx.host.container} (stop timeout ${STOP_TIMEOUT_S}s; ${chosen.why}); Kolla's start regenerates the static files`;
  const drain = drainPlan(ctx.run.balancers, ctx.host.name);
  if (!drain) return { method: 'restart', drain: [], summary: restart };
  if ('unavailable' in drain) return { method: 'restart', drain: [], summary: `${restart}; no drain (requests to it may fail): ${drain.unavailable}` };
  return { method: 'restart', drain: drain.drains, summary: `drain ${describeDrains(drain.drains)} until it serves no request, then ${restart}` };
}

/**
 * Load the new settings into the running Horizon: by a graceful reload of its web server where
 * it can be done (rollout.method), else by a restart. When the file changes, or when it already
 * says the new backend but the running Horizon does not use it yet. Gives `method`: how this host
 * loads them (false: it need not).
 */
export const restart = hostStep({
  title: 'new settings loaded (graceful reload, or restart)',
  needs: ['settings'],
  gives: ['method', 'drain'],
  async plan(ctx, { settings }) {
    if (!settings.changed && !settings.switches) return { action: 'none', reason: 'no change: Horizon already runs with this backend', gives: { method: false as const, drain: [] } };
    const { method, drain, summary } = loadPlan(ctx, settings);
    if (settings.changed) return { action: 'change', summary, gives: { method, drain } };
    const wrong = mismatches(hostSettings(ctx).expect, ctx.facts.horizon!);
    return { action: 'change', summary: `${summary}: the file is already patched but the running Horizon still has ${wrong.join('; ')}`, gives: { method, drain } };
  },
  async apply(ctx, { method, drain, settings }, remember: (r: RestartUndo) => void) {
    // A container someone stopped since the preflight is theirs to start: do not race them.
    const now = await ctx.engine.inspect(ctx.host.container);
    if (now?.state !== 'running') {
      throw new HostError(ctx.host.name, `container '${ctx.host.container}' is ${now ? now.state : 'gone'} now (it was running at preflight): someone else is working on this host; not ${method === 'reload' ? 'reloading' : 'restarting'} it`);
    }
    const previous = ctx.facts.horizon?.settings;
    const target = restartTarget(ctx);
    const files = [basename(settings.path)];
    remember({ container: ctx.host.container, before: previous ? beforeBackend(previous) : null, restarted: true, loginUrl: target.loginUrl, method: method || 'restart', files, ...(drain.length ? { drains: drain } : {}) });
    if (method === 'reload') return reloadInPlace(target, files);
    const drained = drain.length ? `${await drainHost(ctx.run.balancers, ctx.host.name, drain, ctx.run.timeouts.health)}; ` : '';
    await restartRegenerating(ctx.engine, ctx.host.container);
    return `${drained}restarted ${ctx.host.container}`;
  },
  undo: restartUndo(),
});

/**
 * The undo of loading the settings, for the automatic rollback and `sessionctl rollback` alike.
 * One definition of "the previous backend is back": Django in the running container resolves what
 * it did before the run. A container the run loaded the settings into gets its restored settings
 * the same way (a reload that fails falls back to a restart: the host must come back); one it did
 * not is restarted only when Django there does not resolve the previous backend (or cannot be asked).
 */
function restartUndo(): Undo<RestartUndo> {
  return {
    journal: (r, host) => ({
      type: 'restart', host, container: r.container, stage: 'apply',
      ...(r.loginUrl ? { loginUrl: r.loginUrl } : {}),
      ...(r.method === 'reload' ? { method: r.method, files: r.files } : {}),
      ...(r.drains ? { drains: r.drains } : {}),
    }),
    async plan(ctx, r) {
      const running = r.restarted ? undefined : await runningBackend(ctx.target.name, ctx.target.engine!, r.container);
      const restart = restartAction(ctx.target.name, r.before, running, r.restarted, undoMethod(ctx.run, r));
      return restart.restart ? { action: 'undo', summary: restart.reason, restart } : { action: 'none', reason: restart.reason, restart };
    },
    async apply(ctx, r) {
      const { host, engine } = ctx.target;
      if (!host || !engine) throw new InternalError(`no container engine for ${ctx.target.name}`);
      const target = { host, engine, run: ctx.run, loginUrl: r.loginUrl ?? loginUrl(host.healthUrl, undefined) };
      if (undoMethod(ctx.run, r) === 'reload') {
        try {
          return await loadPrevious(target, r.before, 'reload', r.files!);
        } catch (err) {
          if (err instanceof HostUnreachableError || !(err instanceof SessionctlError)) throw err;
          return `${detailFor(err, host.name)}; then ${await loadPrevious(target, r.before, 'restart')}`;
        }
      }
      if (!r.drains?.length) return loadPrevious(target, r.before, 'restart');
      return behindDrain(target, r.drains, () => loadPrevious(target, r.before, 'restart'));
    },
  };
}

/**
 * Restart a host that the run drained: drained again first (a drain that cannot be made is said,
 * the restart goes on), and set ready again afterwards whatever the restart did: a drain left
 * behind would take the host out of the load balancer for good.
 */
async function behindDrain(t: RestartTarget, drains: Drain[], restart: () => Promise<string>): Promise<string> {
  const name = t.host.name;
  const ready = () => readyHost(t.run.balancers, name, drains, t.run.timeouts.health);
  const drained = await drainHost(t.run.balancers, name, drains, t.run.timeouts.health).catch((err: Error) => `not drained (${detailFor(err, name)})`);
  let done: string;
  try {
    done = await restart();
  } catch (err) {
    const left = await ready().then(() => 'set ready again', (e: Error) => `still drained (${detailFor(e, name)}): by hand ${byHand(drains)}`);
    throw new HostError(name, `${detailFor(err, name)}; ${left}`);
  }
  try {
    return `${drained}; ${done}; ${await ready()}`;
  } catch (err) {
    throw new HostError(name, `${done}, but it is still drained: ${detailFor(err, name)}; by hand ${byHand(drains)}`);
  }
}

/** The run's method, unless the rollback was told to restart (or the record names no file to copy). */
function undoMethod(run: UndoContext['run'], r: RestartUndo): LoadMethod {
  return r.method === 'reload' && r.files?.length && !run.restart ? 'reload' : 'restart';
}

/** What Django resolves now in a container, or null when it cannot be asked (container down, settings broken). */
async function runningBackend(host: string, engine: Engine, container: string): Promise<BeforeBackend | null> {
  try {
    const facts = await probeHorizon(host, engine, container);
    return facts.settings ? beforeBackend(facts.settings) : null;
  } catch (err) {
    if (err instanceof HostUnreachableError || !(err instanceof SessionctlError)) throw err;
    return null;
  }
}

/**
 * Load a host's restored settings (`files` into the container and a reload, or a restart), wait
 * for the health gate, and ask Django whether the previous backend is effective again.
 */
async function loadPrevious(ctx: RestartTarget, before: BeforeBackend | null, method: LoadMethod, files: string[] = []): Promise<string> {
  const done = method === 'reload' ? 'reloaded' : 'restarted';
  const byHand = `by hand on ${ctx.host.name}: check 'docker logs ${ctx.host.container}', then 'docker restart ${ctx.host.container}'`;
  ctx.run.journal?.append({ type: 'restart', host: ctx.host.name, container: ctx.host.container, stage: 'rollback', ...(method === 'reload' ? { method, files } : {}) });
  const how = method === 'reload' ? `${await reloadInPlace(ctx, files)}; ` : '';
  if (method === 'restart') await restartRegenerating(ctx.engine, ctx.host.container);
  const { note: health, facts } = await healthGate(ctx).catch((err: Error) => {
    throw new HostError(ctx.host.name, `${done} on the restored settings but ${detailFor(err, ctx.host.name)}; ${byHand}`);
  });
  const differs = before ? previousMismatches(before, facts) : [];
  if (differs.length) throw new HostError(ctx.host.name, `${done}, but the previous backend is not effective again: ${differs.join('; ')}`);
  return `${done} on the previous backend (${facts.settings!.sessionEngine.split('.').pop()}${facts.settings!.cache.backend ? ` + ${facts.settings!.cache.backend}` : ''}); ${how}${health}`;
}

export const healthGateStep = hostStep({
  title: 'healthy again (Docker health, login page 200)',
  needs: ['method'],
  gives: ['restarted'],
  async plan(ctx, { method }) {
    return method ? { action: 'check', summary: `wait up to ${ctx.run.timeouts.health}s for health and ${restartTarget(ctx).loginUrl}` } : { action: 'none', reason: 'no change: nothing loaded' };
  },
  async apply(ctx) {
    const { note, facts } = await healthGate(restartTarget(ctx));
    return { note, gives: { restarted: facts } };
  },
});

/**
 * The backend Django resolves in the container now (read by the gate) must be the one asked for,
 * and the serving processes must use it: a session the web server makes is in the new backend.
 */
export const verifySettings = hostStep({
  title: 'new backend effective in the serving processes',
  needs: ['method', 'restarted'],
  gives: [],
  async plan(ctx, { method }) {
    return method
      ? { action: 'check', summary: `ask Django in the container what it resolves; post the login form to ${restartTarget(ctx).loginUrl}: the session it makes must be in ${ctx.run.desired.target.where}` }
      : { action: 'none', reason: 'no change: nothing loaded' };
  },
  async apply(ctx, { method, restarted }) {
    const wanted = hostSettings(ctx);
    const wrong = mismatches(wanted.expect, restarted);
    const after = method === 'reload' ? 'after the reload' : 'after the restart';
    if (wrong.length) throw new HostError(ctx.host.name, `${after} ${wrong.join('; ')}`);
    for (const module of [wanted.library?.module, wanted.ownModule?.module]) {
      if (module && !restarted.modules[module]) throw new HostError(ctx.host.name, `${module} does not import in the container ${after}`);
    }
    const served = await servedSession(ctx, restartTarget(ctx).loginUrl);
    return `effective: ${restarted.settings!.sessionEngine} + ${restarted.settings!.cache.backend} at ${JSON.stringify(restarted.settings!.cache.location)}; ${served}`;
  },
});

/** A host restarted behind a drain goes back into every load balancer once it is verified, and the next host waits until HAProxy sees it UP. */
export const loadBalancerReady = hostStep({
  title: 'back in the load balancers (ready, UP)',
  needs: ['drain'],
  gives: [],
  async plan(ctx, { drain }) {
    return drain.length ? { action: 'change', summary: `set ${describeDrains(drain)} ready again; wait up to ${ctx.run.timeouts.health}s until HAProxy sees it UP` } : { action: 'none', reason: 'not drained' };
  },
  async apply(ctx, { drain }) {
    return readyHost(ctx.run.balancers, ctx.host.name, drain, ctx.run.timeouts.health);
  },
});
