#!/usr/bin/env node
/**
 * The one error boundary: argv -> typed options -> command -> exit code.
 * Everything below throws SessionctlError subclasses; only this file prints them and exits.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Argument, Command, CommanderError } from 'commander';
import { ConfigError, ConfigErrors, ExitCode, SessionctlError, type ExitCodeValue } from './errors.js';
import { loadInventory, selectHosts } from './inventory/load.js';
import { readLimit } from './inventory/limit.js';
import { sshConfigNotes } from './inventory/ssh-config.js';
import type { Inventory } from './inventory/types.js';
import { status } from './commands/status.js';
import { renderStatus } from './report/status.js';
import { runSwitch } from './commands/switch.js';
import { rollback } from './commands/rollback.js';
import type { RollbackReport } from './report/types.js';
import { history, runDetail } from './commands/history.js';
import { renderHistory, renderRunDetail } from './report/history.js';
import { renderRollback } from './report/rollback.js';
import { stateDirOf } from './journal/paths.js';
import type { BackendFlags } from './backends/desired.js';
import { forTerminal, jsonForTerminal } from './util/terminal.js';
import { versioned } from './report/json.js';
import { elapsed } from './report/progress.js';
import { completionScript, SHELLS, type Shell } from './commands/completion.js';
import { BACKENDS, INSTALL_METHODS } from './backends/desired.js';
import { packageVersion } from './util/assets.js';

/** Options every command understands (global flags). */
export interface GlobalOptions {
  inventory?: string;
  limit?: string;
  json: boolean;
  verbose: boolean;
  yes: boolean;
  acceptNewHostKeys: boolean;
  stateDir?: string;
  /** -F: the ssh_config file (instead of the inventory's ssh_config or ~/.ssh/config). */
  sshConfig?: string;
  kollaGlobals?: string;
  kollaPasswords?: string;
}

const EXIT_CODES_HELP = `
Exit codes:
  0  ok            1  error                2  a host failed
  4  a host was unreachable                5  bad options or inventory`;

