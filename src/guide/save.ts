/** Step 7 of the guided mode: the answers saved as an inventory, and the unattended command. */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parseInventory } from '../inventory/load.js';
import type { Inventory, SecretRef } from '../inventory/types.js';
import { inventoryText, requiredEnv, unattendedCommand, withoutLiteralSecrets, type Answers } from './answers.js';
import { say, type Prompts } from './prompts.js';

/**
 * What a saved file means once loaded; relative paths of a picked file resolve against its folder.
 * A secret given literally and one named by a variable mean the same (the saved file names them).
 */
function meaning(inv: Inventory): string {
  const value = { hosts: inv.hosts.map(({ pos: _pos, ...h }) => h), session: inv.session, install: inv.install, rollout: inv.rollout, kolla: inv.kolla, sshConfig: inv.sshConfig };
  return JSON.stringify(value, (_key, v: unknown) => ((v as SecretRef | null)?.kind === 'literal' || (v as SecretRef | null)?.kind === 'env' ? 'a secret' : v));
}

export async function offerSave(ask: Prompts, answers: Answers, chosen: Inventory): Promise<void> {
  if (!(await ask.confirm('Save these answers as an inventory file (no secrets in it)?', true))) return;
  // A literal secret of a picked file is not written: the file names a variable instead.
  const saved = (file: string) => withoutLiteralSecrets(inventoryText(answers, file));
  const dir = answers.base ? dirname(answers.base.file) : process.cwd();
  const suggested = join(dir, existsSync(join(dir, 'inventory.yaml')) ? `inventory-${answers.backend}.yaml` : 'inventory.yaml');
  const file = resolve(
    await ask.input('Save as', {
      default: suggested,
      validate: (v) => {
        const file = resolve(v);
        if (existsSync(file)) return `${file} exists: choose another name`;
        const moved = meaning(parseInventory(saved(file).text, file)) !== meaning(chosen);
        return moved ? `relative paths in ${answers.base?.file} would point elsewhere from ${dirname(file)}: save it next to that file` : true;
      },
    }),
  );
  const { text, env: named } = saved(file);
  await writeFile(file, text, { mode: 0o600, flag: 'wx' });
  say(`Saved ${file}`);
  if (named.length) say(`  its literal secrets were left out: it names ${named.join(', ')} instead`);
  say('Repeat this run unattended:');
  say(`  ${unattendedCommand(file, answers)}`);
  const env = [...requiredEnv(answers), ...named];
  if (env.length) say(`  (with ${env.join(', ')} set in the environment)`);
}
