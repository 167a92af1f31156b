import { readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { HostError } from '../errors.js';
import { hostSettings } from './settings.js';
import type { ClientLibrary, HostSettings, OwnModule } from '../backends/types.js';
import { asset } from '../util/assets.js';
import { pin, wheelhouseVersion, type InstalledLibrary, type LibraryAfterRun, type LibraryPin } from '../backends/libraries.js';
import { requirementOf } from '../backends/compat.js';
import { distroCandidate, libraryFit, wheelhouseFit } from './library-fit.js';
import { pythonJson } from '../facts/horizon.js';
import { sessionModules, type LibraryAnswer } from '../facts/libraries.js';
import { tail } from '../transport/ssh.js';
import { FILE_LIMITS, listLocalFiles, readLocalFile } from '../util/files.js';
import { hostStep, type HostContext } from './types.js';

const INSTALL_TIMEOUT_MS = 600_000;

/** The pip requirement: the range the container's Django, Python and redis-py accept (backends/compat.ts), or the pinned version. */
function requirement(ctx: HostContext, library: ClientLibrary): string {
  return requirementOf(libraryFit(ctx, library), ctx.run.desired.install.version);
}

/** The interpreter Horizon runs on (Kolla's venv, else the system Python). */
function python(ctx: HostContext): string {
  return ctx.facts.horizon!.executable || 'python3';
}

/** Arguments of `pip install`, then `more` (options and the requirement). */
function pipInstallArgs(ctx: HostContext, ...more: string[]): string[] {
  const args = ['install', '--no-input', '--disable-pip-version-check'];
  if (ctx.facts.horizon!.externallyManaged) args.push('--break-system-packages');
  return [...args, ...more];
}

async function execIn(ctx: HostContext, argv: string[], what: string, stdin?: Buffer): Promise<string> {
  const res = await ctx.engine.exec(ctx.host.container, argv, { timeoutMs: INSTALL_TIMEOUT_MS, ...(stdin ? { stdin } : {}) });
  if (res.code !== 0) {
    throw new HostError(ctx.host.name, `${what} failed (exit ${res.code}): ${res.display}\n${tail(Buffer.concat([res.stdout, res.stderr]))}`);
  }
  return res.stdout.toString('utf8');
}

async function installPip(ctx: HostContext, req: string): Promise<void> {
  const { indexUrl, proxy } = ctx.run.desired.install;
  // Either may carry credentials: pip reads them from its environment, sent on stdin (argv shows in ps and sudo's log).
  const env: Record<string, string> = {};
  const trusted: string[] = [];
  if (indexUrl) {
    env.PIP_INDEX_URL = indexUrl;
    if (indexUrl.startsWith('http://')) trusted.push('--trusted-host', new URL(indexUrl).hostname);
  }
  if (proxy) env.PIP_PROXY = proxy;
  const args = pipInstallArgs(ctx, ...trusted, req);
  if (Object.keys(env).length === 0) await execIn(ctx, [python(ctx), '-m', 'pip', ...args], 'pip install');
  else await execIn(ctx, [python(ctx), '-c', asset('src/steps/python/pip_env.py'), ...args], 'pip install', Buffer.from(JSON.stringify(env)));
}

/**
 * Offline: the wheels go into the container over this host's connection, into a private folder
 * wheelhouse.py makes for this run (as root) and removes after pip --no-index.
 */
async function installWheelhouse(ctx: HostContext, req: string): Promise<void> {
  const dir = ctx.run.desired.install.wheelhouse;
  if (!dir) throw new HostError(ctx.host.name, 'install.method is wheelhouse but no wheelhouse folder is set (--wheelhouse PATH)');
  const wheels = await listLocalFiles(dir, '.whl', 'the wheelhouse', FILE_LIMITS.wheel);
  if (wheels.length === 0) throw new HostError(ctx.host.name, `no .whl files in the wheelhouse ${dir}`);
  // One exec carries every wheel (name -> base64 on stdin): no file name or byte reaches argv.
  const bundle: Record<string, string> = {};
  for (const wheel of wheels) bundle[basename(wheel)] = (await readLocalFile(join(dir, wheel), `wheel ${join(dir, wheel)}`, FILE_LIMITS.wheel)).toString('base64');
  const pip = [python(ctx), '-m', 'pip', ...pipInstallArgs(ctx)];
  const res = await pythonJson<{ code: number; output: string }>(ctx.host.name, ctx.engine, ctx.host.container, 'steps/python/wheelhouse.py', { wheels: bundle, pip, requirement: req }, {
    user: 'root',
    timeoutMs: INSTALL_TIMEOUT_MS,
  });
  if (res.code !== 0) {
    const argv = [...pip, '--no-index', '--find-links', '<private folder>', req].join(' ');
    throw new HostError(ctx.host.name, `pip install from the wheelhouse (${wheels.length} wheel(s)) failed (exit ${res.code}): ${argv}\n${tail(Buffer.from(res.output))}`);
  }
}

/** Distro images: the distribution's package (its version follows the distro's Django). */
async function installDistro(ctx: HostContext, pkg: string): Promise<void> {
  const probe = await ctx.engine.exec(ctx.host.container, ['sh', '-c', 'command -v apt-get || command -v dnf || command -v yum']);
  const manager = probe.stdout.toString().trim();
  if (manager.endsWith('apt-get')) {
    await execIn(ctx, ['apt-get', 'update', '-qq'], 'apt-get update');
    await execIn(ctx, ['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'install', '-y', '-qq', '--no-install-recommends', pkg], 'apt-get install');
  } else if (manager) {
    await execIn(ctx, [manager, 'install', '-y', pkg], `${basename(manager)} install`);
  } else {
    throw new HostError(ctx.host.name, 'install.method is distro but the container has neither apt-get nor dnf/yum');
  }
}

/** The version an install will put in the container, as exactly as it is known before the install. */
async function installPin(ctx: HostContext, library: ClientLibrary): Promise<LibraryPin | null> {
  const django = ctx.facts.horizon!.settings!.django;
  const { version, method, wheelhouse } = ctx.run.desired.install;
  if (version) return pin(library.package, version, 'inventory');
  if (method === 'wheelhouse' && wheelhouse) {
    const files = await readdir(wheelhouse).catch(() => [] as string[]);
    const found = wheelhouseVersion(files, requirement(ctx, library));
    if (found) return pin(library.package, found, 'wheelhouse');
  }
  return pin(library.package, library.knownFit(django), 'known', { range: requirementOf(libraryFit(ctx, library)), django });
}

/**
 * Every client library the target backend imports on this host, as it will be after the run: the
 * one this step installs lands in the container layer; the others stay where the facts found them.
 */
async function librariesAfterRun(ctx: HostContext, wanted: HostSettings): Promise<LibraryAfterRun[]> {
  const hz = ctx.facts.horizon!;
  const { library, expect } = wanted;
  const modules = [
    ...new Set([...(library ? [library.module] : []), ...sessionModules({ sessionEngine: expect.sessionEngine, cacheBackend: expect.cacheBackend, databaseEngine: expect.database?.engine }, hz.modules)]),
  ];
  const own = ownModuleToInstall(ctx, wanted);
  const ownAfterRun: LibraryAfterRun[] = own
    ? [{ module: own.module, origin: 'container layer', installs: true, pin: null, why: `sessionctl's own module, not on PyPI: copy ${own.source} into the image's site-packages` }]
    : [];
  return ownAfterRun.concat(await Promise.all(
    modules.map(async (module): Promise<LibraryAfterRun> => {
      if (library?.module === module && !hz.modules[module]) {
        const p = await installPin(ctx, library);
        return { module, origin: 'container layer', installs: true, pin: p, ...(p ? {} : { why: 'the pinned version is not a plain version' }) };
      }
      const fact = ctx.facts.libraries?.[module];
      if (!fact) return { module, origin: 'unknown', installs: false, pin: null, why: 'no facts about it' };
      if (fact.origin === 'image') return { module, origin: 'image', installs: false, pin: null };
      if (fact.origin === 'container layer') {
        // Baked as what imports now: pip's own name and version for it, else the library's.
        const p = fact.dist ? pin(fact.dist.name, fact.dist.version, 'installed') : library?.module === module && fact.version ? pin(library.package, fact.version, 'installed') : null;
        return { module, origin: 'container layer', installs: false, pin: p, ...(p ? {} : { why: 'no dist-info or egg-info found for it' }) };
      }
      if (fact.origin === 'missing') return { module, origin: 'unknown', installs: false, pin: null, why: `it does not import and this run does not install it (${fact.why ?? 'no reason given'})` };
      return { module, origin: 'unknown', installs: false, pin: null, why: fact.why ?? 'unknown' };
    }),
  ));
}

/** sessionctl's own module, when the settings need it and this version does not import yet. */
function ownModuleToInstall(ctx: HostContext, wanted: HostSettings): OwnModule | undefined {
  const own = wanted.ownModule;
  return own && ctx.facts.horizon?.modules[own.module] !== own.version ? own : undefined;
}

const OWN_NOTE = "sessionctl's own module, as a wheel made in the container, pip --no-index --no-deps";

/** The own module through the container's pip (needs pip whatever install.method says). */
async function installOwn(ctx: HostContext, own: OwnModule): Promise<string> {
  const answer = await pythonJson<{ version?: string; error?: string }>(ctx.host.name, ctx.engine, ctx.host.container, 'steps/python/own_module.py', {
    module: own.module,
    version: own.version,
    source: asset(own.source),
    break_system_packages: ctx.facts.horizon!.externallyManaged,
  });
  if (answer.error || answer.version !== own.version) throw new HostError(ctx.host.name, answer.error ?? `${own.module} imports as version ${answer.version}, not ${own.version}`);
  return `${own.module} ${own.version} (${OWN_NOTE})`;
}

/** The client library by install.method, then proven importable by the facts' own read-only script. */
async function installLibrary(ctx: HostContext, library: ClientLibrary): Promise<InstalledLibrary> {
  const method = ctx.run.desired.install.method;
  if (method === 'pip') await installPip(ctx, requirement(ctx, library));
  else if (method === 'wheelhouse') await installWheelhouse(ctx, requirement(ctx, library));
  else await installDistro(ctx, library.distroPackage);
  const answers = await pythonJson<Record<string, LibraryAnswer>>(ctx.host.name, ctx.engine, ctx.host.container, 'libraries.py', { modules: [library.module] });
  const answer = answers[library.module];
  if (!answer || 'error' in answer) {
    throw new HostError(ctx.host.name, `${library.module} still does not import after the ${method} install: ${answer?.error ?? 'no answer'}`);
  }
  return { module: library.module, version: answer.version, dist: answer.dist && { name: answer.dist.name, version: answer.dist.version } };
}

export const installClientLibrary = hostStep({
  title: 'client library importable in the container',
  needs: [],
  gives: ['libraries', 'installed'],
  async plan(ctx) {
    const wanted = hostSettings(ctx);
    const library = wanted.library;
    const gives = { libraries: await librariesAfterRun(ctx, wanted) };
    if (!library) return { action: 'none', reason: 'no change: this backend needs no extra library here', gives };
    const present = ctx.facts.horizon?.modules[library.module];
    const own = ownModuleToInstall(ctx, wanted);
    if (own && !ctx.facts.horizon!.pip) {
      throw new HostError(ctx.host.name, `${own.module} (${OWN_NOTE}) needs pip for ${ctx.facts.horizon!.executable || 'python3'} in the container, and it is not installed`);
    }
    if (present && own) return { action: 'change', summary: `install ${own.module} ${own.version} (${OWN_NOTE}) into the container's writable layer; ${library.module} ${present} already imports`, gives };
    if (present) return { action: 'none', reason: `no change: ${library.module} ${present} already imports`, gives };
    const method = ctx.run.desired.install.method;
    if (method !== 'distro') {
      // Known from the facts, so a container without pip fails the plan instead of the rollout.
      if (!ctx.facts.horizon!.pip) {
        throw new HostError(
          ctx.host.name,
          `${library.module} is missing and pip is not installed for ${ctx.facts.horizon!.executable || 'python3'} in the container; ` +
            `use --install-method distro, or build ${library.module} into the Horizon image`,
        );
      }
    }
    // Refused here when the source holds no fitting version: nothing is installed or written.
    const source = method === 'wheelhouse' ? await wheelhouseFit(ctx, library) : method === 'distro' ? await distroCandidate(ctx, library) : 'it chooses in that range';
    const fit = libraryFit(ctx, library);
    const why = fit.because.length ? ` (${fit.because.join('; ')})` : '';
    // Quoted as a shell would need it: the range is one argument to pip.
    const what = method === 'distro' ? `${library.distroPackage}, for ${requirement(ctx, library)}` : `'${requirement(ctx, library)}'`;
    return {
      action: 'change',
      summary: `install ${what}${why}${own ? ` and ${own.module} ${own.version} (${OWN_NOTE})` : ''} into the container's writable layer ` +
        `(${method}: ${source}; kept across restarts; recreating the container loses it: bake it into the image for upgrades)`,
      gives,
    };
  },
  async apply(ctx) {
    const wanted = hostSettings(ctx);
    const library = wanted.library!;
    const own = ownModuleToInstall(ctx, wanted);
    const method = ctx.run.desired.install.method;
    const needsLibrary = !ctx.facts.horizon?.modules[library.module];
    const what = [
      ...(needsLibrary ? [`${method === 'distro' ? library.distroPackage : requirement(ctx, library)} (${method})`] : []),
      ...(own ? [`${own.module} ${own.version}`] : []),
    ].join(' and ');
    ctx.run.journal?.append({ type: 'package', host: ctx.host.name, status: 'installing', what });
    // The own module alone has no dist: no pip name an image build could use (librariesAfterRun says what to do instead).
    const installed: InstalledLibrary = needsLibrary ? await installLibrary(ctx, library) : { module: own!.module, version: own!.version, dist: null };
    const done = [...(needsLibrary ? [`${library.module} ${installed.version} (${method})`] : []), ...(own ? [await installOwn(ctx, own)] : [])].join(' and ');
    ctx.run.journal?.append({ type: 'package', host: ctx.host.name, status: 'installed', what: done });
    return { note: `installed ${done}; left in place on rollback (harmless)`, gives: { installed } };
  },
});
