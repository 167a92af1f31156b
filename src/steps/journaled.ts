import { basename, posix } from 'node:path';
import { JournalError } from '../errors.js';
import { settingsCandidates } from '../facts/gather.js';
import { CUSTOM_FILES } from '../facts/horizon.js';
import { selectHosts } from '../inventory/load.js';
import type { HostConfig, Inventory } from '../inventory/types.js';
import { inRunOrder, touchedFiles, type RunJournal } from '../journal/run.js';
import type { FileRecord, Sequenced } from '../journal/records.js';
import { HOST_BACKUPS_DIR } from '../transport/hostfs.js';
import { backupPath } from './file-undo.js';
import { OVERRIDE_FILE } from './kolla-override.js';
import type { RestartUndo, UndoEntry, UndoTarget } from './types.js';

/** The step whose undo restores a journaled file. */
export function stepOfFile(role: FileRecord['role']): 'patch-settings' | 'kolla-override' {
  return role === 'settings' ? 'patch-settings' : 'kolla-override';
}

/**
 * The undo entries of a journaled run, for `sessionctl rollback`: the records the run's own
 * rollback would have used, rebuilt from the journal (each was fsync'd before its change). Files
 * belong to the step that wrote them; every Dashboard host whose settings the run wrote gets the
 * restart's undo, which restarts it when the run did (and no rollback restarted it since) or when
 * its Horizon does not resolve the previous backend.
 */
export function undoEntriesOf(run: RunJournal, targetOf: (host: string) => UndoTarget): UndoEntry[] {
  const files = touchedFiles(run);
  const beforeOf = new Map((run.plan?.hosts ?? []).map((h) => [h.host, h.before]));
  return inRunOrder(run, files.map((f) => f.host)).flatMap((host) => {
    const target = targetOf(host);
    const mine = files.filter((f) => f.host === host);
    const entries: UndoEntry[] = mine.map((f) => ({ target, step: stepOfFile(f.role), record: f }));
    if (mine.some((f) => f.role === 'settings')) {
      const restarts = run.restarts.filter((r) => r.host === host);
      const last = restarts.at(-1);
      const loginUrl = restarts.filter((r) => r.loginUrl).at(-1)?.loginUrl;
      // The rollback loads the restored settings the way the run loaded the new ones.
      const loaded = restarts.filter((r) => r.stage === 'apply').at(-1);
      const record: RestartUndo = {
        container: last?.container ?? target.host!.container,
        before: beforeOf.get(host) ?? null,
        restarted: last?.stage === 'apply',
        ...(loginUrl ? { loginUrl } : {}),
        ...(loaded?.method === 'reload' && loaded.files ? { method: 'reload' as const, files: loaded.files } : {}),
        ...(loaded?.drains?.length ? { drains: loaded.drains } : {}),
      };
      entries.push({ target, step: 'restart', record });
    }
    return entries;
  });
}

/** A journal record sessionctl could not have written: its line, and why. */
export interface JournalDoubt {
  line: number;
  reason: string;
  /**
   * Only its folder is not the inventory's config_dir: the host whose container may mount another
   * one (the patch step follows the mount), to be asked before refusing.
   */
  askMount?: string;
}

/**
 * Pure: the records of a journal that sessionctl could not have written for this inventory. Its
 * per-line sha256 finds damage, not forgery (anyone who can write the journal can recompute it), so
 * before `rollback` restores anything: each file must be one the run would patch on that host (the
 * settings file under its config_dir or settings_file, or the Kolla deploy host's override), each
 * backup that run's own backup of that file, each restarted container the host's. `mounts`: the
 * folder a host's container mounts Kolla's config from (asked when a doubt says `askMount`).
 */
export function journalDoubts(run: RunJournal, inventory: Inventory, mounts: ReadonlyMap<string, string | null> = new Map()): JournalDoubt[] {
  const doubts: JournalDoubt[] = [];
  const runId = run.header.runId;
  if (basename(run.file) !== `${runId}.jsonl`) doubts.push({ line: 1, reason: `the header names run ${runId}, but the file is ${basename(run.file)}` });
  const dashboard = (name: string) => inventory.hosts.find((h) => h.name === name && h.role === 'dashboard');
  for (const f of run.files) {
    const doubt = fileDoubt(f, runId, inventory, dashboard(f.host), mounts);
    if (doubt) doubts.push({ line: f.seq, ...doubt });
  }
  for (const r of run.restarts) {
    const host = dashboard(r.host);
    if (!host) doubts.push({ line: r.seq, reason: `a restart of ${r.host}, which is not a Dashboard host of ${inventory.file}` });
    else if (r.container !== host.container) doubts.push({ line: r.seq, reason: `a restart of container '${r.container}' on ${r.host}, whose Horizon container is '${host.container}'` });
  }
  return doubts;
}

