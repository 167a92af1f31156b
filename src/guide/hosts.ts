/** Step 1 of the guided mode: the hosts, from an inventory file or entered and probed one by one. */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { loadInventory, parseInventory } from '../inventory/load.js';
import type { HostConfig, Inventory } from '../inventory/types.js';
import { answerProblem, inventoryText, type AccessAnswer, type Answers, type HostAnswer } from './answers.js';
import { probeHost } from './probe.js';
import type { SshTarget } from '../transport/types.js';
import { check, say, type Prompts } from './prompts.js';
import { existingFile, localPath, numberOrText } from './values.js';
import { FILE_LIMITS, readLocalFile } from '../util/files.js';

/** `sshConfig`: -F (the inventory's ssh_config or ~/.ssh/config otherwise). */
export async function pickFile(answers: Answers, file: string, sshConfig?: string): Promise<Inventory> {
  const path = resolve(file);
  const inventory = await loadInventory(path, sshConfig !== undefined ? { sshConfig } : {});
  answers.base = { file: path, text: (await readLocalFile(path, `inventory file ${path}`, FILE_LIMITS.inventory)).toString('utf8') };
  return inventory;
}

export async function chooseInventory(ask: Prompts, answers: Answers, sshConfig?: string): Promise<Inventory> {
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
          await loadInventory(resolve(p), sshConfig !== undefined ? { sshConfig } : {});
          return true;
        } catch (err) {
          return err instanceof ConfigError ? err.format() : (err as Error).message;
        }
      },
    });
    return pickFile(answers, file, sshConfig);
  }
  answers.access = await askAccess(ask);
  answers.hosts = [];
  if (await ask.confirm('Are the hosts reached through a jump host (bastion)?', false)) {
    await askHost(ask, answers, 'jump');
  }
  // At least one Dashboard host: one left out after a failed probe is asked for again.
  do await askHost(ask, answers, 'dashboard');
  while (!answers.hosts.some((h) => h.role === 'dashboard') || (await ask.confirm('Add another Dashboard host?', false)));
  return parseInventory(inventoryText(answers), '<guided>');
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

function trustKey(ask: Prompts) {
  return async (h: SshTarget, keyType: string, fp: string): Promise<boolean> => {
    say(`  ${h.name} (${h.address}, port ${h.port}) presents a host key that is not in ${h.knownHosts}:`);
    say(`    ${keyType} ${fp}`);
    return ask.confirm('Is this the host\'s real key (compare with ssh-keygen -lf on the host)? Trust it and add it to known_hosts?', false);
  };
}

export async function probeAll(ask: Prompts, inventory: Inventory, hosts: HostConfig[]): Promise<void> {
  for (const host of hosts) {
    const result = await probeHost(inventory, host, trustKey(ask));
    say(`  ${host.name}: ${result.ok ? 'reachable, host key known' : result.message}`);
  }
}
