/** Step 7 of the guided mode: the answers saved as an inventory, and the unattended command. */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parseInventory } from '../inventory/load.js';
import type { Inventory } from '../inventory/types.js';
import { inventoryText, requiredEnv, unattendedCommand, type Answers } from './answers.js';
import { say, type Prompts } from './prompts.js';

/** What a saved file means once loaded; relative paths of a picked file resolve against its folder. */
function meaning(inv: Inventory): string {
  return JSON.stringify({ hosts: inv.hosts.map(({ pos: _pos, ...h }) => h), session: inv.session, install: inv.install, rollout: inv.rollout, kolla: inv.kolla });
}

export async function offerSave(ask: Prompts, answers: Answers, chosen: Inventory): Promise<void> {
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
