import { basename } from 'node:path';
import { HostError } from '../errors.js';
import { CUSTOM_FILES, KOLLA_CONFIG_MOUNT, alsoAnswer, probeWithOverlay, pythonJson } from '../facts/horizon.js';
import { BLOCK_BEGIN, patchSettings, renderBlock, unifiedDiff, type Assignment } from '../settings/block.js';
import type { ContainerCheck, HostSettings } from '../backends/types.js';
import { mismatches } from '../backends/effective.js';
import type { FileSnapshot } from '../transport/hostfs.js';
import { masker } from '../util/secret.js';
import { hostStep, type HostContext } from './types.js';
import { fileUndo, writeWithBackup } from './file-undo.js';

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
  const found = alsoAnswer<LocateAnswer & { sha256?: string }>(ctx.facts.horizon, `locate ${basename(path)}`);
  return found && before && found.sha256 === before.sha256 ? located(found) : undefined;
}

function located(found: LocateAnswer): Located {
  return {
    syntaxError: found.syntax_error,
    assignments: found.assignments.map((a) => ({ name: a.name, line: a.line, endLine: a.end_line, topLevel: a.top_level, kind: a.kind })),
  };
}

/** The settings this host gets: the target's block for the host's Django and importable modules. */
export function hostSettings(ctx: HostContext): HostSettings {
  const hz = ctx.facts.horizon!;
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

/**
 * The managed block's text for this host (`wanted`: its settings, when already known). One
 * definition: the Dashboard host's file and the deploy host's override hold the very same text.
 */
export function blockFor(ctx: HostContext, wanted: HostSettings = hostSettings(ctx)): string {
  return renderBlock(wanted.block, `session backend: ${ctx.run.desired.target.name}`, wanted.prelude);
}

/**
 * The managed block in the settings file Kolla copies in. Gives `settings`: the file and the text it
 * will hold, also when nothing changes (later steps read the same file through it).
 */
export const patchSettingsStep = hostStep({
  title: 'settings file patched (managed block) and validated',
  needs: [],
  gives: ['settings'],
  async plan(ctx) {
    const layout = ctx.facts.layout!;
    const path = layout.customFile!;
    const early = ctx.facts.readUnderLock?.files;
    const before = early?.has(path) ? early.get(path)! : await ctx.files.read(path);
    const original = before ? before.content.toString('utf8') : '';
    if (before && !Buffer.from(original, 'utf8').equals(before.content)) {
      throw new HostError(ctx.host.name, `${path} is not UTF-8 text; sessionctl will not rewrite it`);
    }
    const unchanged = { path, before, after: original, changed: false, switches: false };
    const { owned } = ctx.run.desired;
    const wanted = hostSettings(ctx);
    const current = mismatches(wanted.expect, ctx.facts.horizon!);
    if (current.length === 0 && !original.includes(BLOCK_BEGIN)) {
      return { action: 'none', reason: `no change: Horizon already uses ${ctx.run.desired.target.where} (set outside sessionctl)`, gives: { settings: unchanged } };
    }
    const found = earlyLocate(ctx, path, before) ?? (await locate(ctx, original, owned));
    if (found.syntaxError) {
      const e = found.syntaxError;
      throw new HostError(ctx.host.name, `${path}:${e.line}:${e.col}: ${e.msg} (Horizon skips this file today); fix it first`);
    }
    let patched;
    try {
      patched = patchSettings(original, blockFor(ctx, wanted), owned, found.assignments);
    } catch (err) {
      throw new HostError(ctx.host.name, `${path}: ${(err as Error).message}`);
    }
    // Unchanged text already parsed above: only a rewritten file needs a second parse.
    const check = patched.text === original ? found : await locate(ctx, patched.text, owned);
    if (check.syntaxError) throw new HostError(ctx.host.name, `the patched ${path} would not parse (line ${check.syntaxError.line}: ${check.syntaxError.msg}); nothing written`);
    // Validate before any restart: resolve settings as the next start will see them. An unchanged
    // file that Horizon already runs with needs no simulation: the running settings are the proof.
    if (patched.text !== original || current.length) {
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
    if (patched.text === original) return { action: 'none', reason: `no change: ${path} already has this managed block`, gives: { settings: { ...unchanged, switches: current.length > 0 } } };
    const notes = [
      patched.neutralised.length ? `comments out ${patched.neutralised.map((a) => `${a.name} (line ${a.line})`).join(', ')}` : '',
      patched.leftAlone.length ? `leaves nested ${patched.leftAlone.map((a) => `${a.name} (line ${a.line})`).join(', ')} (the block comes later and wins)` : '',
    ].filter(Boolean);
    return {
      action: 'change',
      summary: `write the managed block into ${path}${notes.length ? `; ${notes.join('; ')}` : ''}`,
      diff: masker.mask(unifiedDiff(path, original, patched.text)),
      gives: { settings: { path, before, after: patched.text, changed: true, switches: true } },
    };
  },

  async apply(ctx, { settings }, remember) {
    return writeWithBackup(ctx.files, { runId: ctx.run.id, host: ctx.host.name, role: 'settings', path: settings.path, before: settings.before, text: settings.after }, remember);
  },

  undo: fileUndo,
});
