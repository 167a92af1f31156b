/**
 * The output boundary: everything sessionctl prints goes through one of these, secrets masked
 * and control characters made visible.
 */
import { visible, visibleJson } from './controls.js';
import { masker } from './secret.js';

/** Text for the terminal: known secrets masked, control characters shown as escapes. */
export function forTerminal(text: string): string {
  return visible(masker.mask(text));
}

/** A value as JSON for stdout: secrets masked, the C1 and bidi controls JSON.stringify leaves raw escaped. */
export function jsonForTerminal(value: unknown): string {
  return visibleJson(masker.mask(JSON.stringify(value, null, 2)));
}
