import { HostError } from '../errors.js';
import { runCheck } from '../facts/horizon.js';
import type { DatabaseConfig } from '../inventory/types.js';
import type { PyValue } from '../util/quote.js';
import type { BackendTarget, ClientLibrary, ContainerCheck, HostSettings } from './types.js';

/** A database target with its password resolved. */
export interface DatabaseTarget extends DatabaseConfig {
  passwordValue?: string;
}

const PYMYSQL: ClientLibrary = {
  module: 'pymysql',
  package: 'PyMySQL',
  fits: 'PyMySQL',
  knownFit: () => '1.1.1',
  distroPackage: 'python3-pymysql',
};

const PSYCOPG2: ClientLibrary = {
  module: 'psycopg2',
  package: 'psycopg2-binary',
  fits: 'psycopg2-binary',
  distroFits: 'psycopg2',
  knownFit: () => '2.9.10',
  distroPackage: 'python3-psycopg2',
};

/**
 * Django wants MySQLdb; images often only have (or can only get) PyMySQL, which stands in for it.
 * Guarded, so the settings still load before the driver is installed (Horizon would otherwise skip
 * the whole file).
 */
const PYMYSQL_PRELUDE = [
  'try:',
  '    import pymysql',
  '    pymysql.install_as_MySQLdb()',
  'except ImportError:',
  '    pass',
].join('\n');

const ENGINES = { mysql: 'django.db.backends.mysql', postgresql: 'django.db.backends.postgresql' } as const;

/** Pure: the settings for database sessions on a host (its importable drivers decide the prelude). */
export function databaseSettings(t: DatabaseTarget, modules: Record<string, string | null>): HostSettings {
  const db: Record<string, PyValue> = { ENGINE: ENGINES[t.engine], NAME: t.name, USER: t.user, HOST: t.host };
  if (t.passwordValue) db.PASSWORD = t.passwordValue;
  if (t.port) db.PORT = t.port;
  if (t.options && Object.keys(t.options).length) db.OPTIONS = t.options;
  const sessionEngine = `django.contrib.sessions.backends.${t.sessionEngine}`;
  const usePyMySQL = t.engine === 'mysql' && !modules.MySQLdb;
  return {
    block: [
      ['SESSION_ENGINE', sessionEngine],
      ['DATABASES', { default: db }],
    ],
    ...(usePyMySQL ? { prelude: PYMYSQL_PRELUDE } : {}),
    expect: { sessionEngine, database: { engine: ENGINES[t.engine], name: t.name, host: t.host } },
    ...(t.engine === 'postgresql' ? { library: PSYCOPG2 } : usePyMySQL ? { library: PYMYSQL } : {}),
  };
}

interface DbAnswer {
  ok: boolean;
  driver?: string | null;
  server?: string;
  can_create?: boolean;
  exists?: boolean;
  tcp_only?: boolean;
  error?: string;
}

export function databaseTarget(t: DatabaseTarget): BackendTarget {
  const where = `${t.engine === 'mysql' ? 'MariaDB/MySQL' : 'PostgreSQL'} database ${t.name} at ${t.host}${t.port ? `:${t.port}` : ''}`;
  const check: ContainerCheck = {
    script: 'db_check.py',
    input: {
      engine: t.engine,
      host: t.host,
      port: t.port ?? (t.engine === 'mysql' ? 3306 : 5432),
      name: t.name,
      user: t.user,
      password: t.passwordValue,
    },
  };
  return {
    name: 'database',
    where,
    owns: ['SESSION_ENGINE', 'DATABASES'],
    settingsFor: (_django, modules) => databaseSettings(t, modules),
    reachCheck: check,
    reached(host, answer) {
      const a = answer as DbAnswer;
      if (!a.ok) throw new HostError(host, `${where} is not usable from the horizon container: ${a.error}`);
      if (a.tcp_only) return `ok: ${where} accepts connections (no driver in the container yet: login and privileges are checked again after the install)`;
      if (a.can_create === false) throw new HostError(host, `user ${t.user} may not create tables in ${t.name}: the sessions migration would fail`);
      return `ok: logged in to ${a.server} with ${a.driver}; ${t.user} may create tables`;
    },
    async holds(ctx, { key }) {
      const a = await runCheck<DbAnswer>(ctx, check, { session_key: key });
      if (!a.ok) throw new HostError(ctx.host.name, `cannot look the session up in ${where}: ${a.error}`);
      return Boolean(a.exists);
    },
  };
}
