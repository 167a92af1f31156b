import { visible } from '../util/controls.js';

/** Pure: align rows under headers, two spaces between columns; cells made visible first, so escapes count in the widths. */
export function renderTable(headers: string[], rows: string[][]): string {
  rows = rows.map((r) => r.map(visible));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}
