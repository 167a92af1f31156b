import { HostError } from '../errors.js';
import { hostSettings } from './settings.js';
import { libraryFit, presentMisfits } from './library-fit.js';
import { describeFit } from '../backends/compat.js';
import { alsoAnswer, hostsBySecretKey, loginUrl, runCheck, runPython } from '../facts/horizon.js';
import { HOST_BACKUPS_DIR } from '../transport/hostfs.js';
import { fleetStep, hostStep, type HostContext } from './types.js';

/** Facts gathered before planning; a host whose facts failed fails here, at the first step. */
function facts(ctx: HostContext) {
  const f = ctx.facts;
  if (f.error) throw new HostError(ctx.host.name, f.error.message);
  return f;
}

export const containerHealthy = hostStep({
  title: 'horizon container running and healthy',
  needs: [],
  gives: [],
  async plan(ctx) {
    const c = facts(ctx).container!;
    if (c.health === 'unhealthy') throw new HostError(ctx.host.name, `container '${c.name}' is ${c.state} but unhealthy; fix it before switching`);
    if (c.health === 'starting') {
      // Just (re)started and Docker has not run its check yet: ask the login page ourselves.
      const res = await runPython(ctx.engine, ctx.host.container, 'login_page.py', { url: loginUrl(ctx.host.healthUrl, facts(ctx).horizon) });
      const answer = res.stdout.toString().trim();
      if (answer !== '200') throw new HostError(ctx.host.name, `container '${c.name}' is still starting and its login page answers ${answer || 'nothing'}; try again when it is healthy`);
      return { action: 'none', reason: `ok: ${c.name} running, Docker health still starting, login page 200` };
    }
    return { action: 'none', reason: `ok: ${c.name} ${c.state}${c.health === 'none' ? ' (no healthcheck)' : `, ${c.health}`}` };
  },
});

export const settingsLayout = hostStep({
  title: 'settings layout detected',
  needs: [],
  gives: [],
  async plan(ctx) {
    const layout = facts(ctx).layout!;
    if (layout.layout === 'plain') {
      throw new HostError(
        ctx.host.name,
        'no Kolla settings layout found (no /var/lib/kolla/config_files mount with Horizon files); ' +
          "plain layouts are not switched yet: sessionctl only patches files Kolla copies in at start",
      );
    }
    return { action: 'none', reason: `ok: ${layout.layout}, patching ${layout.customFile}` };
  },
});

export const djangoVersion = hostStep({
  title: 'Django version read',
  needs: [],
  gives: [],
  async plan(ctx) {
    const f = facts(ctx);
    const django = f.horizon?.settings?.django;
    if (!django) throw new HostError(ctx.host.name, `Horizon's settings do not load: ${f.horizon?.settingsError ?? 'unknown error'}`);
    const wanted = hostSettings(ctx);
    const { library, expect } = wanted;
    // What the container already has must fit too (the version table, backends/compat.ts): Django
    // would only refuse it once the new settings load. First here, before the backend's own check uses it.
    const misfits = presentMisfits(ctx, wanted);
    if (misfits.length) throw new HostError(ctx.host.name, `${misfits.join('; ')}; nothing was changed`);
    let needs = 'no client library needed';
    if (library) {
      try {
        needs = `client library ${describeFit(libraryFit(ctx, library), ctx.run.desired.install.version)}`;
      } catch (err) {
        throw err instanceof HostError ? err : new HostError(ctx.host.name, (err as Error).message);
      }
    }
    const reused = f.horizon!.fingerprint?.reused ? ' (settings unchanged since an earlier run: its answer reused)' : '';
    return { action: 'none', reason: `ok: Django ${django}, Python ${f.horizon!.python}${reused}; ${(expect.cacheBackend ?? expect.sessionEngine).split('.').pop()}, ${needs}` };
  },
});

/**
 * The backend's check from inside the container, judged by the backend. `fromFacts`: the answer the
 * facts probe got when it ran the check in its own process, if it did.
 */
async function backendCheck(ctx: HostContext, fromFacts: boolean): Promise<{ note: string; warning: string | null }> {
  const { target } = ctx.run.desired;
  const check = target.reachCheck;
  if (!check) return { note: target.reached(ctx.host.name, undefined), warning: null };
  // Without an answer from the probe it is asked on its own, which also reports what went wrong.
  const answer =
    (fromFacts ? alsoAnswer(ctx.facts.horizon, check.name ?? check.script) : undefined) ??
    (await runCheck(ctx, check));
  return { note: target.reached(ctx.host.name, answer), warning: target.warning?.(answer) ?? null };
}

export const backendReachable = hostStep({
  title: 'new backend reachable from inside the container',
  needs: [],
  gives: ['backendWarning'],
  async plan(ctx) {
    const { note, warning } = await backendCheck(ctx, true);
    return { action: 'none', reason: note, gives: { backendWarning: warning } };
  },
});

/** After the driver install: log in with it and check privileges (preflight could only try the port). */
export const backendLogin = hostStep({
  title: 'logged in with the installed driver',
  needs: [],
  gives: [],
  async plan(ctx) {
    const library = hostSettings(ctx).library;
    if (!library || ctx.facts.horizon?.modules[library.module]) return { action: 'none', reason: 'ok: the driver was there at preflight, which logged in with it' };
    return { action: 'check', summary: 'log in with the container\'s driver and check the privileges the migration needs' };
  },
  async apply(ctx) {
    const { note } = await backendCheck(ctx, false);
    if (note.includes('no driver')) throw new HostError(ctx.host.name, 'the database driver still does not import after the install');
    return note;
  },
});

/** Room for the backups and the rewritten file, with a margin. */
const MIN_FREE_BYTES = 16 * 1024 * 1024;

export const diskSpace = hostStep({
  title: 'disk space for the backup',
  needs: [],
  gives: [],
  async plan(ctx) {
    const free = ctx.facts.readUnderLock?.free ?? (await ctx.files.freeBytes(HOST_BACKUPS_DIR));
    if (free < MIN_FREE_BYTES) {
      throw new HostError(ctx.host.name, `only ${Math.floor(free / 1024)} KiB free for ${HOST_BACKUPS_DIR}; need ${MIN_FREE_BYTES / 1024 / 1024} MiB for backups`);
    }
    return { action: 'none', reason: `ok: ${Math.floor(free / 1024 / 1024)} MiB free` };
  },
});

export const secretKeyConsistent = fleetStep({
  title: 'same SECRET_KEY on every host',
  needs: [],
  gives: [],
  async plan(fleet) {
    const byHash = hostsBySecretKey(fleet.hosts.map((h) => ({ host: h.host.name, sha256: h.facts.horizon?.settings?.secretKeySha256 ?? null })));
    if (byHash.size > 1) {
      throw new Error(
        `SECRET_KEY differs between hosts (${[...byHash.entries()].map(([k, hs]) => `${hs.join(',')}: sha256 ${k}`).join('; ')}): ` +
          'shared sessions would break when the load balancer moves a user; make the key identical first',
      );
    }
    return { action: 'none', reason: `ok: ${fleet.hosts.length} host(s) share one SECRET_KEY` };
  },
});