/** A JournalError for the first doubt (file:line), saying that nothing was changed. */
export function doubtError(run: RunJournal, doubts: JournalDoubt[]): JournalError {
  const d = doubts[0]!;
  const more = doubts.length > 1 ? ` (and ${doubts.length - 1} more record(s))` : '';
  return new JournalError(run.file, d.line, `${d.reason}${more}: sessionctl never writes such a record, so the journal was edited or forged; refusing to roll back from it, nothing was changed`);
}

function fileDoubt(f: FileRecord, runId: string, inventory: Inventory, host: HostConfig | undefined, mounts: ReadonlyMap<string, string | null>): Omit<JournalDoubt, 'line'> | undefined {
  if (!plainPath(f.path)) return { reason: `the path ${JSON.stringify(f.path)} is not a plain absolute path (no '.' or '..' parts)` };
  const folder = `${HOST_BACKUPS_DIR}/${runId}`;
  if (!plainPath(f.backup)) return { reason: `the backup ${JSON.stringify(f.backup)} is not a plain absolute path (no '.' or '..' parts)` };
  if (posix.dirname(f.backup) !== folder) return { reason: `the backup ${f.backup} is outside this run's backup folder ${folder}/` };
  if (f.backup !== backupPath(runId, f.path)) return { reason: `the backup ${f.backup} is not the one this run makes of ${f.path} (${backupPath(runId, f.path)})` };
  const path = posix.normalize(f.path);
  if (f.role === 'settings') {
    if (!host) return { reason: `a settings file of ${f.host}, which is not a Dashboard host of ${inventory.file}` };
    const mount = mounts.get(host.name);
    const allowed = settingsFiles(host, mount);
    if (allowed.includes(path)) return undefined;
    const kolla = host.layout !== 'plain' && allowed.some((a) => posix.basename(a) === posix.basename(path));
    return {
      reason: `${f.path} is not a settings file sessionctl patches on ${f.host} (${allowed.join(', ') || 'none'}${mount === undefined ? '' : `, the container mounting ${mount ?? 'no config folder'}`})`,
      ...(kolla && mount === undefined ? { askMount: host.name } : {}),
    };
  }
  if (f.role === 'deploy-override') {
    const kolla = inventory.kolla;
    if (!kolla?.deployHost) return { reason: `a deploy host override on ${f.host}, but ${inventory.file} names no kolla.deploy_host` };
    if (f.host !== kolla.deployHost) return { reason: `a deploy host override on ${f.host}, but the deploy host is ${kolla.deployHost}` };
    const dir = posix.normalize(`${kolla.configDir}/horizon`);
    const allowed = [`${dir}/${OVERRIDE_FILE}`, ...selectHosts(inventory).map((h) => `${dir}/${h.name}/${OVERRIDE_FILE}`)];
    if (allowed.includes(path)) return undefined;
    return { reason: `${f.path} is not an override sessionctl writes on the deploy host (${dir}/${OVERRIDE_FILE} or ${dir}/<Dashboard host>/${OVERRIDE_FILE})` };
  }
  return { reason: `a file of unknown role ${JSON.stringify((f as { role: unknown }).role)}` };
}

/** The files the patch step may write on a host: under its config_dir (and where its container mounts Kolla's config from), or its settings_file. */
function settingsFiles(host: HostConfig, mount: string | null | undefined): string[] {
  const names = host.layout === 'auto' ? Object.values(CUSTOM_FILES) : host.layout === 'plain' ? [] : [CUSTOM_FILES[host.layout]];
  const mounted = mount ? names.map((n) => `${mount}/${n}`) : [];
  return [...new Set([...settingsCandidates(host), ...mounted].map((p) => posix.normalize(p)))];
}

/** Absolute, and no part the host would resolve otherwise than the string reads ('.', '..': through symlinks). */
function plainPath(p: unknown): p is string {
  if (typeof p !== 'string' || !p.startsWith('/') || p.includes('\0')) return false;
  return p.split('/').every((part) => part !== '.' && part !== '..');
}
