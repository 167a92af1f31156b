import { switchBackend, type SwitchOptions } from './apply.js';
import type { SwitchReport } from '../report/types.js';
import { renderSwitch, plainLine } from '../report/run.js';
import type { ExitCodeValue } from '../errors.js';
import type { HostConfig, Inventory } from '../inventory/types.js';
import { forTerminal, jsonForTerminal } from '../util/terminal.js';
import { versioned } from '../report/json.js';
import { progressMode } from '../report/progress.js';

/** How the operator wants to see a plan or apply run (the global flags). */
export interface SwitchView {
  json: boolean;
  verbose: boolean;
  yes: boolean;
}

/**
 * plan/apply with the operator's output around it: listr2 or plain progress, the plan shown before
 * the confirmation, the final report. Shared by `plan`, `apply` and the guided mode.
 */
export async function runSwitch(
  inventory: Inventory,
  hosts: HostConfig[],
  opts: Omit<SwitchOptions, 'onEvent' | 'confirm'>,
  view: SwitchView,
): Promise<{ report: SwitchReport; exitCode: ExitCodeValue }> {
  const mode = progressMode({ isTTY: Boolean(process.stderr.isTTY), json: view.json, verbose: view.verbose, env: process.env });
  const progress = mode === 'none' ? null : process.stderr;
  // listr2 in a terminal; one plain line per event in CI, logs, pipes and with NO_COLOR.
  // Loaded only for a person at a terminal: unattended runs start faster without them.
  const live = mode === 'live' ? new (await import('../report/listr.js')).ListrProgress(hosts.map((h) => h.name)) : undefined;
  const result = await switchBackend(inventory, hosts, {
    ...opts,
    onEvent: (e) => {
      if (live) return live.onEvent(e);
      const line = progress ? plainLine(e) : undefined;
      if (line) progress!.write(forTerminal(line) + '\n');
    },
    confirm: async (planned, warning) => {
      if (view.yes) return true;
      await live?.flush();
      process.stdout.write(forTerminal(renderSwitch(planned)) + '\n\n');
      const { confirm } = await import('@inquirer/prompts');
      return confirm({ message: `${warning} Apply this plan?`, default: false });
    },
  });
  await live?.flush();
  if (view.json) process.stdout.write(jsonForTerminal(versioned(result.report)) + '\n');
  else process.stdout.write(forTerminal(renderSwitch(result.report)) + '\n');
  return result;
}
