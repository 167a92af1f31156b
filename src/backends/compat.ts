/**
 * Which versions of a client library the container's Django, Python and redis-py accept, as one
 * table of rules with where each comes from. The plan asks pip for the range this gives, refuses a
 * wheelhouse, distro package, pinned or present version outside it, and shows the reasons.
 */
import { compareVersions, satisfies } from './libraries.js';

/** What decides the range, as the facts found it in the container. */
export interface LibraryEnv {
  django: string;
  python: string;
  /** redis-py's version (null or absent: it does not import). */
  redisPy?: string | null;
}

/** The libraries the table knows, by pip's name; `redis (cluster)` is redis-py as sessionctl's Redis Cluster module needs it. */
export type LibraryName = 'PyMySQL' | 'mysqlclient' | 'psycopg2-binary' | 'psycopg2' | 'psycopg' | 'pymemcache' | 'django-redis' | 'redis (cluster)';

/** One rule: in containers that match `django`, `python` and `redisPy` (each a specifier; absent: any), `needs` is what works (null: nothing does). */
interface Rule {
  library: LibraryName;
  django?: string;
  python?: string;
  redisPy?: string;
  needs: string | null;
  /** For the plan; {django}, {python}, {redis} stand for the container's versions (major.minor). */
  why: string;
}

// Django's MySQL backend (django/db/backends/mysql/base.py) raises ImproperlyConfigured when
// MySQLdb.version_info is below its floor: 1.3.13 (Django 2.2-3.0), 1.4.0 (3.1-4.1), 1.4.3 (4.2-5.2),
// 2.2.1 (6.0). PyMySQL's install_as_MySQLdb() reports version_info 1.4.0 in 1.0.x and 1.4.6 in 1.1.x
// (pymysql/__init__.py; checked on Debian's 1.0.2 and 1.1.1).
const MYSQL_FLOORS: [django: string, floor: string, pymysql: string | null][] = [
  ['<3.1', '1.3.13', '>=1.0'],
  ['>=3.1,<4.2', '1.4.0', '>=1.0'],
  ['>=4.2,<6.0', '1.4.3', '>=1.1'],
  ['>=6.0', '2.2.1', null],
];

