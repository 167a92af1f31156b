/**
 * The lab's images, built from nothing (debootstrap + `docker import`, then Dockerfiles) and
 * tagged by a hash of their inputs, so a re-run reuses them and any change rebuilds.
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { LabError, pipe, run } from './exec.js';

export type Flavour = 'zed' | 'h25' | 'k2026';
type Suite = 'bookworm' | 'trixie';

/**
 * Horizon flavours: `zed` = Debian 12 (Horizon 23, Django 3.2, Apache), `h25` = Debian 13 (Horizon 25,
 * Django 4.2, Apache), `k2026` = Debian 13 laid out as Kolla 2025.2/2026.1 runs it (uWSGI on 8080, the
 * Kolla venv, django_redis in the image, Valkey Sentinel beside the lab's services).
 */
export const FLAVOURS: Record<Flavour, { suite: Suite; dockerfile: string; valkey: boolean }> = {
  zed: { suite: 'bookworm', dockerfile: 'Dockerfile', valkey: false },
  h25: { suite: 'trixie', dockerfile: 'Dockerfile', valkey: false },
  k2026: { suite: 'trixie', dockerfile: 'Dockerfile.k2026', valkey: true },
};
export const isFlavour = (s: string): s is Flavour => Object.hasOwn(FLAVOURS, s);

const MIRROR = process.env.SESSIONCTL_LAB_MIRROR ?? 'http://deb.debian.org/debian';
/** Bump to rebuild every base image after a change to how bases are made. */
const BASE_RECIPE = 'debootstrap --variant=minbase; lean dpkg/apt config; v1';
export const REPO = 'sessionctl-lab';

export interface LabImages {
  horizon: string;
  dash: string;
  jump: string;
  services: string;
  /** HAProxy and the load generator, started by the tests that need them (labLoadBalancer). */
  lb: string;
  /** Only for flavours with Valkey (k2026). */
  valkey?: string;
}

type Log = (line: string) => void;

function hashDir(dir: string, h: ReturnType<typeof createHash>): void {
  const walk = (d: string): string[] =>
    readdirSync(d, { withFileTypes: true })
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : [join(d, e.name)]));
  for (const file of walk(dir)) {
    const executable = (statSync(file).mode & 0o111) !== 0;
    h.update(`${relative(dir, file)}\0${executable ? 'x' : '-'}\0`);
    h.update(readFileSync(file));
    h.update('\0');
  }
}

function digest(parts: string[], dir?: string): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(`${p}\0`);
  if (dir) hashDir(dir, h);
  return h.digest('hex').slice(0, 16);
}

function baseTag(imagesDir: string, suite: Suite): string {
  return `${REPO}/base:${suite}-${digest([BASE_RECIPE, suite, MIRROR], join(imagesDir, 'base'))}`;
}

function imageTag(imagesDir: string, name: string, suite: Suite, prefix = '', dockerfile = 'Dockerfile'): string {
  const base = baseTag(imagesDir, suite);
  return `${REPO}/${name}:${prefix}${digest([name, base, dockerfile], join(imagesDir, name))}`;
}

/** The tags the lab's images have for these inputs; computed from the files alone. */
export function labImageTags(imagesDir: string, flavour: Flavour): LabImages {
  const f = FLAVOURS[flavour];
  return {
    horizon: imageTag(imagesDir, 'horizon', f.suite, `${flavour}-`, f.dockerfile),
    dash: imageTag(imagesDir, 'dash', 'bookworm'),
    jump: imageTag(imagesDir, 'jump', 'bookworm'),
    services: imageTag(imagesDir, 'services', 'bookworm'),
    lb: imageTag(imagesDir, 'lb', 'bookworm'),
    ...(f.valkey ? { valkey: imageTag(imagesDir, 'valkey', 'trixie') } : {}),
  };
}

export async function imageId(tag: string): Promise<string | undefined> {
  const r = await run('docker', ['image', 'inspect', '--format', '{{.Id}}', tag], { allowFailure: true });
  return r.code === 0 ? r.stdout.trim() : undefined;
}

