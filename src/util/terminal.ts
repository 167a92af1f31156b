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

/** A value as JSON for stdout: secrets masked in its strings (never in the JSON text, which a common-word password would break), C1 and bidi controls escaped. */
export function jsonForTerminal(value: unknown): string {
  return visibleJson(JSON.stringify(masker.maskValues(value), null, 2));
}
