import { HostError } from '../errors.js';
import { patchSettings, renderBlock, unifiedDiff } from '../settings/block.js';
import { HOST_STATE_DIR, sha256 } from '../transport/hostfs.js';
import { masker } from '../util/secret.js';
import { hostSettings, locate } from './settings.js';
import type { FleetStep, RunContext } from '../runner/types.js';

/** The one block every Dashboard host gets; the deploy host's override can hold only one. */
function fleetBlock(run: RunContext): string {
  const texts = new Set(
    run.hosts.map((h) => {
      const s = hostSettings(h);
      return renderBlock(s.block, `session backend: ${run.desired.target.name}`, s.prelude);
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
export const kollaOverride: FleetStep = {
  scope: 'fleet',
  title: "deploy host's Kolla override says the same",
  async plan(run) {
    const d = run.deploy;
    if (!d) return { action: 'none', reason: 'skipped: no kolla.deploy_host in the inventory (a reconfigure will undo the switch)' };
    const block = fleetBlock(run);
    d.before = await d.files.read(d.path);
    const original = d.before ? d.before.content.toString('utf8') : '';
    // Parsing is pure: any Horizon container's Python will do.
    const parser = run.hosts[0]!;
    const found = await locate(parser, original, run.desired.owned);
    if (found.syntaxError) throw new HostError(d.name, `${d.path}:${found.syntaxError.line}: ${found.syntaxError.msg}; fix it first`);
    const patched = patchSettings(original, block, run.desired.owned, found.assignments);
    d.after = patched.text;
    if (patched.text === original) return { action: 'none', reason: `no change: ${d.name}:${d.path} already has this block` };
    return { action: 'change', summary: `write the same block into ${d.name}:${d.path}`, diff: masker.mask(unifiedDiff(`${d.name}:${d.path}`, original, patched.text)) };
  },
  async apply(run) {
    const d = run.deploy!;
    const backup = `${HOST_STATE_DIR}/backups/${run.id}/${d.path.replace(/\//g, '%')}`;
    const content = Buffer.from(d.after!, 'utf8');
    run.journal?.append({ type: 'file', host: d.name, role: 'deploy-override', path: d.path, backup, before: d.before?.sha256 ?? null, after: sha256(content) });
    d.backup = backup;
    await d.files.backup(d.path, d.backup);
    d.written = await d.files.write(d.path, content, d.before?.sha256 ?? null, { parents: true });
    return `wrote ${d.name}:${d.path} (backup ${d.backup})`;
  },
  async rollback(run) {
    const d = run.deploy!;
    if (!d.backup) return 'nothing written';
    const now = (await d.files.read(d.path))?.sha256 ?? null;
    const before = d.before?.sha256 ?? null;
    if (now === before) return `${d.name}:${d.path} already has its original bytes`;
    if (now !== d.written) throw new HostError(d.name, `${d.path} changed since sessionctl wrote it; compare it with ${d.backup} and restore by hand`);
    const restored = await d.files.restore(d.path, d.backup);
    if (restored !== before) throw new HostError(d.name, `restoring ${d.path} gave sha256 ${restored}, expected ${before}`);
    return `${d.name}:${d.path} restored to its exact bytes`;
  },
};
