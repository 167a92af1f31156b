/** The output boundary's functions: control characters shown as escapes; JSON masked value by value, so it stays the same JSON. */
import test from 'ava';
import { visible } from '../../../src/util/controls.js';
import { Secret, masker } from '../../../src/util/secret.js';
import { forTerminal, jsonForTerminal } from '../../../src/util/terminal.js';

test('visible: every control character a terminal acts on becomes an escape; newline and tab stay, CRLF is a newline', (t) => {
  const cases: [string, string][] = [
    ['clear\x1b[2J', 'clear\\x1b[2J'],
    ['fake\roverwritten', 'fake\\x0doverwritten'],
    ['a\r\nb', 'a\nb'],
    ['col\tcol\nline', 'col\tcol\nline'],
    ['nul\0bel\x07bs\x08del\x7f', 'nul\\x00bel\\x07bs\\x08del\\x7f'],
    ['c1 csi\x9b2J', 'c1 csi\\x9b2J'],
    ['bidi \u202egnp.exe', 'bidi \\u202egnp.exe'],
    ['plain ünïcode ✓ and \\x1b as text', 'plain ünïcode ✓ and \\x1b as text'],
  ];
  for (const [raw, shown] of cases) {
    t.is(visible(raw), shown, JSON.stringify(raw));
    t.is(visible(shown), shown, 'idempotent');
  }
});

test('forTerminal masks a secret that holds a control character, shown or not', (t) => {
  new Secret('pa\x1bss-word');
  t.is(forTerminal('auth pa\x1bss-word failed'), 'auth *** failed');
  t.is(forTerminal(visible('auth pa\x1bss-word failed')), 'auth *** failed');
});

test('jsonForTerminal: a password that is a JSON word or a key masks values only, so the JSON parses to the same shape; C1 and bidi controls escaped', (t) => {
  for (const word of ['null', 'true', 'hosts', 'error']) new Secret(word);
  const value = { hosts: [{ host: 'dash1', error: 'AUTH true failed', ok: true, missing: null, n: 5 }], note: 'csi\x9b2J \u202e', error: null };
  const text = jsonForTerminal(value);
  t.false(/[\x7f-\x9f\u202a-\u202e]/.test(text), text);
  t.deepEqual(JSON.parse(text), { hosts: [{ host: 'dash1', error: 'AUTH *** failed', ok: true, missing: null, n: 5 }], note: 'csi\x9b2J \u202e', error: null });
});