const RULES: Rule[] = [
  ...MYSQL_FLOORS.map(([django, floor, pymysql]): Rule => ({
    library: 'PyMySQL',
    django,
    needs: pymysql,
    why: pymysql
      ? `Django {django} needs mysqlclient>=${floor}; PyMySQL reports that from ${pymysql.slice(2)}`
      : `Django {django} needs mysqlclient>=${floor}, and no PyMySQL release sessionctl knows reports that: install mysqlclient in the image`,
  })),
  ...MYSQL_FLOORS.map(([django, floor]): Rule => ({ library: 'mysqlclient', django, needs: `>=${floor}`, why: `Django {django} needs mysqlclient>=${floor}` })),
  // Django's PostgreSQL backend: psycopg2 >= 2.5.4 before Django 4.2, >= 2.8.4 from 4.2; psycopg 3
  // only from Django 4.2, >= 3.1.8 (docs/ref/databases.txt, "PostgreSQL notes", of each release).
  ...(['psycopg2-binary', 'psycopg2'] as const).flatMap((library): Rule[] => [
    { library, django: '<4.2', needs: '>=2.5.4', why: 'Django {django} needs psycopg2>=2.5.4' },
    { library, django: '>=4.2', needs: '>=2.8.4', why: 'Django {django} needs psycopg2>=2.8.4' },
  ]),
  // psycopg2-binary is wheels only: the first release with wheels for Python 3.11 is 2.9.5, 3.12 2.9.9, 3.13 2.9.10 (its PyPI files).
  { library: 'psycopg2-binary', python: '>=3.11,<3.12', needs: '>=2.9.5', why: 'psycopg2-binary has wheels for Python {python} from 2.9.5' },
  { library: 'psycopg2-binary', python: '>=3.12,<3.13', needs: '>=2.9.9', why: 'psycopg2-binary has wheels for Python {python} from 2.9.9' },
  { library: 'psycopg2-binary', python: '>=3.13', needs: '>=2.9.10', why: 'psycopg2-binary has wheels for Python {python} from 2.9.10' },
  { library: 'psycopg', django: '<4.2', needs: null, why: 'Django {django} does not support psycopg 3, Django 4.2 does' },
  { library: 'psycopg', django: '>=4.2', needs: '>=3.1.8', why: 'Django {django} needs psycopg>=3.1.8' },
  // Django's PyMemcacheCache (3.2+) needs pymemcache >= 3.4.0 (docs/topics/cache.txt); 5 is an untested major.
  { library: 'pymemcache', needs: '>=3.4,<5', why: "Django's PyMemcacheCache needs pymemcache>=3.4" },
  // django-redis's setup.cfg install_requires, release by release: 5.0-5.2 Django>=2.2, redis>=3
  // (5.2: !=4.0.0,!=4.0.1); 5.3-5.4 Django>=3.2; 6.0 Django>=4.2, redis>=4.0.2; 7.0 Django>=5.2,<7,
  // redis>=4.0.2, Python>=3.10 (5.2.0, 5.4.0 and 7.0.0 read from Debian's packages' metadata).
  { library: 'django-redis', django: '<2.2', needs: null, why: 'django-redis 5 needs Django>=2.2, this is {django}' },
  { library: 'django-redis', django: '>=2.2,<3.2', needs: '>=5.0,<5.3', why: 'Django {django}: django-redis 5.3 needs Django>=3.2' },
  { library: 'django-redis', django: '>=3.2,<4.2', needs: '>=5.0,<6', why: 'Django {django}: django-redis 6 needs Django>=4.2' },
  { library: 'django-redis', django: '>=4.2,<5.2', needs: '>=5.4,<7', why: 'Django {django}: supported from django-redis 5.4, and 7 needs Django>=5.2' },
  { library: 'django-redis', django: '>=5.2', needs: '>=5.4,<8', why: 'Django {django}: supported from django-redis 5.4' },
  { library: 'django-redis', redisPy: '<3', needs: null, why: 'redis-py {redis}: django-redis 5 needs redis-py>=3' },
  { library: 'django-redis', redisPy: '>=3,<4', needs: '<6', why: 'redis-py {redis}: django-redis 6 needs redis-py>=4.0.2' },
  { library: 'django-redis', redisPy: '>=4.0.0,<4.0.2', needs: null, why: 'redis-py {redis}: django-redis 5 refuses 4.0.0 and 4.0.1, and 6 needs 4.0.2' },
  { library: 'django-redis', python: '<3.10', needs: '<7', why: 'Python {python}: django-redis 7 needs Python>=3.10' },
  // sessionctl_redis_cluster.py builds redis.cluster.RedisCluster, in redis-py from 4.1.0.
  { library: 'redis (cluster)', needs: '>=4.1', why: 'Redis Cluster needs redis.cluster, in redis-py from 4.1' },
];

/** The range a library must be in for this container, and why (each rule that matched). */
export interface Fit {
  library: LibraryName;
  /** A specifier list such as '>=5.4,<7' ('' : anything). */
  spec: string;
  because: string[];
}

/** Nothing fits: no version of the library works with this container. */
export class NoFit extends Error {}

/** Pure: the release part of a version ('4.2.28' of '4.2.28', '5.0' of '5.0rc1'); '' when none. */
export function releaseOf(version: string): string {
  return /^\d+(\.\d+)*/.exec(version.trim())?.[0] ?? '';
}

const majorMinor = (v: string) => releaseOf(v).split('.').slice(0, 2).join('.');

