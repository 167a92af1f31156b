import type { RunEvent } from '../runner/runner.js';
import type { SwitchReport } from './types.js';
import type { Outcome } from '../runner/results.js';
import { visible } from '../util/controls.js';
import { renderKolla } from './kolla.js';

const MARK: Record<Outcome, string> = {
  changed: '~',
  unchanged: '✓',
  skipped: '-',
  failed: '✗',
  'rolled-back': '↺',
  'rollback-failed': '‼',
};

/** Plain progress for CI and logs: one line per event, no cursor tricks (nor any a host sends: control characters made visible). */
export function plainLine(e: RunEvent): string | undefined {
  const line = eventLine(e);
  return line === undefined ? undefined : visible(line);
}

function eventLine(e: RunEvent): string | undefined {
  switch (e.type) {
    case 'stage':
      return `== ${e.stage}`;
    case 'phase':
      return `-- ${e.stage} ${e.phase}`;
    case 'log':
      return `   ${e.host ?? 'fleet'}: ${e.line}`;
    case 'start':
      return undefined; // the step's line, with its duration, follows when it ends
    case 'step': {
      const r = e.result;
      const label = r.stage === 'plan' ? (r.outcome === 'changed' ? 'would change' : r.outcome === 'unchanged' ? 'ok' : r.outcome) : r.outcome;
      return `${MARK[r.outcome]} ${(r.host ?? 'fleet').padEnd(10)} ${r.step.padEnd(24)} ${label}: ${firstLine(r.detail)} (${(r.durationMs / 1000).toFixed(1)}s)`;
    }
  }
}

/** Pure: the plan (or the result of apply) as text for a terminal. */
export function renderSwitch(report: SwitchReport): string {
  const out: string[] = [];
  const verb = report.mode === 'plan' || report.outcome === 'planned' ? 'Plan' : 'Result';
  out.push(`${verb}: switch to ${report.backend} (run ${report.runId})`);
  if (report.kolla) out.push('', ...renderKolla(report.kolla));
  const shown = new Map<string, string>();
  for (const h of report.hosts) {
    out.push('', `${h.host}: ${h.before} -> ${h.after}`);
    for (const s of h.steps) out.push(`  ${MARK[s.outcome]} ${s.step.padEnd(24)} ${s.detail.split('\n').join('\n' + ' '.repeat(29))}`);
    if (!h.diff) continue;
    // Identical diffs (the usual case in a fleet) are printed once.
    const same = shown.get(h.diff);
    if (same) out.push(`    (same settings diff as ${same})`);
    else {
      shown.set(h.diff, h.host);
      out.push('', indent(h.diff.trimEnd(), 4));
    }
  }
  if (report.fleet.length) {
    out.push('', 'fleet:');
    for (const s of report.fleet) out.push(`  ${MARK[s.outcome]} ${s.step.padEnd(24)} ${s.detail}`);
  }
  for (const f of report.deployFiles ?? []) {
    const also = f.alsoReadBy.length ? `; also read by ${f.alsoReadBy.join(', ')}, not in this run` : '';
    out.push('', `deploy host ${f.host}: ${f.path} (read by ${f.readBy.join(', ')}${also})`, indent(f.diff.trimEnd(), 4));
  }
  out.push('', summary(report));
  for (const w of report.warnings) out.push(`! ${w}`);
  for (const o of report.imageOverrides ?? []) {
    out.push('', `kolla-build --template-override FILE for the horizon image of ${o.hosts.join(', ')}; FILE:`, indent(o.template.trimEnd(), 4));
  }
  if (report.journal && report.outcome !== 'planned') out.push(`Journal: ${report.journal} (sessionctl history --run ${report.runId}; undo with sessionctl rollback --run ${report.runId})`);
  // Diffs, details and errors quote the hosts.
  return visible(out.join('\n'));
}

function summary(r: SwitchReport): string {
  const changed = r.hosts.filter((h) => h.steps.some((s) => s.outcome === 'changed')).map((h) => h.host);
  switch (r.outcome) {
    case 'planned':
      return `Would change ${changed.length} of ${r.hosts.length} host(s): ${changed.join(', ')}. Nothing was changed (plan).`;
    case 'no-change':
      return `no change: every host already uses ${r.backend} as asked; nothing restarted.`;
    case 'applied':
      return `Switched ${changed.length} of ${r.hosts.length} host(s) to ${r.backend}.`;
    case 'refused':
    case 'failed':
      return `Stopped before any change: ${r.error}`;
    case 'declined':
      return r.error ? `Stopped, ${r.error}.` : 'Not confirmed: nothing was changed.';
    case 'rolled-back':
      return `FAILED and rolled back (${r.rolledBack?.join(', ') || 'nothing had changed'}): ${r.error}`;
    case 'rollback-failed':
      return `FAILED and the rollback failed on ${r.rollbackFailed?.join(', ')}: see the ‼ lines for what to do by hand. Cause: ${r.error}`;
  }
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? '';
}

function indent(s: string, n: number): string {
  return s
    .split('\n')
    .map((l) => ' '.repeat(n) + l)
    .join('\n');
}
