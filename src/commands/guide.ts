/**
 * The guided mode: questions fill in the same Answers -> inventory that a file holds, then the run
 * is the unattended pipeline (runSwitch) with a person at the confirmation. Nothing below
 * runSwitch knows a person answered.
 */
import { SessionctlError, type ExitCodeValue } from '../errors.js';
import { resolve } from 'node:path';
import { parseInventory, selectHosts } from '../inventory/load.js';
import type { Limit } from '../inventory/limit.js';
import { withSshConfig } from '../inventory/ssh-config.js';
import { inventoryText, type Answers } from '../guide/answers.js';
import { chooseInventory, pickFile, probeAll } from '../guide/hosts.js';
import { say, type Prompts } from '../guide/prompts.js';
import { offerSave } from '../guide/save.js';
import { askBackend, askDatabase, askInstall, askMemcached, askRedis, askSecurity, securityFrom } from '../guide/session.js';
import { renderStatus } from '../report/status.js';
import { status } from './status.js';
import { runSwitch } from './switch.js';

export interface GuideOptions {
  inventory?: string;
  /** --limit, any @file already read. */
  limit?: Limit;
  verbose: boolean;
  /** Where the run's journal goes (the same as apply's --state-dir). */
  stateDir: string;
  /** -F: the ssh_config file for an inventory file's hosts. */
  sshConfig?: string;
}

export async function guide(opts: GuideOptions, ask: Prompts): Promise<ExitCodeValue> {
  say('sessionctl guided mode: a few questions, then the same plan and apply as unattended runs.');
  say('Ctrl-C at any question stops with nothing changed.\n');

  // 1. Inventory: a file, or hosts entered (and probed) one by one.
  const answers: Answers = {};
  const sshConfig = opts.sshConfig === undefined || opts.sshConfig === 'none' ? opts.sshConfig : resolve(opts.sshConfig);
  const inventory = opts.inventory ? await pickFile(answers, opts.inventory, sshConfig) : await chooseInventory(ask, answers, sshConfig);
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
  if (answers.backend === 'redis') answers.redis ??= await askRedis(ask, now, current.redis, current.redis?.cluster ? 'cluster' : current.redis?.sentinel ? 'sentinel' : 'standalone');
  if (answers.backend === 'memcached') answers.memcached = { servers: await askMemcached(ask, now, current.memcached?.servers) };
  if (answers.backend === 'database') answers.database = await askDatabase(ask, current.database);
  const security = await askSecurity(ask, current.security ?? securityFrom(now));
  if (security) answers.security = security;
  if (!answers.base && answers.backend !== 'cookie') answers.install = await askInstall(ask);

  // 5-6. The unattended pipeline: plan with diffs, the logout warning and the confirmation, then apply.
  const parsed = parseInventory(inventoryText(answers), answers.base?.file ?? '<guided>');
  // An inventory file's hosts may rely on ssh_config, as when it was loaded in step 1; hosts entered here are complete.
  const chosen = answers.base ? await withSshConfig(parsed, sshConfig !== undefined ? { file: sshConfig } : {}) : parsed;
  const { report, exitCode } = await runSwitch(
    chosen,
    selectHosts(chosen, opts.limit),
    { mode: 'apply', stateDir: opts.stateDir, allowInsecureCookieSessions: answers.allowInsecureCookieSessions, ssh: { acceptNewHostKeys: false } },
    { json: false, verbose: opts.verbose, yes: false },
  );

  // 7. Save the answers and show how to repeat the run without a person.
  // Not after a refusal (locked hosts) or a Ctrl-C during the plan: the operator wants out.
  const interrupted = report.outcome === 'declined' && report.error !== undefined;
  if (report.outcome !== 'refused' && !interrupted) await offerSave(ask, answers, parsed);
  return exitCode;
}