function buildProgram(run: (code: ExitCodeValue) => void): Command {
  const version = packageVersion();
  const program = new Command('sessionctl')
    .description('Switch the session backend of every OpenStack Horizon (Dashboard) host, safely.')
    .usage('[options] [command]')
    .version(version)
    .option('-i, --inventory <file>', 'inventory YAML (default: ./inventory.yaml when present)')
    .option('--limit <patterns>', 'only these Dashboard hosts: names or globs ([...] classes, {a,b}), !NAME to exclude, @FILE (one a line, # comments), comma separated (e.g. "dash[1-3]*,!dash2" or @hosts.txt)')
    .option('--json', 'print one JSON document on stdout and nothing else there', false)
    .option('-v, --verbose', 'show debug lines and stack traces on stderr', false)
    .option('-y, --yes', 'do not ask for confirmation (unattended runs)', false)
    .option('--accept-new-host-keys', 'trust and record host keys not yet in known_hosts (a changed key is always refused)', false)
    .option('-F, --ssh-config <file>', 'OpenSSH client config for the hosts (default: the inventory\'s ssh_config, else ~/.ssh/config when present; none: no file)')
    .option('--kolla-globals <file>', "kolla-ansible's globals.yml, with -i /etc/kolla/multinode (default: next to it, else /etc/kolla)")
    .option('--kolla-passwords <file>', "kolla-ansible's passwords.yml, with -i /etc/kolla/multinode (default: next to it, else /etc/kolla)")
    .option('--state-dir <dir>', 'where run journals and earlier runs\' facts are kept (default: $XDG_STATE_HOME/sessionctl or ~/.local/state/sessionctl)')
    .showHelpAfterError('(run with --help for usage)')
    // Set before the subcommands are added: they inherit both.
    .configureHelp({ showGlobalOptions: true })
    .helpCommand('help [command]', 'show the help of a command (or of sessionctl)')
    .addHelpText('after', `${EXIT_CODES_HELP}

Examples:
  sessionctl status -i inventory.yaml
  sessionctl status -i inventory.yaml --limit 'dash*' --json
  sessionctl status -i /etc/kolla/multinode --kolla-globals /etc/kolla/globals.yml --kolla-passwords /etc/kolla/passwords.yml
  sessionctl plan -i inventory.yaml --backend redis
  sessionctl apply -i inventory.yaml --backend redis --yes
  sessionctl history
  sessionctl rollback -i inventory.yaml

Without a command in a terminal (or with 'sessionctl guide'), sessionctl starts the guided mode:
questions fill in an inventory, then the same plan and apply run; see 'sessionctl guide --help'.`)
    .exitOverride();

  program
    .command('status')
    .description('show, per host, the session backend Horizon really uses and what the container has')
    .addHelpText('after', `
For each host, in parallel: reachability, the horizon container's state and health, Django and
Python versions, the settings layout (Kolla >= 2024.1 local_settings.d, Kolla <= 2023.2
local_settings, or plain), the effective SESSION_ENGINE and cache as Django resolves them inside
the container, whether django_redis and a DB driver import, and a hash of SECRET_KEY (never the
key), with a warning when hosts differ. For the client library the session backend imports, where
it comes from: the image, or only the container's writable layer (pip/apt after the container was
created: lost when kolla-ansible recreates the container), from when its files last changed.

Examples:
  sessionctl status -i inventory.yaml
  sessionctl status -i inventory.yaml --limit dash2 --json | jq '.hosts[0].backend'
${EXIT_CODES_HELP}`)
    .action(async (_opts, cmd: Command) => run(await statusCommand(cmd.optsWithGlobals<GlobalOptions>())));

  for (const mode of ['plan', 'apply'] as const) {
    program
      .command(mode)
      .description(
        mode === 'plan'
          ? 'show what apply would do on every host (steps, settings diffs); runs the read-only preflight, changes nothing'
          : 'switch every Dashboard host to another session backend: preflight, install, patch, rolling reload (or restart), proof',
      )
      .option('--backend <name>', 'target backend: redis, memcached, database or cookie (overrides session.backend)')
      .option('--redis-url <url>', 'redis://host:6379/0 or rediss://... (overrides session.redis.url; no password here)')
      .option('--memcached-servers <list>', 'host:port,host:port ([v6]:port) (overrides session.memcached.servers)')
      .option('--allow-insecure-cookie-sessions', 'accept --backend cookie (signed cookies: development only)')
      .option('--install-method <method>', 'how to install the client library (django-redis, pymemcache) when missing: pip, wheelhouse or distro')
      .option('--wheelhouse <dir>', 'folder of .whl files for --install-method wheelhouse (offline)')
      .option('--health-timeout <seconds>', 'how long a reloaded or restarted host may take to become healthy', '300')
      .option('--restart', 'restart every host\'s container instead of a graceful reload of its web server (overrides rollout.method)')
      .option('--carry-sessions', 'copy the live sessions into the new backend, so users stay logged in (the default; overrides session.carry)')
      .option('--no-carry-sessions', 'do not copy them: every user is logged out (also: session.carry: false)')
      .option('--fresh-facts', "import every host's settings afresh, even where nothing they depend on changed since an earlier run (see below)")
      .addHelpText('after', `
${mode === 'plan' ? 'Nothing is written on the hosts and nothing restarted.' : 'Shows the plan and asks for confirmation unless --yes. A failure rolls back every changed host.\nThe run is journaled under --state-dir: see it with `sessionctl history`, undo it later with `sessionctl rollback`.'}
Hosts load the new settings one at a time: by a graceful reload of the web server in the running
container (Apache SIGUSR1, uWSGI one worker at a time; no request fails, nothing is recompressed)
where it can be done, else by a restart (the plan says which and why); rollout.method in the
inventory (auto, reload, restart) or --restart chooses. Each host must then serve the login page,
and a session its web server makes must be in the new backend, before the next one starts.
Live sessions are copied into the new backend before the first host loads it and again after the
last, so users stay logged in; the plan says when the old backend's sessions cannot be listed (then
every user is logged out).
What Django resolves on a host is kept under --state-dir and reused while the settings files, the
packages, the interpreter and its environment in the container are byte for byte as then (the plan's
Django step says "unchanged since"); the backend is always checked afresh. --fresh-facts skips it.

Examples:
  sessionctl ${mode} -i inventory.yaml --backend redis --redis-url redis://10.0.0.50:6379/0
  sessionctl ${mode} -i inventory.yaml --backend memcached --memcached-servers 10.0.0.1:11211,10.0.0.2:11211
  sessionctl ${mode} -i inventory.yaml --backend redis --install-method wheelhouse --wheelhouse ./wheels${mode === 'apply' ? ' --yes --json' : ''}
${EXIT_CODES_HELP}`)
      .action(async (_opts, cmd: Command) => run(await switchCommand(mode, cmd.optsWithGlobals<GlobalOptions & SwitchFlags>())));
  }

  program
    .command('history')
    .description('list earlier apply runs from the journal, newest first, or one run in detail')
    .option('--run <id>', 'show this run: every file written (backup, sha256 before and after), steps, packages, restarts, rollbacks')
    .addHelpText('after', `
Reads the journals under --state-dir (one file per apply: runs/<run id>.jsonl). Only this machine's
runs are there. A journal that is corrupt or cut short is listed with its file:line and error.

Examples:
  sessionctl history
  sessionctl history --run 20260101T120000-a1b2c3
  sessionctl history --json | jq '.runs[0]'
${EXIT_CODES_HELP}`)
    .action(async (_opts, cmd: Command) => run(historyCommand(cmd.optsWithGlobals<GlobalOptions & { run?: string }>())));

  program
    .command('rollback')
    .description('restore, on the hosts it touched, the state before an earlier apply run (default: the latest not yet rolled back)')
    .option('--run <id>', 'the run to undo (see sessionctl history); default: the newest run with file writes not rolled back yet')
    .option('--force', 'restore the backup even over a file changed since the run (that change is lost)', false)
    .option('--health-timeout <seconds>', 'how long a reloaded or restarted host may take to become healthy', '300')
    .option('--restart', 'restart the hosts the run reloaded, instead of reloading them on the restored settings')
    .addHelpText('after', `
For every file the run wrote, the host's current sha256 decides: the original bytes -> nothing to
do; the bytes the run wrote -> restored from the backup on the host (removed if it did not exist);
anything else -> refused, naming host, path and hashes, unless --force. Then the hosts whose settings
were restored load them one at a time the way the run loaded the new ones (a graceful reload, or
a restart; a reload that fails falls back to a restart; --restart restarts), behind the health
gate, and Django must resolve the backend they had before the run. Shows the plan and asks for confirmation unless --yes; takes the same
per-host lock as apply; a run is rolled back once (the journal records it). A refusal (changed
file, lock held) exits 2 with nothing changed; a corrupt or truncated journal exits 1 naming its
file:line, with nothing changed.

Examples:
  sessionctl rollback -i inventory.yaml
  sessionctl rollback -i inventory.yaml --run 20260101T120000-a1b2c3 --yes
  sessionctl rollback -i inventory.yaml --run 20260101T120000-a1b2c3 --force --yes --json
${EXIT_CODES_HELP}`)
    .action(async (_opts, cmd: Command) => run(await rollbackCommand(cmd.optsWithGlobals<GlobalOptions & RollbackFlags>())));

  program
    .command('guide')
    .description('guided mode: questions, the fleet\'s status, the plan, then the same apply as unattended runs')
    .addHelpText('after', `
Asks for the hosts (an inventory file, or entered and probed one by one, new host keys shown
and trusted only after a yes), shows status, asks for the backend and only its settings
(passwords are referenced as environment variables or files, never stored), shows the plan
with diffs, asks for confirmation, applies, and offers to save the answers as an inventory with
the unattended command that repeats the run. Ctrl-C at any question changes nothing.
Needs a terminal; with --yes or --json it refuses (use apply).

Examples:
  sessionctl
  sessionctl guide -i inventory.yaml --limit 'dash*'
${EXIT_CODES_HELP}`)
    .action(async (_opts, cmd: Command) => run(await guideCommand(cmd.optsWithGlobals<GlobalOptions>())));

  program
    .command('completion')
    .description('print the bash or zsh completion script of sessionctl')
    .addArgument(new Argument('<shell>', 'bash or zsh').choices(SHELLS))
    .addHelpText('after', `
Install (or source the output from ~/.bashrc, ~/.zshrc):
  sessionctl completion bash > /etc/bash_completion.d/sessionctl
  sessionctl completion zsh > "\${fpath[1]}/_sessionctl"
${EXIT_CODES_HELP}`)
    .action((shell: Shell) => {
      process.stdout.write(completionScript(program, shell, { '--backend': BACKENDS, '--install-method': INSTALL_METHODS }));
      run(ExitCode.ok);
    });

  program.argument('[command]').action(async (unknown?: string) => {
    if (unknown) throw new ConfigError(`unknown command '${unknown}'; run 'sessionctl --help' for the list`);
    run(await guideCommand(program.opts<GlobalOptions>()));
  });
  return program;
}

