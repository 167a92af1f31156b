/**
 * The guided mode: questions fill in the same Answers -> inventory that a file holds, then the run
 * is the unattended pipeline (runSwitch) with a person at the confirmation. Nothing below
 * runSwitch knows a person answered.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { COOKIE_WARNING } from '../backends/cookie.js';
import { ConfigError, SessionctlError, type ExitCodeValue } from '../errors.js';
import { loadInventory, parseInventory, resolveSecret, selectHosts } from '../inventory/load.js';
import { Bad, expandPath } from '../inventory/schema.js';
import type { Backend, HostConfig, Inventory, SecretRef, SecurityConfig } from '../inventory/types.js';
import { answerProblem, inventoryText, requiredEnv, unattendedCommand, type AccessAnswer, type Answers, type HostAnswer, type SecretAnswer } from '../guide/answers.js';
import { probeHost } from '../guide/probe.js';
import { check, type Prompts } from '../guide/prompts.js';
import { renderStatus } from '../report/status.js';
import { masker } from '../util/secret.js';
import { status, type StatusReport } from './status.js';
import { runSwitch } from './switch.js';

export interface GuideOptions {
  inventory?: string;
  limit?: string;
  verbose: boolean;
}

const say = (line = '') => process.stdout.write(masker.mask(line) + '\n');

export async function guide(opts: GuideOptions, ask: Prompts): Promise<ExitCodeValue> {
  say('sessionctl guided mode: a few questions, then the same plan and apply as unattended runs.');
  say('Ctrl-C at any question stops with nothing changed.\n');

  // 1. Inventory: a file, or hosts entered (and probed) one by one.
  const answers: Answers = {};
  const inventory = opts.inventory ? await pickFile(answers, opts.inventory) : await chooseInventory(ask, answers);
  const hosts = selectHosts(inventory, opts.limit);
  if (answers.base) await probeAll(ask, inventory, hosts);

  // 2. What every host uses now.
  say('\nReading what every host uses now...');
  const { report: now } = await status(inventory, hosts, { acceptNewHostKeys: false });
  say(renderStatus(now) + '\n');
  if (now.hosts.some((h) => h.error) && !(await ask.confirm('Some hosts have problems (above). Continue? The preflight stops before any change if they remain.', false))) {
    throw new SessionctlError('stopped: nothing was changed');
  }

  // 3. Backend and only its questions; 4. optional expiry and cookie security.
  const current = inventory.session;
  answers.backend = await askBackend(ask, answers, now);
  if (answers.backend === 'redis') answers.redis ??= await askRedis(ask, now, current.redis, false);
  if (answers.backend === 'memcached') answers.memcached = { servers: await askMemcached(ask, now, current.memcached?.servers) };
  if (answers.backend === 'database') answers.database = await askDatabase(ask, current.database);
  const security = await askSecurity(ask, current.security ?? securityFrom(now));
  if (security) answers.security = security;
  if (!answers.base && answers.backend !== 'cookie') answers.install = await askInstall(ask);

  // 5-6. The unattended pipeline: plan with diffs, the logout warning and the confirmation, then apply.
  const chosen = parseInventory(inventoryText(answers), answers.base?.file ?? '<guided>');
  const { report, exitCode } = await runSwitch(
    chosen,
    selectHosts(chosen, opts.limit),
    { mode: 'apply', allowInsecureCookieSessions: answers.allowInsecureCookieSessions, ssh: { acceptNewHostKeys: false } },
    { json: false, verbose: opts.verbose, yes: false },
  );

  // 7. Save the answers and show how to repeat the run without a person.
  // Not after a refusal (locked hosts) or a Ctrl-C during the plan: the operator wants out.
  const interrupted = report.outcome === 'declined' && report.error !== undefined;
  if (report.outcome !== 'refused' && !interrupted) await offerSave(ask, answers, chosen);
  return exitCode;
}

// ---- 1. inventory ---------------------------------------------------------------------------

async function pickFile(answers: Answers, file: string): Promise<Inventory> {
  const path = resolve(file);
  const inventory = await loadInventory(path);
  answers.base = { file: path, text: await readFile(path, 'utf8') };
  return inventory;
}

async function chooseInventory(ask: Prompts, answers: Answers): Promise<Inventory> {
  const here = existsSync('inventory.yaml');
  const how = await ask.select(
    'Which Horizon hosts?',
    [
      { name: 'the hosts of an inventory file', value: 'file' as const },
      { name: 'enter them now (an inventory is built from the answers)', value: 'new' as const },
    ],
    here ? 'file' : 'new',
  );
  if (how === 'file') {
    const file = await ask.input('Inventory file', {
      ...(here ? { default: 'inventory.yaml' } : {}),
      validate: async (p) => {
        try {
          await loadInventory(resolve(p));
          return true;
        } catch (err) {
          return err instanceof ConfigError ? err.format() : (err as Error).message;
        }
      },
    });
    return pickFile(answers, file);
  }
  answers.access = await askAccess(ask);
  answers.hosts = [];
  if (await ask.confirm('Are the hosts reached through a jump host (bastion)?', false)) {
    await askHost(ask, answers, 'jump');
  }
  do await askHost(ask, answers, 'dashboard');
  while (await ask.confirm('Add another Dashboard host?', false));
  return parseInventory(inventoryText(answers), '<guided>');
}

/** A local path as the loader reads it (`~/` expanded), made absolute so a saved file works anywhere. */
function localPath(p: string): string | Bad {
  return expandPath(p, { home: process.env.HOME || homedir(), dir: process.cwd() });
}

