import { basename } from 'node:path';
import { HostError } from '../errors.js';
import { CUSTOM_FILES, KOLLA_CONFIG_MOUNT, alsoAnswer, probeWithOverlay, pythonJson, type HorizonFacts } from '../facts/horizon.js';
import { BLOCK_BEGIN, patchSettings, renderBlock, unifiedDiff, type Assignment } from '../settings/block.js';
import type { ContainerCheck, Expect, HostSettings } from '../backends/types.js';
import { HOST_STATE_DIR, sha256, type FileSnapshot } from '../transport/hostfs.js';
import { masker } from '../util/secret.js';
import type { HostContext, HostStep } from '../runner/types.js';

interface LocateAnswer {
  syntax_error: { line: number; col: number; msg: string } | null;
  assignments: { name: string; line: number; end_line: number; top_level: boolean; kind: Assignment['kind'] }[];
}

type Located = { syntaxError: LocateAnswer['syntax_error']; assignments: Assignment[] };

/** Parse settings text with the container's own Python (ast): its syntax error, or what it assigns. */
export async function locate(ctx: HostContext, source: string, names: string[]): Promise<Located> {
  return located(await pythonJson<LocateAnswer>(ctx.host.name, ctx.engine, ctx.host.container, 'locate.py', { source, names }));
}

/** The facts probe also parses the files Kolla copies in, in its own process (see earlyLocate). */
export function locateChecks(names: string[]): ContainerCheck[] {
  return Object.values(CUSTOM_FILES).map((file) => ({ name: `locate ${file}`, script: 'locate.py', input: { path: `${KOLLA_CONFIG_MOUNT}/${file}`, names } }));
}

/** What the facts probe found in `path`, if it parsed these very bytes (through Kolla's bind mount). */
function earlyLocate(ctx: HostContext, path: string, before: FileSnapshot | null): Located | undefined {
  const found = alsoAnswer<LocateAnswer & { sha256?: string }>(ctx.state.facts.horizon, `locate ${basename(path)}`);
  return found && before && found.sha256 === before.sha256 ? located(found) : undefined;
}

function located(found: LocateAnswer): Located {
  return {
    syntaxError: found.syntax_error,
    assignments: found.assignments.map((a) => ({ name: a.name, line: a.line, endLine: a.end_line, topLevel: a.top_level, kind: a.kind })),
  };
}

/** Pure: does Django's resolved state match what the run asked for? Returns the differences. */
export function mismatches(expect: Expect, facts: HorizonFacts): string[] {
  const s = facts.settings;
  if (!s) return [`Horizon's settings do not load: ${facts.settingsError ?? 'unknown error'}`];
  const out: string[] = [];
  if (s.sessionEngine !== expect.sessionEngine) out.push(`SESSION_ENGINE would be ${s.sessionEngine}, not ${expect.sessionEngine}`);
  if (expect.cacheBackend !== undefined && s.cache.backend !== expect.cacheBackend) {
    out.push(`CACHES['default'] BACKEND would be ${s.cache.backend}, not ${expect.cacheBackend}`);
  }
  if (expect.location !== undefined && JSON.stringify(s.cache.location) !== JSON.stringify(expect.location)) {
    out.push(`CACHES['default'] LOCATION would be ${JSON.stringify(s.cache.location)}, not ${JSON.stringify(expect.location)}`);
  }
  if (expect.database) {
    const db = s.database;
    if (!db || db.engine !== expect.database.engine || db.name !== expect.database.name || db.host !== expect.database.host) {
      out.push(`DATABASES['default'] would be ${JSON.stringify(db)}, not ${JSON.stringify(expect.database)}`);
    }
  }
  for (const [name, value] of Object.entries(expect.settings ?? {})) {
    if (JSON.stringify(s.security[name]) !== JSON.stringify(value)) out.push(`${name} would be ${JSON.stringify(s.security[name])}, not ${JSON.stringify(value)}`);
  }
  return out;
}

/** The settings this host gets: the target's block for the host's Django and importable modules. */
export function hostSettings(ctx: HostContext): HostSettings {
  const hz = ctx.state.facts.horizon!;
  let base: HostSettings;
  try {
    base = ctx.run.desired.target.settingsFor(hz.settings!.django, hz.modules);
  } catch (err) {
    throw new HostError(ctx.host.name, (err as Error).message);
  }
  const security = ctx.run.desired.security;
  if (security.length === 0) return base;
  return {
    ...base,
    block: [...base.block, ...security],
    expect: { ...base.expect, settings: Object.fromEntries(security) },
  };
}

function backupPath(ctx: HostContext, path: string): string {
  return `${HOST_STATE_DIR}/backups/${ctx.run.id}/${path.replace(/\//g, '%')}`;
}

