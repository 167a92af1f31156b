/** Small conversions shared by the guided mode's questions. */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { Bad, expandPath } from '../inventory/schema.js';

/** A local path as the loader reads it (`~/` expanded), made absolute so a saved file works anywhere. */
export function localPath(p: string): string | Bad {
  return expandPath(p, { home: process.env.HOME || homedir(), dir: process.cwd() });
}

export function existingFile(p: string): true | string {
  const full = localPath(p);
  if (full instanceof Bad) return full.message ?? 'not a usable path';
  return existsSync(full) ? true : `${full} does not exist`;
}

/** Typed digits are a number, as YAML would read them; anything else stays text for the schema to judge. */
export function numberOrText(v: string): number | string {
  return /^\d+$/.test(v.trim()) ? Number(v) : v;
}

export function defaultOf(value: string | undefined): { default?: string } {
  return value === undefined ? {} : { default: value };
}