/** The guided mode, only with a person at a terminal: unattended runs name what to set instead. */
async function guideCommand(opts: GlobalOptions): Promise<ExitCodeValue> {
  const why = opts.yes || opts.json ? `--${opts.yes ? 'yes' : 'json'} was given` : !(process.stdin.isTTY && process.stdout.isTTY) ? 'no terminal' : undefined;
  if (why) {
    throw new ConfigError(
      `no command given and no guided mode (${why}): run 'sessionctl apply -i FILE --yes' (or plan/status) with the ` +
        'backend set by --backend redis|memcached|database|cookie or session.backend in the inventory, and its settings by ' +
        '--redis-url / --memcached-servers or session.redis.url, session.memcached.servers, session.database.*; see sessionctl --help',
    );
  }
  const { inquirerPrompts } = await import('./guide/prompts.js');
  const { guide } = await import('./commands/guide.js');
  return guide({ ...opts, limit: await readLimit(opts.limit), stateDir: stateDir(opts) }, await inquirerPrompts());
}

function inventoryPath(opts: GlobalOptions): string {
  if (opts.inventory) return resolve(opts.inventory);
  if (existsSync('inventory.yaml')) return resolve('inventory.yaml');
  throw new ConfigError('no inventory: pass -i/--inventory FILE (or run in a folder with inventory.yaml)');
}

