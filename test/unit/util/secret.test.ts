/** Secrets of any length: refused past 1024 characters when read, and never able to break the masker. */
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../../src/errors.js';
import { Masker, resolveSecret } from '../../../src/util/secret.js';

test('a secret longer than 1024 characters is refused where it is read, naming the place, never the value', async (t) => {
  const long = 'p@ss'.repeat(5000);
  const file = join(mkdtempSync(join(tmpdir(), 'sessionctl-secret-')), 'pw');
  writeFileSync(file, `${long}\n`);
  process.env.SESSIONCTL_TEST_LONG_SECRET = long;
  // Before: accepted, and the masker it was then registered with threw on every message after.
  for (const [ref, from] of [
    [{ kind: 'file', path: file }, `secret file ${file}`],
    [{ kind: 'env', name: 'SESSIONCTL_TEST_LONG_SECRET' }, 'environment variable SESSIONCTL_TEST_LONG_SECRET'],
    [{ kind: 'literal', value: long }, 'the value'],
  ] as const) {
    const err = await t.throwsAsync(resolveSecret(ref, 'session.redis.password'), { instanceOf: ConfigError });
    t.is(err?.message, `session.redis.password: ${from} holds 20000 characters, more than the limit of 1024 for a secret`);
  }
  t.is(await resolveSecret({ kind: 'literal', value: long.slice(0, 1024) }, 'x'), long.slice(0, 1024));
});

test('the masker takes a secret of any length: a long one is masked as it is, and masking never throws', (t) => {
  const m = new Masker();
  const long = 'p@ss w0rd{é}'.repeat(2000);
  m.add(long);
  m.add('hunter2');
  // Before: the pattern of a 24,000-character secret did not compile ("Stack overflow"), on every call.
  t.is(m.mask(`a ${long} b hunter2 c`), 'a *** b *** c');
  t.is(m.mask('nothing here'), 'nothing here');
});
