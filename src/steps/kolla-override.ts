import { HostError } from '../errors.js';
import { patchSettings, unifiedDiff, type PatchResult } from '../settings/block.js';
import { assertJinjaInert, jinjaAsPython } from '../settings/jinja.js';
import { masker } from '../util/secret.js';
import type { FileSnapshot } from '../transport/hostfs.js';
import { blockFor, locate } from './settings.js';
import { fileUndo, writeWithBackup } from './file-undo.js';
import { fleetStep, type DeployFileChange, type DeployHost, type FleetContext } from './types.js';

/** The override kolla-ansible renders into /etc/kolla/horizon/ on each Dashboard host. */
export const OVERRIDE_FILE = '_9999-custom-settings.py';

/** A deploy-host file and the hosts that read it, before it is read. */
export type Reading = Pick<DeployFileChange, 'path' | 'kind' | 'readBy' | 'alsoReadBy'>;

/**
 * Pure: the file kolla-ansible renders for each host of the run, as its with_first_found picks
 * it: `<dir>/<host>/_9999-custom-settings.py` when it exists (`own`: the hosts that have one),
 * else `<dir>/_9999-custom-settings.py`, written once for all its readers. The shared file comes
 * first, then the hosts' own in run order; `unknown`: own files named after no Dashboard host.
 */
export function deployReadings(dir: string, run: string[], dashboards: string[], own: string[]): { readings: Reading[]; unknown: string[] } {
  const has = new Set(own);
  const shared = run.filter((h) => !has.has(h));
  const readings: Reading[] = [
    ...(shared.length ? [{ path: `${dir}/${OVERRIDE_FILE}`, kind: 'shared' as const, readBy: shared, alsoReadBy: dashboards.filter((h) => !run.includes(h) && !has.has(h)) }] : []),
    ...run.filter((h) => has.has(h)).map((h) => ({ path: `${dir}/${h}/${OVERRIDE_FILE}`, kind: 'host' as const, readBy: [h], alsoReadBy: [] })),
  ];
  return { readings, unknown: own.filter((h) => !dashboards.includes(h)) };
}

/**
 * Pure: what the operator is told before confirming about hosts outside the run. They are told, not
 * refused: the deploy host's file says what the cloud should run, and leaving it on the old backend
 * would let the next reconfigure quietly undo the hosts switched now. Whoever limits a run (a
 * canary) means to switch the rest next, and learns which hosts a reconfigure would switch first.
 */
export function deployWarnings(files: DeployFileChange[]): string[] {
  return files
    .filter((f) => f.changed && f.alsoReadBy.length)
    .map((f) => {
      const [them, read] = f.alsoReadBy.length === 1 ? ['it', 'reads'] : ['them', 'read'];
      return `${f.alsoReadBy.join(', ')} ${read} the deploy host's shared ${f.path} but ${f.alsoReadBy.length === 1 ? 'is' : 'are'} not in this run: the next kolla-ansible reconfigure or deploy gives ${them} the new backend (without the checks and client library sessionctl brings); switch ${them} with sessionctl before then`;
    });
}

/** One file: its readers' block (one for all of them), patched in with the template left intact. */
async function planFile(fleet: FleetContext, d: DeployHost, r: Reading, before: FileSnapshot | null): Promise<{ file: DeployFileChange; patched: PatchResult }> {
  const where = `${d.name}:${r.path}`;
  if (r.kind === 'host' && !before) throw new HostError(d.name, `${r.path} disappeared while the plan read it; run again`);
  const readers = r.readBy.map((name) => fleet.hosts.find((h) => h.host.name === name)!);
  const blocks = new Map<string, string[]>();
  for (const h of readers) {
    const b = blockFor(h);
    blocks.set(b, [...(blocks.get(b) ?? []), h.host.name]);
  }
  if (blocks.size > 1) {
    const groups = [...blocks.values()].map((hs) => hs.join(', ')).join(' / ');
    throw new HostError(d.name, `the hosts reading ${where} need different settings (different Django or libraries: ${groups}); one file cannot hold them: give each its own ${d.dir}/<host>/${OVERRIDE_FILE}`);
  }
  const block = [...blocks.keys()][0]!;
  assertJinjaInert(block, where);
  const original = before ? before.content.toString('utf8') : '';
  if (before && !Buffer.from(original, 'utf8').equals(before.content)) throw new HostError(d.name, `${r.path} is not UTF-8 text; sessionctl will not rewrite it`);
  // The file is a template: Python reads it with its Jinja tags blanked out, line for line, so a
  // templated file is patched instead of refused; what that cannot read is refused, naming the line.
  const python = jinjaAsPython(original);
  if ('error' in python) throw new HostError(d.name, `${where}:${python.error.line}:${python.error.col}: ${python.error.msg}; fix it first`);
  const { owned } = fleet.run.desired;
  // Parsing is pure: any Horizon container's Python will do; the file's own reader spreads the work.
  const found = await locate(readers[0]!, python.text, owned);
  if (found.syntaxError) {
    const e = found.syntaxError;
    const how = python.templated ? ' (read as Python with its Jinja tags blanked out, as kolla-ansible renders it through Jinja)' : '';
    throw new HostError(d.name, `${where}:${e.line}: ${e.msg}${how}; fix it first`);
  }
  let patched: PatchResult;
  try {
    patched = patchSettings(original, block, owned, found.assignments, { jinja: true });
  } catch (err) {
    throw new HostError(d.name, `${where}: ${(err as Error).message}`);
  }
  const changed = patched.text !== original;
  const diff = changed ? masker.mask(unifiedDiff(where, original, patched.text)) : '';
  return { file: { ...r, before, after: patched.text, changed, diff }, patched };
}