/** -F's file, absolute; `none` (as ssh -F none) reads no ssh config. */
function sshConfigPath(file: string): string {
  return file === 'none' ? file : resolve(file);
}

/** The inventory (sessionctl's YAML, or kolla-ansible's INI with its globals.yml and passwords.yml) with ssh_config applied; with --verbose, where ssh_config supplied each host's settings. */
async function inventoryOf(opts: GlobalOptions): Promise<Inventory> {
  const inventory = await loadInventory(inventoryPath(opts), {
    ...(opts.sshConfig !== undefined ? { sshConfig: sshConfigPath(opts.sshConfig) } : {}),
    ...(opts.kollaGlobals ? { globals: resolve(opts.kollaGlobals) } : {}),
    ...(opts.kollaPasswords ? { passwords: resolve(opts.kollaPasswords) } : {}),
  });
  if (opts.verbose) for (const line of sshConfigNotes(inventory)) process.stderr.write(`debug: ${forTerminal(line)}\n`);
  return inventory;
}

async function statusCommand(opts: GlobalOptions): Promise<ExitCodeValue> {
  const inventory = await inventoryOf(opts);
  const hosts = selectHosts(inventory, await readLimit(opts.limit));
  const { report, exitCode } = await status(inventory, hosts, {
    acceptNewHostKeys: opts.acceptNewHostKeys,
    debug: opts.verbose ? (line) => process.stderr.write(`debug: ${forTerminal(line)}\n`) : undefined,
  });
  if (opts.json) process.stdout.write(jsonForTerminal(versioned(report)) + '\n');
  else process.stdout.write(forTerminal(renderStatus(report)) + '\n');
  return exitCode;
}

interface SwitchFlags extends BackendFlags {
  healthTimeout: string;
  restart?: boolean;
  freshFacts?: boolean;
}

async function switchCommand(mode: 'plan' | 'apply', opts: GlobalOptions & SwitchFlags): Promise<ExitCodeValue> {
  const healthTimeout = Number(opts.healthTimeout);
  if (!Number.isInteger(healthTimeout) || healthTimeout < 1) throw new ConfigError(`--health-timeout must be a whole number of seconds, got '${opts.healthTimeout}'`);
  const interactive = Boolean(process.stdin.isTTY && process.stderr.isTTY) && !opts.json;
  if (mode === 'apply' && !opts.yes && !interactive) {
    throw new ConfigError('apply needs a confirmation: pass --yes for unattended runs (no terminal to ask in)');
  }
  const inventory = await inventoryOf(opts);
  const hosts = selectHosts(inventory, await readLimit(opts.limit));
  const { exitCode } = await runSwitch(
    inventory,
    hosts,
    {
      mode,
      stateDir: stateDir(opts),
      backend: opts.backend,
      redisUrl: opts.redisUrl,
      memcachedServers: opts.memcachedServers,
      allowInsecureCookieSessions: opts.allowInsecureCookieSessions,
      installMethod: opts.installMethod,
      wheelhouse: opts.wheelhouse ? resolve(opts.wheelhouse) : undefined,
      carrySessions: opts.carrySessions,
      healthTimeout,
      restart: Boolean(opts.restart),
      freshFacts: Boolean(opts.freshFacts),
      ssh: { acceptNewHostKeys: opts.acceptNewHostKeys },
    },
    opts,
  );
  return exitCode;
}

function stateDir(opts: GlobalOptions): string {
  return stateDirOf(opts.stateDir);
}

