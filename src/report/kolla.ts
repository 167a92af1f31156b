/** The "derived from Kolla" section of plan and status: what was read from kolla-ansible's files, and from where. */
import type { KollaConfig } from '../inventory/types.js';
import type { KollaSection } from './types.js';

/**
 * Pure: the section for a report. `backend`: only that backend's derived settings (a plan);
 * absent: every derived value (status).
 */
export function kollaSection(kolla: KollaConfig | undefined, backend?: string): KollaSection | undefined {
  if (!kolla?.inventory) return undefined;
  const derived = (kolla.derived ?? []).filter((d) => backend === undefined || d.backend === undefined || d.backend === backend);
  const unresolved = Object.entries(kolla.unresolved ?? {})
    .filter(([b]) => backend === undefined || b === backend)
    .map(([b, why]) => `${b}: ${why}`);
  return { inventory: kolla.inventory, derived, notes: [...(kolla.notes ?? []), ...unresolved.map((u) => `not derived: ${u}`)] };
}

/** Pure: the section as text lines. */
export function renderKolla(k: KollaSection): string[] {
  const out = [`Derived from Kolla (${k.inventory}):`];
  const width = Math.min(32, Math.max(0, ...k.derived.map((d) => d.what.length)));
  for (const d of k.derived) out.push(`  ${d.what.padEnd(width)}  ${d.value}`, `  ${' '.repeat(width)}    from ${d.from}`);
  for (const n of k.notes) out.push(`  note: ${n}`);
  return out;
}