function existingFile(p: string): true | string {
  const full = localPath(p);
  if (full instanceof Bad) return full.message ?? 'not a usable path';
  return existsSync(full) ? true : `${full} does not exist`;
}

async function askAccess(ask: Prompts): Promise<AccessAnswer> {
  const user = await ask.input('SSH user on the hosts', { default: 'root', validate: (v) => check(answerProblem('defaults.user', v)) });
  const agent = Boolean(process.env.SSH_AUTH_SOCK);
  const useKey = !agent || (await ask.select('SSH authentication', [{ name: 'a private key file', value: true }, { name: 'ssh-agent (SSH_AUTH_SOCK)', value: false }], true));
  const access: AccessAnswer = { user, knownHosts: '', become: false };
  if (useKey) {
    const key = await ask.input('Private key file', {
      ...(existsSync(join(homedir(), '.ssh/id_ed25519')) ? { default: '~/.ssh/id_ed25519' } : {}),
      validate: (v) => answerProblem('defaults.identity', v) ?? existingFile(v),
    });
    access.identity = localPath(key) as string;
  }
  const known = await ask.input('known_hosts file (host keys are checked against it)', {
    default: '~/.ssh/known_hosts',
    validate: (v) => check(answerProblem('defaults.known_hosts', v)),
  });
  access.knownHosts = localPath(known) as string;
  access.become = await ask.confirm('Run privileged commands through sudo (become)?', user !== 'root');
  return access;
}

/** One host: name, address, port, then a probe; re-asked, kept or dropped when the probe fails. */
async function askHost(ask: Prompts, answers: Answers, role: HostAnswer['role']): Promise<void> {
  const hosts = answers.hosts!;
  const jump = hosts.find((h) => h.role === 'jump');
  const what = role === 'jump' ? 'Jump host' : 'Dashboard host';
  for (;;) {
    const name = await ask.input(`${what} name (as the inventory calls it)`, {
      default: role === 'jump' ? 'bastion' : `dash${hosts.filter((h) => h.role === 'dashboard').length + 1}`,
      validate: (v) => (hosts.some((h) => h.name === v) ? `${v} is already entered` : check(answerProblem(`hosts.${v}.address`, '127.0.0.1'))),
    });
    const address = await ask.input(`${name}: address (hostname or IP)`, { validate: (v) => check(answerProblem(`hosts.${name}.address`, v)) });
    const port = Number(await ask.input(`${name}: SSH port`, { default: '22', validate: (v) => check(answerProblem(`hosts.${name}.port`, numberOrText(v))) }));
    const host: HostAnswer = { name, address, port, role, ...(role === 'dashboard' && jump ? { proxyJump: jump.name } : {}) };
    hosts.push(host);
    // Probed as a Dashboard host: a lone jump host is not yet a valid inventory, and role does not matter to SSH.
    const inventory = parseInventory(inventoryText({ ...answers, hosts: hosts.map((h) => (h === host ? { ...h, role: 'dashboard' as const } : h)) }), '<guided>');
    const result = await probeHost(inventory, inventory.hosts.find((h) => h.name === name)!, trustKey(ask));
    if (result.ok) {
      say(`  ${name}: reachable, host key known`);
      return;
    }
    say(`  ${name}: ${result.message}`);
    const next = await ask.select(
      `What now with ${name}?`,
      [
        { name: 'enter it again', value: 'again' as const },
        { name: 'keep it (status will show the problem; the preflight stops before any change)', value: 'keep' as const },
        { name: 'leave it out', value: 'drop' as const },
      ],
      'again',
    );
    if (next === 'keep') return;
    hosts.pop();
    if (next === 'drop') return;
  }
}

