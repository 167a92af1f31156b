import { HostError, InternalError, SessionctlError, HostUnreachableError, detailFor } from '../errors.js';
import { loginUrl, probeHorizon, type HorizonFacts } from '../facts/horizon.js';
import { beforeBackend, mismatches, previousMismatches } from '../backends/effective.js';
import { restartAction } from '../journal/rollback-plan.js';
import { hostSettings } from './settings.js';
import type { HostConfig } from '../inventory/types.js';
import type { Engine } from '../transport/types.js';
import type { BeforeBackend } from '../journal/records.js';
import { hostStep, type HostContext, type RestartUndo, type RunInfo, type Undo } from './types.js';

/** What restarting and gating one host needs: a step's HostContext and an undo's target both fit. */
export interface RestartTarget {
  host: HostConfig;
  engine: Engine;
  run: Pick<RunInfo, 'timeouts' | 'journal'>;
  /** Horizon's login page as the container's web server serves it (see loginUrl). */
  loginUrl: string;
}

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

/**
 * Restart to load the new settings: when the file changes, or when it already says the new backend
 * but the running Horizon does not use it yet. Gives `restart`: whether this host restarts.
 */
export const restart = hostStep({
  title: 'container restarted',
  needs: ['settings'],
  gives: ['restart'],
  async plan(ctx, { settings }) {
    if (settings.changed) return { action: 'change', summary: `restart ${ctx.host.container} (stop timeout ${STOP_TIMEOUT_S}s) to load the new settings; Kolla's start regenerates the static files`, gives: { restart: true } };
    if (settings.switches) {
      const wrong = mismatches(hostSettings(ctx).expect, ctx.facts.horizon!);
      return { action: 'change', summary: `restart ${ctx.host.container}: the file is already patched but the running Horizon still has ${wrong.join('; ')}`, gives: { restart: true } };
    }
    return { action: 'none', reason: 'no change: Horizon already runs with this backend', gives: { restart: false } };
  },
  async apply(ctx, _input, remember: (r: RestartUndo) => void) {
    // A container someone stopped since the preflight is theirs to start: do not race them.
    const now = await ctx.engine.inspect(ctx.host.container);
    if (now?.state !== 'running') {
      throw new HostError(ctx.host.name, `container '${ctx.host.container}' is ${now ? now.state : 'gone'} now (it was running at preflight): someone else is working on this host; not restarting it`);
    }
    const settings = ctx.facts.horizon?.settings;
    remember({ container: ctx.host.container, before: settings ? beforeBackend(settings) : null, restarted: true, loginUrl: restartTarget(ctx).loginUrl });
    await restartRegenerating(ctx.engine, ctx.host.container);
    return `restarted ${ctx.host.container}`;
  },
  undo: restartUndo(),
});

/**
 * The undo of a restart, for the automatic rollback and `sessionctl rollback` alike. One definition
 * of "the previous backend is back": Django in the running container resolves what it did before
 * the run. A container the run restarted is restarted on its restored settings; one it did not is
 * restarted only when Django there does not resolve the previous backend (or cannot be asked).
 */
function restartUndo(): Undo<RestartUndo> {
  return {
    journal: (r, host) => ({ type: 'restart', host, container: r.container, stage: 'apply', ...(r.loginUrl ? { loginUrl: r.loginUrl } : {}) }),
    async plan(ctx, r) {
      const running = r.restarted ? undefined : await runningBackend(ctx.target.name, ctx.target.engine!, r.container);
      const restart = restartAction(ctx.target.name, r.before, running, r.restarted);
      return restart.restart ? { action: 'undo', summary: restart.reason, restart } : { action: 'none', reason: restart.reason, restart };
    },
    async apply(ctx, r) {
      const { host, engine } = ctx.target;
      if (!host || !engine) throw new InternalError(`no container engine for ${ctx.target.name}`);
      return restartOnPrevious({ host, engine, run: ctx.run, loginUrl: r.loginUrl ?? loginUrl(host.healthUrl, undefined) }, r.before);
    },
  };
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
 * Restart a host on its restored settings, wait for the health gate, and ask Django whether the
 * previous backend is effective again.
 */
export async function restartOnPrevious(ctx: RestartTarget, before: BeforeBackend | null): Promise<string> {
  const byHand = `by hand on ${ctx.host.name}: check 'docker logs ${ctx.host.container}', then 'docker restart ${ctx.host.container}'`;
  ctx.run.journal?.append({ type: 'restart', host: ctx.host.name, container: ctx.host.container, stage: 'rollback' });
  await restartRegenerating(ctx.engine, ctx.host.container);
  const { note: health, facts } = await healthGate(ctx).catch((err: Error) => {
    throw new HostError(ctx.host.name, `restarted on the restored settings but ${detailFor(err, ctx.host.name)}; ${byHand}`);
  });
  const differs = before ? previousMismatches(before, facts) : [];
  if (differs.length) throw new HostError(ctx.host.name, `restarted, but the previous backend is not effective again: ${differs.join('; ')}`);
  return `restarted on the previous backend (${facts.settings!.sessionEngine.split('.').pop()}${facts.settings!.cache.backend ? ` + ${facts.settings!.cache.backend}` : ''}); ${health}`;
}

export const healthGateStep = hostStep({
  title: 'healthy again (Docker health, login page 200)',
  needs: ['restart'],
  gives: ['restarted'],
  async plan(ctx, { restart }) {
    return restart ? { action: 'check', summary: `wait up to ${ctx.run.timeouts.health}s for health and ${restartTarget(ctx).loginUrl}` } : { action: 'none', reason: 'not restarted' };
  },
  async apply(ctx) {
    const { note, facts } = await healthGate(restartTarget(ctx));
    return { note, gives: { restarted: facts } };
  },
});

/** The backend Django resolves in the restarted container (read by the gate) must be the one asked for. */
export const verifySettings = hostStep({
  title: 'new backend effective in the running Horizon',
  needs: ['restart', 'restarted'],
  gives: [],
  async plan(_ctx, { restart }) {
    return restart ? { action: 'check', summary: 'ask Django in the restarted container what it resolved' } : { action: 'none', reason: 'not restarted' };
  },
  async apply(ctx, { restarted }) {
    const wanted = hostSettings(ctx);
    const wrong = mismatches(wanted.expect, restarted);
    if (wrong.length) throw new HostError(ctx.host.name, `after the restart ${wrong.join('; ')}`);
    if (wanted.library && !restarted.modules[wanted.library.module]) {
      throw new HostError(ctx.host.name, `${wanted.library.module} does not import in the restarted container`);
    }
    return `effective: ${restarted.settings!.sessionEngine} + ${restarted.settings!.cache.backend} at ${JSON.stringify(restarted.settings!.cache.location)}`;
  },
});
