/**
 * The plan's side of backends/compat.ts: the container's facts in, the range a library must be in
 * out, and the sources (wheelhouse, distro package, what is already there) judged by it before
 * anything is installed or written.
 */
import { readdir } from 'node:fs/promises';
import { HostError } from '../errors.js';
import type { ClientLibrary, HostSettings } from '../backends/types.js';
import { aptCandidate, describeFit, fitFor, fits, noFittingVersion, NoFit, pickFitting, presentMisfits as misfits, upstreamOf, wheelVersions, type Fit, type LibraryEnv } from '../backends/compat.js';
import { sessionModules } from '../facts/libraries.js';
import type { HostContext } from './types.js';

/** What decides the ranges on this host, from the facts. */
export function libraryEnv(ctx: HostContext): LibraryEnv {
  const hz = ctx.facts.horizon!;
  return { django: hz.settings!.django, python: hz.python, redisPy: hz.modules.redis ?? null };
}

/** The range this host's container accepts (for what install.method installs); a HostError when none, or when install.version is outside it. */
export function libraryFit(ctx: HostContext, library: ClientLibrary): Fit {
  const row = ctx.run.desired.install.method === 'distro' ? (library.distroFits ?? library.fits) : library.fits;
  let fit: Fit;
  try {
    fit = fitFor(row, libraryEnv(ctx));
  } catch (err) {
    if (err instanceof NoFit) throw new HostError(ctx.host.name, `${err.message}; nothing was changed`);
    throw err;
  }
  const pinned = ctx.run.desired.install.version;
  if (pinned && !fits(fit, pinned)) throw new HostError(ctx.host.name, `install.version ${pinned} does not fit: this container needs ${describeFit(fit)}; nothing was changed`);
  return fit;
}

/** The wheel pip will take from the wheelhouse (file names, PEP 427), or a HostError naming what is there and what is needed. */
export async function wheelhouseFit(ctx: HostContext, library: ClientLibrary): Promise<string> {
  const dir = ctx.run.desired.install.wheelhouse;
  if (!dir) return 'no wheelhouse folder set';
  const files = await readdir(dir).catch(() => [] as string[]);
  const held = wheelVersions(files, library.package);
  const fit = libraryFit(ctx, library);
  const pinned = ctx.run.desired.install.version;
  const chosen = pickFitting(fit, held, pinned);
  if (!chosen) throw new HostError(ctx.host.name, `${noFittingVersion(`the wheelhouse ${dir}`, held, fit, pinned)}; nothing was changed`);
  return `${library.package} ${chosen} there`;
}

/**
 * The candidate apt would install (`apt-cache policy` in the container, read-only), judged by the
 * range. Without package lists (images drop them; the install runs apt-get update first) or
 * without apt, the version is known only once installed: Django's own load decides before any write.
 */
export async function distroCandidate(ctx: HostContext, library: ClientLibrary): Promise<string> {
  const res = await ctx.engine.exec(ctx.host.container, ['sh', '-c', 'command -v apt-cache >/dev/null || exit 3; LC_ALL=C apt-cache policy "$1"', 'sh', library.distroPackage]);
  if (res.code === 3) return 'its version is known once installed';
  const candidate = res.code === 0 ? aptCandidate(res.stdout.toString('utf8')) : null;
  if (!candidate) return 'no candidate in the package lists yet: its version is known once installed';
  const fit = libraryFit(ctx, library);
  const upstream = upstreamOf(candidate);
  if (!pickFitting(fit, [upstream], ctx.run.desired.install.version)) {
    throw new HostError(ctx.host.name, `${noFittingVersion(`the container's package lists (apt-cache policy ${library.distroPackage}: candidate ${candidate})`, [upstream], fit)}; nothing was changed`);
  }
  return `candidate ${candidate}`;
}

/** Libraries the new settings import that are already in the container but do not fit it. */
export function presentMisfits(ctx: HostContext, wanted: HostSettings): string[] {
  const hz = ctx.facts.horizon!;
  const { expect } = wanted;
  const modules = sessionModules({ sessionEngine: expect.sessionEngine, cacheBackend: expect.cacheBackend, databaseEngine: expect.database?.engine }, hz.modules);
  return misfits(modules, hz.modules, libraryEnv(ctx), wanted.ownModule?.module === 'sessionctl_redis_cluster');
}
