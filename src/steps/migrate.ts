import { basename } from 'node:path';
import { probeWithOverlay, pythonJson } from '../facts/horizon.js';
import { fleetStep, type HostContext, type SettingsChange } from './types.js';

/** The first host (all passed preflight): the migration runs there, with its patched settings. */
function migrationHost(hosts: { ctx: HostContext; settings: SettingsChange }[]) {
  const h = hosts[0]!;
  return { h: h.ctx, overlay: { [basename(h.settings.path)]: h.settings.after } };
}

/**
 * `manage.py migrate sessions` exactly once per switch: a fleet step, so it runs once whatever the
 * batches; after the settings are patched (Django resolves them through the overlay, as the next
 * start will) and before any restart. `django_session` must exist afterwards.
 */
export const migrateSessions = fleetStep({
  title: 'django_session table created once (manage.py migrate sessions)',
  needs: ['settings'],
  gives: [],
  async plan(_run, { hosts }) {
    const { h, overlay } = migrationHost(hosts);
    const probe = await probeWithOverlay(h.host.name, h.engine, h.host.container, overlay, { tables: true });
    if (probe.tables?.includes('django_session')) return { action: 'none', reason: `no change: django_session already exists (seen from ${h.host.name})` };
    return { action: 'change', summary: `run the sessions migration once, on ${h.host.name}, before any restart` };
  },
  async apply(_run, { hosts }) {
    const { h, overlay } = migrationHost(hosts);
    const done = await pythonJson<{ error?: string; tables?: string[] }>(h.host.name, h.engine, h.host.container, 'steps/python/migrate.py', { overlay });
    if (done.error) throw new Error(`the sessions migration failed on ${h.host.name}: ${done.error}`);
    if (!done.tables?.includes('django_session')) throw new Error(`after the migration on ${h.host.name}, django_session does not exist`);
    return `migrated on ${h.host.name}; django_session exists`;
  },
});
