/**
 * The one place that knows where sessionctl's own files (Python probes, playbooks, package.json)
 * come from: the package folder (tsx from src/, dist/ after a build, an npm install), or the
 * single executable's embedded assets (`npm run package`; scripts/package.ts names them by the
 * same paths from the package root).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getAsset, isSea } from 'node:sea';

/** True inside the single executable: assets are embedded, there is no package folder. */
export const IN_SEA = isSea();

/** The package root, found from this module whether it runs from src/ (tsx) or dist/ (built). */
function packageRoot(): string {
  // The single executable is one CommonJS bundle without import.meta; it never gets here.
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('sessionctl: cannot find package root');
    dir = up;
  }
  return dir;
}

/** The package folder; empty inside the single executable (no folder: read files through asset()). */
export const ROOT = IN_SEA ? '' : packageRoot();

const cache = new Map<string, string>();

/** Where an asset is read from, for messages: its file, or `<executable>:<path>` when embedded. */
export function assetLocation(relPath: string): string {
  return IN_SEA ? `${process.execPath}:${relPath}` : join(ROOT, relPath);
}

/** A text asset shipped with the package (Python probes, playbooks, package.json), by path from the root. Throws when there is none. */
export function asset(relPath: string): string {
  let text = cache.get(relPath);
  if (text === undefined) {
    text = IN_SEA ? getAsset(relPath, 'utf8') : readFileSync(join(ROOT, relPath), 'utf8');
    cache.set(relPath, text);
  }
  return text;
}

/** sessionctl's version, from its package.json. */
export function packageVersion(): string {
  return (JSON.parse(asset('package.json')) as { version: string }).version;
}
