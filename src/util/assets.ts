import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root, found from this module whether it runs from src/ (tsx) or dist/src/ (built). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('sessionctl: cannot find package root');
    dir = up;
  }
  return dir;
}

export const ROOT = packageRoot();

const cache = new Map<string, string>();

/** A text asset shipped with the package (Python probes, playbooks), by path from the root. */
export function asset(relPath: string): string {
  let text = cache.get(relPath);
  if (text === undefined) {
    text = readFileSync(join(ROOT, relPath), 'utf8');
    cache.set(relPath, text);
  }
  return text;
}
