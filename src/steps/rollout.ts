import { HostError, detailFor } from '../errors.js';
import { probeHorizon, type HorizonFacts } from '../facts/horizon.js';
import { hostSettings, mismatches } from './settings.js';
import type { HostConfig } from '../inventory/types.js';
import type { Engine } from '../transport/types.js';
import type { HostContext, HostStep, RunContext, StepPlan } from '../runner/types.js';

/** What restarting and gating one host needs: the runner's HostContext and `sessionctl rollback`'s both fit. */
export interface RestartTarget {
  host: HostConfig;
  engine: Engine;
  run: Pick<RunContext, 'timeouts' | 'journal'>;
}

/** Docker's stop timeout for a restart: Apache as PID 1 stops at once on SIGTERM. */
const STOP_TIMEOUT_S = 10;

function restartPlanned(ctx: HostContext): boolean {
  return ctx.state.changes.length > 0 || ctx.state.needsRestart === true;
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
        const facts = await probeHorizon(ctx.host.name, ctx.engine, ctx.host.container, { wait: { url: ctx.host.healthUrl, seconds } });
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

/** The backend Django resolves in the restarted container (read by the gate) must be the one asked for. */
async function verifyEffective(ctx: HostContext): Promise<string> {
  const facts = ctx.state.afterRestart ?? (await probeHorizon(ctx.host.name, ctx.engine, ctx.host.container));
  const wanted = hostSettings(ctx);
  const wrong = mismatches(wanted.expect, facts);
  if (wrong.length) throw new HostError(ctx.host.name, `after the restart ${wrong.join('; ')}`);
  if (wanted.library && !facts.modules[wanted.library.module]) {
    throw new HostError(ctx.host.name, `${wanted.library.module} does not import in the restarted container`);
  }
  return `effective: ${facts.settings!.sessionEngine} + ${facts.settings!.cache.backend} at ${JSON.stringify(facts.settings!.cache.location)}`;
}

export const restart: HostStep = {
  scope: 'host',
  title: 'container restarted',
  async plan(ctx): Promise<StepPlan> {
    if (ctx.state.changes.length) return { action: 'change', summary: `restart ${ctx.host.container} (stop timeout ${STOP_TIMEOUT_S}s) to load the new settings` };
    const wrong = ctx.state.facts.horizon ? mismatches(hostSettings(ctx).expect, ctx.state.facts.horizon) : ['unknown'];
    if (wrong.length) {
      ctx.state.needsRestart = true;
      return { action: 'change', summary: `restart ${ctx.host.container}: the file is already patched but the running Horizon still has ${wrong.join('; ')}` };
    }
    return { action: 'none', reason: 'no change: Horizon already runs with this backend' };
  },
  async apply(ctx) {
    // A container someone stopped since the preflight is theirs to start: do not race them.
    const now = await ctx.engine.inspect(ctx.host.container);
    if (now?.state !== 'running') {
      throw new HostError(ctx.host.name, `container '${ctx.host.container}' is ${now ? now.state : 'gone'} now (it was running at preflight): someone else is working on this host; not restarting it`);
    }
    ctx.state.restarted = true;
    ctx.run.journal?.append({ type: 'restart', host: ctx.host.name, container: ctx.host.container, stage: 'apply' });
    await ctx.engine.restart(ctx.host.container, STOP_TIMEOUT_S);
    return `restarted ${ctx.host.container}`;
  },
  async rollback(ctx) {
    if (!ctx.state.restarted) return 'not restarted';
    const before = ctx.state.facts.horizon!.settings!;
    return restartOnPrevious(ctx, (facts) => mismatches({ sessionEngine: before.sessionEngine, cacheBackend: before.cache.backend ?? undefined, location: before.cache.location }, facts));
  },
};

/**
 * Restart a host on its restored settings, wait for the health gate, and ask Django whether the
 * previous backend is effective again (`wrong` lists what differs). Used by the automatic rollback
 * and by `sessionctl rollback`.
 */
export async function restartOnPrevious(ctx: RestartTarget, wrong: (facts: HorizonFacts) => string[]): Promise<string> {
  const byHand = `by hand on ${ctx.host.name}: check 'docker logs ${ctx.host.container}', then 'docker restart ${ctx.host.container}'`;
  ctx.run.journal?.append({ type: 'restart', host: ctx.host.name, container: ctx.host.container, stage: 'rollback' });
  await ctx.engine.restart(ctx.host.container, STOP_TIMEOUT_S);
  const { note: health, facts } = await healthGate(ctx).catch((err: Error) => {
    throw new HostError(ctx.host.name, `restarted on the restored settings but ${detailFor(err, ctx.host.name)}; ${byHand}`);
  });
  const differs = wrong(facts);
  if (differs.length) throw new HostError(ctx.host.name, `restarted, but the previous backend is not effective again: ${differs.join('; ')}`);
  return `restarted on the previous backend (${facts.settings!.sessionEngine.split('.').pop()}${facts.settings!.cache.backend ? ` + ${facts.settings!.cache.backend}` : ''}); ${health}`;
}

export const healthGateStep: HostStep = {
  scope: 'host',
  title: 'healthy again (Docker health, login page 200)',
  async plan(ctx) {
    return restartPlanned(ctx) ? { action: 'check', summary: `wait up to ${ctx.run.timeouts.health}s for health and ${ctx.host.healthUrl}` } : { action: 'none', reason: 'not restarted' };
  },
  async apply(ctx) {
    const { note, facts } = await healthGate(ctx);
    ctx.state.afterRestart = facts;
    return note;
  },
};

export const verifySettings: HostStep = {
  scope: 'host',
  title: 'new backend effective in the running Horizon',
  async plan(ctx) {
    return restartPlanned(ctx) ? { action: 'check', summary: 'ask Django in the restarted container what it resolved' } : { action: 'none', reason: 'not restarted' };
  },
  apply: verifyEffective,
};