/** Pure: specifier clauses narrowed to one lower bound, one upper bound and the exclusions inside them. */
export function narrow(clauses: string[]): string | null {
  let lower: [string, boolean] | null = null; // [version, inclusive]
  let upper: [string, boolean] | null = null;
  const not = new Set<string>();
  for (const clause of clauses.flatMap((c) => c.split(',')).map((c) => c.trim()).filter(Boolean)) {
    const m = /^(==|!=|>=|<=|>|<)\s*(\d+(?:\.\d+)*)$/.exec(clause);
    if (!m) throw new Error(`not a version specifier: ${clause}`);
    const [, op, v] = m as unknown as [string, string, string];
    if (op === '!=') not.add(v);
    if (op === '>=' || op === '>' || op === '==') {
      const c = lower ? compareVersions(v, lower[0]) : 1;
      if (c > 0 || (c === 0 && op === '>')) lower = [v, op !== '>'];
    }
    if (op === '<' || op === '<=' || op === '==') {
      const c = upper ? compareVersions(v, upper[0]) : -1;
      if (c < 0 || (c === 0 && op === '<')) upper = [v, op !== '<'];
    }
  }
  if (lower && upper) {
    const c = compareVersions(lower[0], upper[0]);
    if (c > 0 || (c === 0 && !(lower[1] && upper[1]))) return null;
    if (c === 0) return not.has(lower[0]) ? null : `==${lower[0]}`;
  }
  const above = (v: string) => !lower || compareVersions(v, lower[0]) > (lower[1] ? -1 : 0);
  const below = (v: string) => !upper || compareVersions(v, upper[0]) < (upper[1] ? 1 : 0);
  const inside = [...not].filter((v) => above(v) && below(v)).sort(compareVersions);
  return [lower && `${lower[1] ? '>=' : '>'}${lower[0]}`, upper && `${upper[1] ? '<=' : '<'}${upper[0]}`, ...inside.map((v) => `!=${v}`)].filter(Boolean).join(',');
}

/** Pure: the versions of `library` this container accepts; throws NoFit (with every reason) when none does. */
export function fitFor(library: LibraryName, env: LibraryEnv): Fit {
  const vars: Record<string, string> = { django: majorMinor(env.django), python: majorMinor(env.python), redis: env.redisPy ? releaseOf(env.redisPy) : 'no redis-py' };
  const matches = (spec: string | undefined, version: string | null | undefined) => spec === undefined || (!!version && satisfies(releaseOf(version), spec));
  const rules = RULES.filter((r) => r.library === library && matches(r.django, env.django) && matches(r.python, env.python) && (r.redisPy === undefined || matches(r.redisPy, env.redisPy)));
  const because = rules.map((r) => r.why.replace(/\{(django|python|redis)\}/g, (_, k: string) => vars[k]!));
  const dead = rules.filter((r) => r.needs === null);
  if (dead.length) throw new NoFit(`no ${library} works here: ${dead.map((r) => because[rules.indexOf(r)]).join('; ')}`);
  const spec = narrow(rules.map((r) => r.needs!));
  if (spec === null) throw new NoFit(`no ${library} works here: ${because.join('; ')}`);
  return { library, spec, because };
}

/** Pure: the pip requirement ('PyMySQL>=1.1'), or the pinned version. */
export function requirementOf(fit: Fit, pinned?: string): string {
  return pinned ? `${fit.library}==${pinned}` : `${fit.library}${fit.spec}`;
}

/** Pure: 'PyMySQL>=1.1 (Django 4.2 needs mysqlclient>=1.4.3; PyMySQL reports that from 1.1)'. */
export function describeFit(fit: Fit, pinned?: string): string {
  return `${requirementOf(fit, pinned)}${fit.because.length ? ` (${fit.because.join('; ')})` : ''}`;
}

/** Pure: does this version fit (its release part; pre-releases and local parts are judged by it)? */
export function fits(fit: Fit, version: string): boolean {
  const release = releaseOf(version);
  return release !== '' && satisfies(release, fit.spec);
}