async function buildBase(imagesDir: string, suite: Suite, log: Log): Promise<void> {
  const tag = baseTag(imagesDir, suite);
  if (await imageId(tag)) return;
  const t0 = Date.now();
  log(`building ${tag} (debootstrap ${suite})`);
  const root = mkdtempSync(`/var/tmp/sessionctl-lab-${suite}-`);
  try {
    await run('debootstrap', ['--variant=minbase', suite, root, MIRROR], { timeoutMs: 15 * 60_000 });
    cpSync(join(imagesDir, 'base', '01-lab-lean'), join(root, 'etc/dpkg/dpkg.cfg.d/01-lab-lean'));
    cpSync(join(imagesDir, 'base', '99-lab-apt'), join(root, 'etc/apt/apt.conf.d/99-lab-apt'));
    for (const d of ['usr/share/doc', 'usr/share/man', 'usr/share/info', 'var/lib/apt/lists', 'var/cache/apt']) {
      rmSync(join(root, d), { recursive: true, force: true });
    }
    await pipe(
      { cmd: 'tar', args: ['-C', root, '--numeric-owner', '-c', '.'] },
      { cmd: 'docker', args: ['import', '--change', 'ENV LANG=C.UTF-8', '-', tag] },
      { timeoutMs: 10 * 60_000 },
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  log(`built ${tag} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

async function build(imagesDir: string, tag: string, name: string, suite: Suite, log: Log, dockerfile = 'Dockerfile'): Promise<void> {
  if (await imageId(tag)) return;
  const t0 = Date.now();
  log(`building ${tag}`);
  const tail: string[] = [];
  const r = await run(
    'docker',
    ['build', '--force-rm', '--build-arg', `BASE=${baseTag(imagesDir, suite)}`, '--label', `${REPO}.image=${name}`, '-f', join(imagesDir, name, dockerfile), '-t', tag, join(imagesDir, name)],
    {
      // The classic builder: BuildKit is not part of docker.io 20.10 everywhere.
      env: { ...process.env, DOCKER_BUILDKIT: '0' },
      timeoutMs: 30 * 60_000,
      allowFailure: true,
      onLine: (line) => {
        tail.push(line);
        if (tail.length > 40) tail.shift();
        if (/^Step \d+\/\d+ : /.test(line)) log(`  ${name}: ${line.slice(0, 110)}`);
      },
    },
  );
  if (r.code !== 0) throw new LabError(`building ${tag} failed:\n${tail.join('\n')}`);
  log(`built ${tag} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

/**
 * Builds whatever is missing for labs of these flavours, all at once (the builds wait on the
 * network as much as on the CPUs), each image once, and returns the tags of the first flavour.
 */
export async function ensureImages(imagesDir: string, flavours: Flavour[], log: Log): Promise<LabImages> {
  const suites = [...new Set<Suite>(['bookworm', ...flavours.map((f) => FLAVOURS[f].suite)])];
  await Promise.all(suites.map((s) => buildBase(imagesDir, s, log)));
  const builds = new Map<string, () => Promise<void>>();
  for (const flavour of flavours) {
    const tags = labImageTags(imagesDir, flavour);
    const f = FLAVOURS[flavour];
    builds.set(tags.horizon, () => build(imagesDir, tags.horizon, 'horizon', f.suite, log, f.dockerfile));
    if (tags.valkey) builds.set(tags.valkey, () => build(imagesDir, tags.valkey!, 'valkey', 'trixie', log));
    builds.set(tags.dash, () => build(imagesDir, tags.dash, 'dash', 'bookworm', log));
    builds.set(tags.jump, () => build(imagesDir, tags.jump, 'jump', 'bookworm', log));
    builds.set(tags.services, () => build(imagesDir, tags.services, 'services', 'bookworm', log));
    builds.set(tags.lb, () => build(imagesDir, tags.lb, 'lb', 'bookworm', log));
  }
  await Promise.all([...builds.values()].map((b) => b()));
  return labImageTags(imagesDir, flavours[0]!);
}
