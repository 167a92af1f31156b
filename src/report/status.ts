import type { StatusReport, HostStatus } from './types.js';
import type { LibraryFact } from '../facts/libraries.js';
import { renderTable } from './table.js';
import { visible } from '../util/controls.js';
import { renderKolla } from './kolla.js';

/** Pure: the terminal view of `sessionctl status`. */
export function renderStatus(report: StatusReport): string {
  const rows = report.hosts.map((h) => [
    h.host,
    h.reachable ? containerCell(h) : 'UNREACHABLE',
    h.webServer ? `${h.webServer.kind} ${new URL(h.webServer.loginUrl).host}` : '-',
    h.django ? `${h.django}/py${h.python ?? '?'}` : '-',
    layoutCell(h.layout),
    h.backend ?? '-',
    h.persistence ? (h.persistence.survives === null ? 'unknown' : h.persistence.survives ? 'yes' : 'no') : '-',
    locationCell(h),
    h.imports?.django_redis ?? (h.imports ? 'no' : '-'),
    h.imports ? [h.imports.mysql ? 'mysql' : '', h.imports.postgresql ? 'pg' : ''].filter(Boolean).join(',') || 'none' : '-',
    h.secretKeySha256 ? h.secretKeySha256.slice(0, 12) : '-',
  ]);
  const out = [
    renderTable(['HOST', 'CONTAINER', 'WEB SERVER', 'DJANGO/PY', 'LAYOUT', 'SESSIONS', 'KEPT ON RESTART', 'LOCATION', 'DJANGO_REDIS', 'DB DRIVER', 'SECRET_KEY sha256'], rows),
  ];
  // Hosts that share a backend say the same: one line for them.
  const kept = new Map<string, string[]>();
  for (const h of report.hosts) if (h.persistence) kept.set(h.persistence.detail, [...(kept.get(h.persistence.detail) ?? []), h.host]);
  if (kept.size) out.push('', 'Do sessions survive a restart of the session backend?', ...[...kept].map(([detail, hosts]) => `  ${hosts.join(', ')}: ${detail}`));
  const libraries = report.hosts.flatMap((h) => (h.libraries ?? []).map((l) => [h.host, l.module, l.version ?? '-', originCell(l)]));
  if (libraries.length) out.push('', 'Session client libraries (does a recreated container still have them?):', indent(renderTable(['HOST', 'LIBRARY', 'VERSION', 'FROM'], libraries)));
  const problems = report.hosts.filter((h) => h.error).map((h) => `  ${h.host}: ${h.error}`);
  if (problems.length) out.push('', 'Errors:', ...problems);
  if (report.warnings.length) out.push('', 'Warnings:', ...report.warnings.map((w) => `  ! ${w}`));
  if (report.kolla) out.push('', ...renderKolla(report.kolla));
  // Image names, locations, errors: all from the hosts.
  return visible(out.join('\n'));
}

function containerCell(h: HostStatus): string {
  if (h.container === null) return 'missing';
  if (!h.container) return '?';
  return h.container.health === 'none' ? h.container.state : `${h.container.state}/${h.container.health}`;
}

function layoutCell(layout: string | undefined): string {
  switch (layout) {
    case 'kolla-local-settings-d':
      return 'kolla>=2024.1';
    case 'kolla-local-settings':
      return 'kolla<=2023.2';
    default:
      return layout ?? '-';
  }
}

function locationCell(h: HostStatus): string {
  if (h.backend?.startsWith('database') && h.database) return `${h.database.host ?? 'local'}/${h.database.name ?? ''}`;
  const loc = h.cache?.location;
  if (Array.isArray(loc)) return loc.join(',');
  return loc == null || loc === '' ? '-' : String(loc);
}

/** What recreating the container (kolla-ansible upgrade or deploy) does to a library. */
export function originCell(l: LibraryFact): string {
  switch (l.origin) {
    case 'image':
      return 'image';
    case 'container layer':
      return 'container layer only (lost when the container is recreated)';
    case 'missing':
      return 'missing (does not import)';
    case 'unknown':
      return `unknown (${l.why ?? 'no answer'})`;
  }
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