function historyCommand(opts: GlobalOptions & { run?: string }): ExitCodeValue {
  const dir = stateDir(opts);
  const out = opts.run ? runDetail(dir, opts.run) : history(dir);
  if (opts.json) process.stdout.write(jsonForTerminal(versioned(out)) + '\n');
  else process.stdout.write(forTerminal('header' in out ? renderRunDetail(out) : renderHistory(out)) + '\n');
  return ExitCode.ok;
}

interface RollbackFlags {
  run?: string;
  force: boolean;
  healthTimeout: string;
  restart?: boolean;
}

async function rollbackCommand(opts: GlobalOptions & RollbackFlags): Promise<ExitCodeValue> {
  const healthTimeout = Number(opts.healthTimeout);
  if (!Number.isInteger(healthTimeout) || healthTimeout < 1) throw new ConfigError(`--health-timeout must be a whole number of seconds, got '${opts.healthTimeout}'`);
  const interactive = Boolean(process.stdin.isTTY && process.stderr.isTTY) && !opts.json;
  if (!opts.yes && !interactive) throw new ConfigError('rollback needs a confirmation: pass --yes for unattended runs (no terminal to ask in)');
  const inventory = await inventoryOf(opts);
  const progress = opts.json && !opts.verbose ? null : process.stderr;
  const started = Date.now();
  const { report, exitCode } = await rollback(inventory, {
    stateDir: stateDir(opts),
    ...(opts.run ? { runId: opts.run } : {}),
    force: opts.force,
    restart: Boolean(opts.restart),
    ssh: { acceptNewHostKeys: opts.acceptNewHostKeys },
    healthTimeout,
    // Time since the rollback started: restarts and health gates are long waits.
    log: (host, line) => progress?.write(forTerminal(`   ${host ?? 'fleet'}: ${line} (+${elapsed(Date.now() - started)})`) + '\n'),
    confirm: async (planned: RollbackReport) => {
      if (opts.yes) return true;
      process.stdout.write(forTerminal(renderRollback(planned)) + '\n\n');
      const { confirm } = await import('@inquirer/prompts');
      return confirm({ message: 'Restarting the restored hosts logs every Horizon user out. Roll back?', default: false });
    },
  });
  if (opts.json) process.stdout.write(jsonForTerminal(versioned(report)) + '\n');
  else process.stdout.write(forTerminal(renderRollback(report)) + '\n');
  return exitCode;
}

/** Print an error for the operator: stderr always; stdout too as JSON when --json was asked. */
function report(err: unknown, json: boolean, verbose: boolean): ExitCodeValue {
  let code: ExitCodeValue = ExitCode.error;
  let message: string;
  if (err instanceof ConfigError) {
    message = err.format();
    code = err.exitCode;
  } else if (err instanceof SessionctlError) {
    message = err.message;
    code = err.exitCode;
  } else if ((err as Error)?.name === 'ExitPromptError') {
    message = 'cancelled at the prompt: nothing was changed';
  } else {
    message = `internal error (a bug in sessionctl): ${(err as Error)?.message ?? String(err)}`;
    if (verbose && err instanceof Error && err.stack) message += `\n${err.stack}`;
  }
  // Messages quote hosts (stderr tails, names) and inventories (keys, source lines): shown, not obeyed.
  process.stderr.write(`sessionctl: ${forTerminal(message)}\n`);
  if (err instanceof ConfigErrors) code = ExitCode.badInput;
  if (json) process.stdout.write(jsonForTerminal(versioned({ error: { message, exitCode: code } })) + '\n');
  return code;
}

async function main(argv: string[]): Promise<ExitCodeValue> {
  let result: ExitCodeValue = ExitCode.ok;
  const program = buildProgram((code) => {
    result = code;
  });
  const wantsJson = argv.includes('--json');
  const verbose = argv.includes('-v') || argv.includes('--verbose');
  try {
    // commander shows the general help for `help <unknown>`; a typo is bad input.
    const helpFor = argv[0] === 'help' ? argv[1] : undefined;
    if (helpFor !== undefined && helpFor !== 'help' && !helpFor.startsWith('-') && !program.commands.some((c) => c.name() === helpFor)) {
      throw new ConfigError(`unknown command '${helpFor}'; run 'sessionctl help' for the list`);
    }
    await program.parseAsync(argv, { from: 'user' });
    return result;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are not errors; anything else commander rejects is a bad option.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return ExitCode.ok;
      return ExitCode.badInput;
    }
    return report(err, wantsJson, verbose);
  }
}

// `sessionctl --help | head`: a reader that stops early is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