/**
 * Pure: Debian's or RPM's package version as the upstream release it carries: '1:1.1.1-2+b1' ->
 * '1.1.1', '2.9.10-0ubuntu1' -> '2.9.10', '5.4.0-1~bpo12+1' -> '5.4.0' (epoch, revision and
 * repack suffixes dropped). '' when it holds no release.
 */
export function upstreamOf(packageVersion: string): string {
  const noEpoch = packageVersion.trim().replace(/^\d+:/, '');
  return releaseOf(noEpoch.replace(/-[^-]*$/, '').replace(/[+~].*$/, ''));
}

/** Pure: the candidate's version in `apt-cache policy PKG` output (null: none, or no package lists). */
export function aptCandidate(policy: string): string | null {
  const m = /^\s*Candidate:\s*(\S+)\s*$/m.exec(policy);
  return m && m[1] !== '(none)' ? m[1]! : null;
}

/** Pure: the versions of `pipName` among a folder's wheel file names (PEP 427: name-version-...whl). */
export function wheelVersions(files: string[], pipName: string): string[] {
  const wanted = pipName.toLowerCase().replace(/[-_.]+/g, '_');
  return files
    .filter((f) => f.endsWith('.whl'))
    .map((f) => f.slice(0, -4).split('-'))
    .filter(([name, version]) => name && version && name.toLowerCase().replace(/[-_.]+/g, '_') === wanted)
    .map(([, version]) => version!)
    .sort(compareVersions);
}

/** Pure: the version a source holding `versions` gives for this fit: the newest that fits (pip's and apt's choice), the pinned one if it is there; null: none. */
export function pickFitting(fit: Fit, versions: string[], pinned?: string): string | null {
  const ok = versions.filter((v) => fits(fit, v) && (!pinned || compareVersions(releaseOf(v), releaseOf(pinned)) === 0));
  return ok.sort((a, b) => compareVersions(releaseOf(a), releaseOf(b))).at(-1) ?? null;
}

/** Pure: the refusal when a source holds no fitting version: what is there and what is needed. */
export function noFittingVersion(where: string, held: string[], fit: Fit, pinned?: string): string {
  const there = held.length ? `${fit.library} ${held.join(', ')}` : `no ${fit.library}`;
  return `${where} holds ${there}, and this container needs ${describeFit(fit, pinned)}: add a fitting version, or pin one with install.version`;
}

/** Import names of the client libraries the table knows, and the row each is judged by. */
export const MODULE_LIBRARY: Record<string, LibraryName> = {
  pymysql: 'PyMySQL',
  MySQLdb: 'mysqlclient',
  psycopg2: 'psycopg2',
  psycopg: 'psycopg',
  pymemcache: 'pymemcache',
  django_redis: 'django-redis',
};

/**
 * Pure: what already imports in the container (module -> version) and does not fit; `cluster`:
 * sessionctl's Redis Cluster client will run on the container's redis-py. One sentence per misfit.
 */
export function presentMisfits(modules: string[], versions: Record<string, string | null>, env: LibraryEnv, cluster: boolean): string[] {
  const out: string[] = [];
  const judge = (library: LibraryName, version: string | null | undefined, what: string) => {
    if (version === undefined || version === null) return;
    if (!releaseOf(version)) return; // no version to judge by: Django's own load before the write decides
    try {
      const fit = fitFor(library, env);
      if (!fits(fit, version)) out.push(`${what} ${version} is in the container, and this container needs ${describeFit(fit)}`);
    } catch (err) {
      if (!(err instanceof NoFit)) throw err;
      out.push(`${what} ${version} is in the container: ${err.message}`);
    }
  };
  for (const m of modules) if (MODULE_LIBRARY[m]) judge(MODULE_LIBRARY[m], versions[m], MODULE_LIBRARY[m]);
  if (cluster) {
    if (!versions.redis) out.push('redis-py does not import in the container, and Redis Cluster needs redis-py>=4.1');
    else judge('redis (cluster)', versions.redis, 'redis-py');
  }
  return out;
}
