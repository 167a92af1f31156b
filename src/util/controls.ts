/**
 * Text from hosts and files, made safe for a terminal: control characters a terminal acts on (an
 * ESC sequence clears the screen or moves the cursor, a CR overwrites the line, a bidi override
 * reorders it) are shown as escapes instead, so nothing a host says can fake sessionctl's output.
 */

// C0 controls but tab and newline, DEL, C1 controls (0x9b is an 8-bit CSI), and the bidirectional
// marks and overrides. A CR before a newline moves nothing that stays visible: a plain newline.
const CONTROL = /\r\n|[\0-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
// What JSON.stringify leaves raw of those (it escapes C0 itself).
const RAW_IN_JSON = /[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

function hex(ch: string, width: number): string {
  return ch.charCodeAt(0).toString(16).padStart(width, '0');
}

/** `text` with every control character but `\n` and `\t` written as `\xNN` (`\uNNNN` above 0xff). */
export function visible(text: string): string {
  return text.replace(CONTROL, (ch) => (ch === '\r\n' ? '\n' : ch.charCodeAt(0) <= 0xff ? `\\x${hex(ch, 2)}` : `\\u${hex(ch, 4)}`));
}

/** JSON text with the control characters JSON.stringify leaves raw escaped as `\uNNNN`: the same JSON value. */
export function visibleJson(json: string): string {
  return json.replace(RAW_IN_JSON, (ch) => `\\u${hex(ch, 4)}`);
}
