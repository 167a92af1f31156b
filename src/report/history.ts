import type { HistoryList, RunDetail } from './types.js';
import { renderTable } from './table.js';
import { visible } from '../util/controls.js';

/** Pure: the run list for a terminal. */
export function renderHistory(list: HistoryList): string {
  if (list.runs.length === 0) return `no runs journaled under ${list.stateDir}`;
  const rows = list.runs.map((r) =>
    'error' in r
      ? [r.id, '-', '-', '-', `UNREADABLE: ${r.error}`, '-']
      : [r.id, r.startedAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z'), r.by, r.backend, r.rolledBack ? `${r.outcome}; rolled back` : r.outcome, r.hostsTouched.join(',') || '-'],
  );
  return renderTable(['RUN', 'STARTED', 'BY', 'BACKEND', 'OUTCOME', 'HOSTS TOUCHED'], rows);
}

/** Pure: one run in detail. */
export function renderRunDetail(d: RunDetail): string {
  const h = d.header;
  const out = [
    `run ${h.runId} (${d.file})`,
    `  started   ${h.startedAt} by ${h.by}`,
    `  inventory ${h.inventory.path} (sha256 ${h.inventory.sha256 ?? 'unknown'})`,
    `  switch to ${h.backend}: ${h.where} (playbook ${h.playbook})`,
    `  hosts     ${h.hosts.join(', ')}`,
    `  outcome   ${d.summary.outcome}${d.outcome?.error ? `: ${d.outcome.error}` : ''}`,
  ];
  if (d.summary.rolledBack) out.push(`  rolled back by ${d.summary.rolledBack.by} at ${d.summary.rolledBack.at}`);
  if (d.plan) {
    out.push('', 'before the run:');
    for (const p of d.plan.hosts) out.push(`  ${p.host}: ${p.before?.name ?? 'unknown'}`);
  }
  out.push('', 'files written (host:path, backup on the host, sha256 before -> after):');
  if (d.files.length === 0) out.push('  none');
  for (const f of d.files) out.push(`  ${f.host}:${f.path}`, `      backup ${f.backup}`, `      ${f.before ?? 'absent'} -> ${f.after}`);
  if (d.packages.length) out.push('', 'packages:', ...d.packages.map((p) => `  ${p.host}: ${p.status} ${p.what}`));
  if (d.restarts.length) out.push('', 'restarts:', ...d.restarts.map((r) => `  ${r.host}: ${r.container} (${r.stage})`));
  if (d.steps.length) {
    out.push('', 'steps:');
    for (const s of d.steps) out.push(`  ${s.stage.padEnd(8)} ${(s.host ?? 'fleet').padEnd(10)} ${s.step.padEnd(24)} ${s.outcome}: ${s.detail.split('\n')[0]}`);
  }
  for (const r of d.rollbacks) {
    out.push('', `rollback by ${r.begin.by} at ${r.begin.at}${r.begin.force ? ' (--force)' : ''}: ${r.end?.outcome ?? 'unfinished'}`);
    for (const f of r.end?.files ?? []) out.push(`  ${f.host}:${f.path}: ${f.result}`);
    for (const x of r.end?.hosts ?? []) out.push(`  ${x.host}: ${x.result.split('\n')[0]}`);
  }
  return visible(out.join('\n'));
}