function describe(d: DeployHost, file: DeployFileChange, patched: PatchResult): string {
  const lines = (as: { name: string; line: number }[]) => as.map((a) => `${a.name} (line ${a.line})`).join(', ');
  return [
    `write the block into ${d.name}:${file.path} (read by ${file.readBy.join(', ')})`,
    patched.neutralised.length ? `comments out ${lines(patched.neutralised)}` : '',
    patched.templated.length ? `leaves templated ${lines(patched.templated)} (the block comes later and wins)` : '',
    patched.leftAlone.length ? `leaves nested ${lines(patched.leftAlone)} (the block comes later and wins)` : '',
    file.alsoReadBy.length ? `also read by ${file.alsoReadBy.join(', ')}, not in this run` : '',
  ]
    .filter(Boolean)
    .join(', ');
}

/**
 * The same managed block in the deploy host's override that kolla-ansible renders for each host of
 * the run, so a later `kolla-ansible reconfigure` renders the new backend instead of undoing it.
 * Gives `deployFile`: every such file, written or not. Backed up, diffed and rolled back like the
 * Dashboard hosts' files, one journal record per file.
 */
export const kollaOverride = fleetStep({
  title: "deploy host's Kolla override says the same",
  needs: [],
  gives: ['deployFile'],
  async plan(fleet) {
    const d = fleet.deploy;
    if (!d) return { action: 'none', reason: 'skipped: no kolla.deploy_host in the inventory (a reconfigure will undo the switch)', gives: { deployFile: [] } };
    const { readings, unknown } = deployReadings(d.dir, fleet.hosts.map((h) => h.host.name), d.dashboards, await d.files.holders(d.dir, OVERRIDE_FILE));
    const snapshots = await d.files.readAll(readings.map((r) => r.path));
    const planned = await Promise.all(readings.map((r) => planFile(fleet, d, r, snapshots.get(r.path) ?? null)));
    const deployFile = planned.map((p) => p.file);
    const note = unknown.length
      ? `; note: ${unknown.map((h) => `${d.dir}/${h}/`).join(', ')} ${unknown.length === 1 ? 'holds an override for a host' : 'hold overrides for hosts'} not in the inventory (kolla-ansible reads such a file instead of the shared one: if a host is named differently in kolla-ansible's inventory, use that name here)`
      : '';
    const changes = planned.filter((p) => p.file.changed);
    if (!changes.length) {
      return { action: 'none', reason: `no change: ${deployFile.map((f) => `${d.name}:${f.path}`).join(', ')} already ${deployFile.length === 1 ? 'has' : 'have'} this block${note}`, gives: { deployFile } };
    }
    return {
      action: 'change',
      summary: changes.map((p) => describe(d, p.file, p.patched)).join('; ') + note,
      diff: changes.map((p) => p.file.diff).join(''),
      gives: { deployFile },
    };
  },
  async apply(fleet, { deployFile }, remember) {
    const d = fleet.deploy!;
    const target = { name: d.name, files: d.files };
    const notes: string[] = [];
    // One file after the other, each announced before its write: a failed second write still has the first undone.
    for (const f of deployFile.filter((x) => x.changed)) {
      const record = { runId: fleet.run.id, host: d.name, role: 'deploy-override' as const, path: f.path, before: f.before, text: f.after };
      notes.push(await writeWithBackup(d.files, record, (r) => remember(r, target), { parents: f.kind === 'shared' }));
    }
    return `${d.name}: ${notes.join('; ')}`;
  },
  undo: fileUndo,
});