export const patchSettingsStep: HostStep = {
  scope: 'host',
  title: 'settings file patched (managed block) and validated',
  async plan(ctx) {
    const layout = ctx.state.facts.layout!;
    const path = layout.customFile!;
    const before = await ctx.files.read(path);
    const original = before ? before.content.toString('utf8') : '';
    if (before && !Buffer.from(original, 'utf8').equals(before.content)) {
      throw new HostError(ctx.host.name, `${path} is not UTF-8 text; sessionctl will not rewrite it`);
    }
    const { owned } = ctx.run.desired;
    const wanted = hostSettings(ctx);
    const current = mismatches(wanted.expect, ctx.state.facts.horizon!);
    if (current.length === 0 && !original.includes(BLOCK_BEGIN)) {
      return { action: 'none', reason: `no change: Horizon already uses ${ctx.run.desired.target.where} (set outside sessionctl)` };
    }
    const found = earlyLocate(ctx, path, before) ?? (await locate(ctx, original, owned));
    if (found.syntaxError) {
      const e = found.syntaxError;
      throw new HostError(ctx.host.name, `${path}:${e.line}:${e.col}: ${e.msg} (Horizon skips this file today); fix it first`);
    }
    const { assignments } = found;
    let patched;
    try {
      patched = patchSettings(original, renderBlock(wanted.block, `session backend: ${ctx.run.desired.target.name}`, wanted.prelude), owned, assignments);
    } catch (err) {
      throw new HostError(ctx.host.name, `${path}: ${(err as Error).message}`);
    }
    // Unchanged text already parsed above: only a rewritten file needs a second parse.
    const check = patched.text === original ? found : await locate(ctx, patched.text, owned);
    if (check.syntaxError) throw new HostError(ctx.host.name, `the patched ${path} would not parse (line ${check.syntaxError.line}: ${check.syntaxError.msg}); nothing written`);

    // Validate before any restart: resolve settings as the next start will see them. An unchanged
    // file that Horizon already runs with needs no simulation: the running settings are the proof.
    const unchanged = patched.text === original && current.length === 0;
    if (!unchanged) {
      const next = await probeWithOverlay(ctx.host.name, ctx.engine, ctx.host.container, { [basename(path)]: patched.text });
      const wrong = mismatches(wanted.expect, next);
      if (wrong.length) {
        // local_settings.d snippets run after local_settings (and the custom file it imports).
        const later = layout.layout === 'kolla-local-settings' ? next.settingsD ?? [] : (next.settingsD ?? []).filter((f) => f > basename(path));
        throw new HostError(
          ctx.host.name,
          `with the patched ${path}, Django would not use the new backend: ${wrong.join('; ')}` +
            (later.length ? ` (loaded after it, one of these overrides it: ${later.join(', ')})` : ' (a later setting overrides it)') +
            '; nothing was written',
        );
      }
    }
    const diff = masker.mask(unifiedDiff(path, original, patched.text));
    ctx.state.settings = { path, before, after: patched.text, diff };
    if (patched.text === original) return { action: 'none', reason: `no change: ${path} already has this managed block` };
    const notes = [
      patched.neutralised.length ? `comments out ${patched.neutralised.map((a) => `${a.name} (line ${a.line})`).join(', ')}` : '',
      patched.leftAlone.length ? `leaves nested ${patched.leftAlone.map((a) => `${a.name} (line ${a.line})`).join(', ')} (the block comes later and wins)` : '',
    ].filter(Boolean);
    return { action: 'change', summary: `write the managed block into ${path}${notes.length ? `; ${notes.join('; ')}` : ''}`, diff };
  },

  async apply(ctx) {
    const s = ctx.state.settings!;
    const dest = backupPath(ctx, s.path);
    const content = Buffer.from(s.after, 'utf8');
    ctx.run.journal?.append({ type: 'file', host: ctx.host.name, role: 'settings', path: s.path, backup: dest, before: s.before?.sha256 ?? null, after: sha256(content) });
    await ctx.files.backup(s.path, dest);
    ctx.state.backup = dest;
    ctx.state.written = await ctx.files.write(s.path, content, s.before?.sha256 ?? null);
    return `wrote ${s.path} (backup ${dest})`;
  },

  async rollback(ctx) {
    const s = ctx.state.settings!;
    if (!ctx.state.backup) return 'nothing written';
    const now = await ctx.files.read(s.path);
    const nowSha = now?.sha256 ?? null;
    const beforeSha = s.before?.sha256 ?? null;
    if (nowSha === beforeSha) return `${s.path} already has its original bytes`;
    if (nowSha !== ctx.state.written) {
      throw new HostError(
        ctx.host.name,
        `${s.path} changed since sessionctl wrote it (sha256 ${nowSha}); not overwriting. ` +
          `Compare it with the backup ${ctx.state.backup} and restore by hand`,
      );
    }
    const restored = await ctx.files.restore(s.path, ctx.state.backup);
    if (restored !== beforeSha) throw new HostError(ctx.host.name, `restoring ${s.path} gave sha256 ${restored}, expected ${beforeSha}`);
    return `${s.path} restored to its exact bytes (sha256 ${beforeSha ? beforeSha.slice(0, 12) : 'absent'})`;
  },
};
