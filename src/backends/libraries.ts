/**
 * Client libraries and the container's writable layer. What pip or apt installs into a running
 * horizon container lives in its writable layer: `docker restart` keeps it, but a container
 * recreated from its image (kolla-ansible upgrade or deploy) lacks it, and Horizon then fails on
 * every request that needs a session. Here: which of the target backend's libraries will be only
 * in that layer after a run, and the kolla-build template override that bakes them into the image.
 */

/** The exact pip requirement that bakes a library's version into the image, and where that version comes from. */
export interface LibraryPin {
  /** pip's name, e.g. django-redis. */
  package: string;
  version: string;
  /**
   * installed: what imports in the container (before the run, or what the run installed);
   * inventory: install.version; wheelhouse: the newest fitting wheel there, which pip takes;
   * known: the newest version known to fit this Django (pip only chooses when it installs).
   */
  from: 'installed' | 'inventory' | 'wheelhouse' | 'known';
  /** With `known`: the range pip chooses in, and the Django it has to fit. */
  range?: string;
  django?: string;
}

/** A client library the target backend imports on one host, as it will be after the run. */
export interface LibraryAfterRun {
  /** Import name, e.g. django_redis. */
  module: string;
  origin: 'image' | 'container layer' | 'unknown';
  /** This run installs it (into the container layer). */
  installs: boolean;
  /** For a library in the container layer: what bakes it into the image (null: pip's name for it is unknown). */
  pin: LibraryPin | null;
  /** Why the origin is unknown, or why there is no pin. */
  why?: string;
}

/** What imports after install-client-library's install, as libraries.py found it. */
export interface InstalledLibrary {
  module: string;
  version: string;
  /** The distribution pip or apt installed (null: no metadata found). */
  dist: { name: string; version: string } | null;
}

/** A library that will be only in a host's container layer. */
export interface LayerOnlyLibrary {
  host: string;
  module: string;
  /** This run installs it; otherwise pip or apt put it there earlier. */
  installs: boolean;
  /** e.g. django-redis==5.4.0 (null: pip's name for it is unknown). */
  requirement: string | null;
  from: LibraryPin['from'] | null;
}

/** One kolla-build --template-override file: the pip packages it adds, for the hosts whose image needs them. */
export interface ImageOverride {
  hosts: string[];
  packages: string[];
  template: string;
}

/** What the operator is told before confirming, and what the report keeps. */
export interface LibraryDurability {
  layerOnly: LayerOnlyLibrary[];
  overrides: ImageOverride[];
  warnings: string[];
}

const NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/;
const VERSION = /^[A-Za-z0-9][A-Za-z0-9.+!_-]*$/;

/**
 * Pure: a pin from a name and version, or null when either is not plain PEP 440/508 text (they
 * can come from a container's metadata, and the override is Jinja the operator runs kolla-build on).
 */
export function pin(packageName: string, version: string, from: LibraryPin['from'], extra: Pick<LibraryPin, 'range' | 'django'> = {}): LibraryPin | null {
  return NAME.test(packageName) && VERSION.test(version) ? { package: packageName, version, from, ...extra } : null;
}

/** Pure: the kolla-build template override that adds pip packages to the horizon image (its Dockerfile's customizable("pip_packages") block). */
export function kollaPipOverride(packages: string[]): string {
  return ['{% extends parent_template %}', `{% set horizon_pip_packages_append = [${packages.map((p) => `'${p}'`).join(', ')}] %}`, ''].join('\n');
}