function numberOrText(v: string): number | string {
  return /^\d+$/.test(v.trim()) ? Number(v) : v;
}

function trustKey(ask: Prompts) {
  return async (h: HostConfig, keyType: string, fp: string): Promise<boolean> => {
    say(`  ${h.name} (${h.address}, port ${h.port}) presents a host key that is not in ${h.knownHosts}:`);
    say(`    ${keyType} ${fp}`);
    return ask.confirm('Is this the host\'s real key (compare with ssh-keygen -lf on the host)? Trust it and add it to known_hosts?', false);
  };
}

async function probeAll(ask: Prompts, inventory: Inventory, hosts: HostConfig[]): Promise<void> {
  for (const host of hosts) {
    const result = await probeHost(inventory, host, trustKey(ask));
    say(`  ${host.name}: ${result.ok ? 'reachable, host key known' : result.message}`);
  }
}

// ---- 3. backend -----------------------------------------------------------------------------

/** The backend most hosts use now (what status found). */
function inUse(now: StatusReport): string | undefined {
  const counts = new Map<string, number>();
  for (const h of now.hosts) if (h.backend) counts.set(h.backend, (counts.get(h.backend) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
}

async function askBackend(ask: Prompts, answers: Answers, now: StatusReport): Promise<Backend> {
  const current = inUse(now);
  for (;;) {
    const choice = await ask.select(
      `Switch every host to which session backend?${current ? ` (now: ${current})` : ''}`,
      [
        { name: 'Redis', value: 'redis' as const, description: 'django-redis; sessions survive a Horizon restart' },
        { name: 'Redis through Sentinel', value: 'sentinel' as const, description: 'the master is found through Redis Sentinel' },
        { name: 'memcached', value: 'memcached' as const, description: "Kolla's default" },
        { name: 'database (MariaDB/MySQL or PostgreSQL)', value: 'database' as const, description: "needs 'manage.py clearsessions' on a schedule" },
        { name: 'signed cookies (development only)', value: 'cookie' as const, description: COOKIE_WARNING },
      ],
      current === 'redis' ? 'memcached' : 'redis',
    );
    if (choice === 'sentinel') {
      answers.redis = await askRedis(ask, now, undefined, true);
      return 'redis';
    }
    if (choice !== 'cookie') return choice;
    say(`  ! ${COOKIE_WARNING}`);
    if (await ask.confirm('Use signed-cookie sessions anyway (--allow-insecure-cookie-sessions)?', false)) {
      answers.allowInsecureCookieSessions = true;
      return 'cookie';
    }
  }
}

/** A Redis URL from a host's cache LOCATION, without credentials (they never go into the inventory). */
function redisLocation(now: StatusReport): string | undefined {
  const loc = now.hosts.find((h) => h.backend === 'redis')?.cache?.location;
  const first = Array.isArray(loc) ? loc[0] : loc;
  if (typeof first !== 'string') return undefined;
  try {
    const u = new URL(first);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return undefined;
  }
}

async function askRedis(ask: Prompts, now: StatusReport, current: Inventory['session']['redis'], sentinel: boolean): Promise<NonNullable<Answers['redis']>> {
  if (sentinel && current?.sentinel === undefined) current = undefined;
  const url = await ask.input(sentinel ? 'Redis URL (the host part is replaced by the master Sentinel names)' : 'Redis URL (redis://host:6379/0, rediss:// for TLS; no password in it)', {
    ...defaultOf(current?.url ?? redisLocation(now)),
    validate: (v) => check(answerProblem('session.redis.url', v.trim())),
  });
  const redis: NonNullable<Answers['redis']> = { url: url.trim() };
  const password = await askSecret(ask, 'Redis password', 'REDIS_PASSWORD', current?.password);
  if (password) redis.password = password;
  if (sentinel) {
    const service = await ask.input('Sentinel service (master) name', { default: current?.sentinel?.service ?? 'mymaster', validate: (v) => check(answerProblem('session.redis.sentinel.service', v)) });
    const hosts = await askServers(ask, 'Sentinels, host:port, comma separated', 'session.redis.sentinel.hosts', current?.sentinel?.hosts);
    const sentinelPassword = await askSecret(ask, 'Sentinel password', 'REDIS_SENTINEL_PASSWORD', current?.sentinel?.password);
    redis.sentinel = { service, hosts, ...(sentinelPassword ? { password: sentinelPassword } : {}) };
  }
  return redis;
}

/** The memcached servers in use now, as host:port. */
function memcachedLocation(now: StatusReport): string[] | undefined {
  const loc = now.hosts.find((h) => h.backend === 'memcached')?.cache?.location;
  const list = Array.isArray(loc) ? loc : typeof loc === 'string' ? loc.split(/[;,]/) : [];
  const servers = list.filter((s): s is string => typeof s === 'string').map((s) => s.trim()).filter(Boolean);
  return servers.length ? servers : undefined;
}

function askMemcached(ask: Prompts, now: StatusReport, current: string[] | undefined): Promise<string[]> {
  return askServers(ask, 'memcached servers, host:port, comma separated', 'session.memcached.servers', current ?? memcachedLocation(now));
}

async function askServers(ask: Prompts, message: string, key: string, current: string[] | undefined): Promise<string[]> {
  const split = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);
  const text = await ask.input(message, { ...defaultOf(current?.join(',')), validate: (v) => check(answerProblem(key, split(v))) });
  return split(text);
}

async function askDatabase(ask: Prompts, current: Inventory['session']['database']): Promise<NonNullable<Answers['database']>> {
  const engine = await ask.select('Database engine', [{ name: 'MariaDB / MySQL', value: 'mysql' as const }, { name: 'PostgreSQL', value: 'postgresql' as const }], current?.engine ?? 'mysql');
  const host = await ask.input('Database host (as seen from the Horizon containers)', { ...defaultOf(current?.host), validate: (v) => check(answerProblem('session.database.host', v)) });
  const port = await ask.input(`Port (empty: ${engine === 'mysql' ? 3306 : 5432})`, {
    ...defaultOf(current?.port === undefined ? undefined : String(current.port)),
    validate: (v) => (v.trim() === '' ? true : check(answerProblem('session.database.port', numberOrText(v)))),
  });
  const name = await ask.input('Database name', { default: current?.name ?? 'horizon', validate: (v) => check(answerProblem('session.database.name', v)) });
  const user = await ask.input('Database user', { default: current?.user ?? 'horizon', validate: (v) => check(answerProblem('session.database.user', v)) });
  const password = await askSecret(ask, 'Database password', 'HORIZON_DB_PASSWORD', current?.password);
  const sessionEngine = await ask.select(
    'Session engine',
    [{ name: 'db: sessions in the database', value: 'db' as const }, { name: 'cached_db: the database with the cache in front', value: 'cached_db' as const }],
    current?.sessionEngine ?? 'db',
  );
  return { engine, host, ...(port.trim() ? { port: Number(port) } : {}), name, user, ...(password ? { password } : {}), sessionEngine };
}

function defaultOf(value: string | undefined): { default?: string } {
  return value === undefined ? {} : { default: value };
}

/**
 * A password is referenced, never stored: an environment variable (asked for, masked, when it is
 * not set: it then lives in this process only) or a file the run reads.
 */
async function askSecret(ask: Prompts, what: string, suggested: string, current: SecretRef | undefined): Promise<SecretAnswer | undefined> {
  const kind = await ask.select(
    `${what}? (the inventory only names where it comes from)`,
    [
      { name: 'none', value: 'none' as const },
      { name: 'from an environment variable (password_env)', value: 'env' as const },
      { name: 'from a file (password_file)', value: 'file' as const },
    ],
    current?.kind === 'env' ? 'env' : current ? 'file' : 'none',
  );
  if (kind === 'none') return undefined;
  if (kind === 'env') {
    const name = await ask.input('Environment variable name', {
      default: current?.kind === 'env' ? current.name : suggested,
      validate: (v) => check(answerProblem('session.redis.password_env', v)),
    });
    if (!process.env[name]) {
      const value = await ask.password(`${name} is not set here: type the password (masked, used for this run only, never written)`, (v) => (v ? true : 'empty'));
      masker.add(value);
      process.env[name] = value;
    }
    return { env: name };
  }
  const file = await ask.input('File holding the password', {
    ...defaultOf(current?.kind === 'file' ? current.path : undefined),
    validate: async (v) => {
      const full = localPath(v);
      if (full instanceof Bad) return full.message ?? 'not a usable path';
      try {
        await resolveSecret({ kind: 'file', path: full }, what);
        return true;
      } catch (err) {
        return (err as Error).message;
      }
    },
  });
  return { file: localPath(file) as string };
}

// ---- 4. security ----------------------------------------------------------------------------

/** What Django resolves now on the first host that answered, as session.security keys. */
function securityFrom(now: StatusReport): SecurityConfig {
  const s = now.hosts.find((h) => h.security)?.security ?? {};
  const out: SecurityConfig = {};
  if (typeof s.SESSION_TIMEOUT === 'number') out.timeout = s.SESSION_TIMEOUT;
  if (typeof s.SESSION_REFRESH === 'boolean') out.refresh = s.SESSION_REFRESH;
  if (typeof s.SESSION_COOKIE_SECURE === 'boolean') out.cookieSecure = s.SESSION_COOKIE_SECURE;
  if (typeof s.SESSION_COOKIE_HTTPONLY === 'boolean') out.cookieHttponly = s.SESSION_COOKIE_HTTPONLY;
  if (['Lax', 'Strict', 'None', false].includes(s.SESSION_COOKIE_SAMESITE as string)) out.cookieSamesite = s.SESSION_COOKIE_SAMESITE as SecurityConfig['cookieSamesite'];
  if (typeof s.CSRF_COOKIE_SECURE === 'boolean') out.csrfCookieSecure = s.CSRF_COOKIE_SECURE;
  return out;
}

async function askSecurity(ask: Prompts, now: SecurityConfig): Promise<SecurityConfig | undefined> {
  if (!(await ask.confirm('Also set session expiry and cookie security (current values are the defaults)?', false))) return undefined;
  const timeout = await ask.input('Session timeout, seconds (SESSION_TIMEOUT)', {
    default: String(now.timeout ?? 3600),
    validate: (v) => check(answerProblem('session.security.timeout', numberOrText(v))),
  });
  return {
    timeout: Number(timeout),
    refresh: await ask.confirm('Extend the session on activity (SESSION_REFRESH)?', now.refresh ?? true),
    cookieSecure: await ask.confirm('Send the session cookie over HTTPS only (SESSION_COOKIE_SECURE)?', now.cookieSecure ?? false),
    cookieHttponly: await ask.confirm('Hide the session cookie from JavaScript (SESSION_COOKIE_HTTPONLY)?', now.cookieHttponly ?? true),
    cookieSamesite: await ask.select<NonNullable<SecurityConfig['cookieSamesite']>>(
      'SameSite of the session cookie (SESSION_COOKIE_SAMESITE)',
      [{ name: 'Lax', value: 'Lax' }, { name: 'Strict', value: 'Strict' }, { name: 'None', value: 'None' }, { name: 'not set', value: false }],
      now.cookieSamesite ?? 'Lax',
    ),
    csrfCookieSecure: await ask.confirm('Send the CSRF cookie over HTTPS only (CSRF_COOKIE_SECURE)?', now.csrfCookieSecure ?? false),
  };
}

async function askInstall(ask: Prompts): Promise<NonNullable<Answers['install']>> {
  const method = await ask.select(
    'How to install the client library (django-redis, pymemcache, DB driver) where it is missing',
    [
      { name: 'pip (from the package index the hosts reach)', value: 'pip' as const },
      { name: 'wheelhouse (offline: a folder of .whl files here)', value: 'wheelhouse' as const },
      { name: "distro (the container's OS packages)", value: 'distro' as const },
    ],
    'pip',
  );
  if (method !== 'wheelhouse') return { method };
  const dir = await ask.input('Wheelhouse folder', { validate: (v) => existingFile(v) });
  return { method, wheelhouse: localPath(dir) as string };
}

// ---- 7. save --------------------------------------------------------------------------------

/** What a saved file means once loaded; relative paths of a picked file resolve against its folder. */
function meaning(inv: Inventory): string {
  return JSON.stringify({ hosts: inv.hosts.map(({ pos: _pos, ...h }) => h), session: inv.session, install: inv.install, rollout: inv.rollout, kolla: inv.kolla });
}

async function offerSave(ask: Prompts, answers: Answers, chosen: Inventory): Promise<void> {
  if (!(await ask.confirm('Save these answers as an inventory file (no secrets in it)?', true))) return;
  const dir = answers.base ? dirname(answers.base.file) : process.cwd();
  const suggested = join(dir, existsSync(join(dir, 'inventory.yaml')) ? `inventory-${answers.backend}.yaml` : 'inventory.yaml');
  const file = resolve(
    await ask.input('Save as', {
      default: suggested,
      validate: (v) => {
        const file = resolve(v);
        if (existsSync(file)) return `${file} exists: choose another name`;
        const moved = meaning(parseInventory(inventoryText(answers, file), file)) !== meaning(chosen);
        return moved ? `relative paths in ${answers.base?.file} would point elsewhere from ${dirname(file)}: save it next to that file` : true;
      },
    }),
  );
  await writeFile(file, inventoryText(answers, file), { mode: 0o600, flag: 'wx' });
  say(`Saved ${file}`);
  say('Repeat this run unattended:');
  say(`  ${unattendedCommand(file, answers)}`);
  const env = requiredEnv(answers);
  if (env.length) say(`  (with ${env.join(', ')} set in the environment)`);
}
