import type { RollbackReport } from './types.js';
import { visible } from '../util/controls.js';

const MARK = { none: '✓', restore: '↺', refuse: '✗' } as const;

/** Pure: the rollback plan (or its result) for a terminal. */
export function renderRollback(r: RollbackReport): string {
  if (!r.runId || r.files.length === 0) return visible(r.message);
  const out = [`${r.outcome === 'planned' ? 'Rollback plan' : 'Rollback'} of run ${r.runId} (${r.journal})`];
  for (const h of r.hosts) {
    out.push('', `${h.host}: back to ${h.before?.name ?? 'what it had before'}`);
    for (const f of r.files.filter((x) => x.host === h.host)) {
      const mark = f.ok === false ? '‼' : MARK[f.action];
      out.push(`  ${mark} ${f.path}`, `      ${f.result ?? f.reason}`);
    }
    const mark = h.ok === false ? '‼' : h.restart ? '↺' : '✓';
    out.push(`  ${mark} horizon: ${(h.result ?? h.reason).split('\n').join('\n      ')}`);
  }
  if (r.refusals.length) out.push('', ...r.refusals.map((x) => `✗ ${x}`));
  if (r.outcome !== 'planned') out.push('', r.message);
  return visible(out.join('\n'));
}