/** PEP 503: names compare lowercase with runs of -_. as one. */
export function normalisePackage(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/** Pure: compare release versions part by part as numbers ('5.10' > '5.9'; '5.4' == '5.4.0'). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split('.').map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d) return Math.sign(d);
  }
  return 0;
}

/**
 * Pure: does a release version satisfy a specifier list such as '>=5.4,<7' or '==5.4.0' (the
 * forms ClientLibrary.requirement writes)? Pre-releases never do, as with pip by default.
 */
export function satisfies(version: string, spec: string): boolean {
  if (!/^\d+(\.\d+)*$/.test(version)) return false;
  return spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .every((clause) => {
      const m = /^(==|!=|>=|<=|>|<)\s*(\d+(?:\.\d+)*)$/.exec(clause);
      if (!m) return false;
      const c = compareVersions(version, m[2]!);
      return { '==': c === 0, '!=': c !== 0, '>=': c >= 0, '<=': c <= 0, '>': c > 0, '<': c < 0 }[m[1] as '==']!;
    });
}

/** Pure: the version pip takes from a folder of wheels for a requirement: the newest that fits (null: none). */
export function wheelhouseVersion(files: string[], requirement: string): string | null {
  const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*)$/.exec(requirement);
  if (!m) return null;
  const wanted = normalisePackage(m[1]!);
  const versions = files
    .filter((f) => f.endsWith('.whl'))
    .map((f) => f.slice(0, -4).split('-'))
    .filter(([name, version]) => name && version && normalisePackage(name) === wanted && satisfies(version, m[2]!))
    .map(([, version]) => version!);
  return versions.sort(compareVersions).at(-1) ?? null;
}

const requirementOf = (p: LibraryPin) => `${p.package}==${p.version}`;

/**
 * Pure: from each host's libraries after the run, those that will be only in the container layer,
 * the kolla-build override(s) that bake them into the image (one per distinct set of packages:
 * usually one, as one image serves the fleet), and what to tell the operator before confirming.
 */
export function libraryDurability(hosts: { host: string; libraries: LibraryAfterRun[] }[]): LibraryDurability {
  const layerOnly: LayerOnlyLibrary[] = hosts.flatMap(({ host, libraries }) =>
    libraries
      .filter((l) => l.origin === 'container layer')
      .map((l) => ({ host, module: l.module, installs: l.installs, requirement: l.pin && requirementOf(l.pin), from: l.pin?.from ?? null })),
  );
  const groups = new Map<string, string[]>();
  for (const { host } of hosts) {
    const packages = [...new Set(layerOnly.filter((l) => l.host === host && l.requirement).map((l) => l.requirement!))].sort();
    if (packages.length) groups.set(packages.join(' '), [...(groups.get(packages.join(' ')) ?? []), host]);
  }
  const overrides = [...groups].map(([key, members]) => {
    const packages = key.split(' ');
    return { hosts: members, packages, template: kollaPipOverride(packages) };
  });

  const warnings: string[] = [];
  const byModule = new Map<string, LayerOnlyLibrary[]>();
  for (const l of layerOnly) byModule.set(`${l.module} ${l.installs}`, [...(byModule.get(`${l.module} ${l.installs}`) ?? []), l]);
  for (const group of byModule.values()) {
    const { module, installs } = group[0]!;
    warnings.push(
      `${module} will be only in the horizon container's writable layer on ${group.map((l) => l.host).join(', ')} ` +
        `(${installs ? 'this run installs it there' : 'pip or apt added it after the container was created'}): recreating the container ` +
        "(kolla-ansible upgrade or deploy) loses it, and Horizon then fails on every request that needs a session. Bake it into the image: " +
        `kolla-build --template-override FILE with ${overrides.length > 1 ? 'the overrides' : 'the override'} below`,
    );
  }
  if (overrides.some((o) => o.packages.some((p) => normalisePackage(p.split('==')[0]!) !== 'django-redis'))) {
    warnings.push("kolla-build installs these under openstack/requirements' upper-constraints: a package pinned there must use the version pinned there");
  }
  const guesses = new Map<string, string>();
  for (const { libraries } of hosts) {
    for (const l of libraries) {
      if (l.origin !== 'container layer' || l.pin?.from !== 'known') continue;
      guesses.set(
        requirementOf(l.pin),
        `${requirementOf(l.pin)} is the newest ${l.pin.package} known to fit Django ${l.pin.django}; pip chooses in ${l.pin.range} when it installs: ` +
          'the report after apply names the version installed',
      );
    }
  }
  warnings.push(...guesses.values());
  for (const { host, libraries } of hosts) {
    for (const l of libraries) {
      if (l.origin === 'container layer' && !l.pin) warnings.push(`${host}: ${l.module} has no pip name or version sessionctl can use (${l.why ?? 'no metadata'}): add it to the override by hand`);
      if (l.origin === 'unknown') warnings.push(`${host}: cannot tell whether ${l.module} is in the image or only in the container's writable layer: ${l.why ?? 'unknown'}`);
    }
  }
  return { layerOnly, overrides, warnings };
}
