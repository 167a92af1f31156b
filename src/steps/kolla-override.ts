import { HostError } from '../errors.js';
import { patchSettings, renderBlock, unifiedDiff } from '../settings/block.js';
import { masker } from '../util/secret.js';
import { hostSettings, locate } from './settings.js';
import { fileUndo, writeWithBackup } from './file-undo.js';
import { fleetStep, type FleetContext } from './types.js';

/** The one block every Dashboard host gets; the deploy host's override can hold only one. */
function fleetBlock(fleet: FleetContext): string {
  const texts = new Set(
    fleet.hosts.map((h) => {
      const s = hostSettings(h);
      return renderBlock(s.block, `session backend: ${fleet.run.desired.target.name}`, s.prelude);
    }),
  );
  if (texts.size > 1) throw new Error('the Dashboard hosts need different settings (different Django or libraries); one deploy-host override cannot hold them');
  return [...texts][0]!;
}

/**
 * The same managed block in <kolla.config_dir>/horizon/_9999-custom-settings.py on the deploy
 * host, so a later `kolla-ansible reconfigure` renders the new backend instead of undoing it.
 * Backed up, diffed and rolled back like the Dashboard hosts' files.
 */
export const kollaOverride = fleetStep({
  title: "deploy host's Kolla override says the same",
  needs: [],
  gives: ['deployFile'],
  async plan(fleet) {
    const d = fleet.deploy;
    if (!d) return { action: 'none', reason: 'skipped: no kolla.deploy_host in the inventory (a reconfigure will undo the switch)', gives: { deployFile: null } };
    const block = fleetBlock(fleet);
    const before = await d.files.read(d.path);
    const original = before ? before.content.toString('utf8') : '';
    // Parsing is pure: any Horizon container's Python will do.
    const found = await locate(fleet.hosts[0]!, original, fleet.run.desired.owned);
    if (found.syntaxError) throw new HostError(d.name, `${d.path}:${found.syntaxError.line}: ${found.syntaxError.msg}; fix it first`);
    const patched = patchSettings(original, block, fleet.run.desired.owned, found.assignments);
    const deployFile = { path: d.path, before, after: patched.text, changed: patched.text !== original };
    if (!deployFile.changed) return { action: 'none', reason: `no change: ${d.name}:${d.path} already has this block`, gives: { deployFile } };
    return { action: 'change', summary: `write the same block into ${d.name}:${d.path}`, diff: masker.mask(unifiedDiff(`${d.name}:${d.path}`, original, patched.text)), gives: { deployFile } };
  },
  async apply(fleet, { deployFile }, remember) {
    const d = fleet.deploy!;
    const f = deployFile!;
    const note = await writeWithBackup(d.files, { runId: fleet.run.id, host: d.name, role: 'deploy-override', path: f.path, before: f.before, text: f.after }, (r) => remember(r, { name: d.name, files: d.files }), { parents: true });
    return `${d.name}: ${note}`;
  },
  undo: fileUndo,
});
