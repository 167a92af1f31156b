/**
 * --limit: what its help shows (globs with [...] classes and {a,b}, !name to exclude, @file, comma
 * separated) selects exactly those Dashboard hosts, and every way to get it wrong is exit 5 naming
 * the pattern or the file.
 */
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, ExitCode } from '../../../src/errors.js';
import { parseInventory, selectHosts } from '../../../src/inventory/load.js';
import { readLimit, splitLimit } from '../../../src/inventory/limit.js';
import type { HostConfig } from '../../../src/inventory/types.js';

const fleet = parseInventory(
  [
    'hosts:',
    '  dash1: { address: 10.0.0.11 }',
    '  dash2: { address: 10.0.0.12 }',
    '  dash3: { address: 10.0.0.13 }',
    '  dash10: { address: 10.0.0.20 }',
    '  web-a: { address: 10.0.0.30 }',
    '  bastion: { address: 10.0.0.1, role: jump }',
    '',
  ].join('\n'),
  '/inv.yaml',
  { HOME: '/home/op' },
);
const names = (hosts: HostConfig[]) => hosts.map((h) => h.name);
const dir = mkdtempSync(join(tmpdir(), 'sessionctl-limit-'));

test('splitLimit: commas inside {...} and [...] do not split', (t) => {
  t.deepEqual(splitLimit(' dash{1,2} , web-[a,b],x,,'), ['dash{1,2}', 'web-[a,b]', 'x']);
});

test('[...] classes, ranges and {a,b} select what they say (the help example included)', (t) => {
  t.deepEqual(names(selectHosts(fleet, 'dash[23]')), ['dash2', 'dash3']);
  t.deepEqual(names(selectHosts(fleet, 'dash[1-2]*')), ['dash1', 'dash2', 'dash10']);
  t.deepEqual(names(selectHosts(fleet, 'dash[!1]')), ['dash2', 'dash3']);
  t.deepEqual(names(selectHosts(fleet, 'dash{1,3},web-?')), ['dash1', 'dash3', 'web-a']);
  t.deepEqual(names(selectHosts(fleet, 'dash[1-3]*,!dash2')), ['dash1', 'dash3', 'dash10']);
});

test('!name excludes; only exclusions mean every Dashboard host but those', (t) => {
  t.deepEqual(names(selectHosts(fleet, 'dash*,!dash1*')), ['dash2', 'dash3']);
  t.deepEqual(names(selectHosts(fleet, '!dash1')), ['dash2', 'dash3', 'dash10', 'web-a']);
  t.throws(() => selectHosts(fleet, '!dash*, !web-a'), { instanceOf: ConfigError, message: /--limit excludes every host it selects/ });
});

test('an exclusion matching nothing is an error too (a typo must not widen the run)', (t) => {
  const err = t.throws(() => selectHosts(fleet, '!dahs1'), { instanceOf: ConfigError });
  t.is(err?.message, "--limit '!dahs1' matches no Dashboard host; Dashboard hosts are: dash1, dash2, dash3, dash10, web-a");
  t.is(err?.exitCode, ExitCode.badInput);
});

test('a limit that excludes everything it selects, a lone ! or @, and a bad glob are errors', (t) => {
  t.throws(() => selectHosts(fleet, 'dash1,!dash1'), { instanceOf: ConfigError, message: /--limit excludes every host it selects; Dashboard hosts are: dash1, / });
  t.throws(() => selectHosts(fleet, 'dash1,!'), { instanceOf: ConfigError, message: /--limit '!' is incomplete/ });
  t.throws(() => selectHosts(fleet, '@'), { instanceOf: ConfigError, message: /--limit '@' is incomplete/ });
  t.throws(() => selectHosts(fleet, 'dash[1'), { instanceOf: ConfigError, message: /--limit 'dash\[1' is not a valid glob/ });
});

test('@file: one pattern a line, # comments, blank lines, mixed with other patterns; misses name file:line', async (t) => {
  const file = join(dir, 'hosts.txt');
  writeFileSync(file, ['# the first rack', 'dash[12]   # two of them', '', '  web-*', '!dash2', 'db*', ''].join('\n'));
  const withMiss = await readLimit(`@${file}`);
  const err = t.throws(() => selectHosts(fleet, withMiss), { instanceOf: ConfigError });
  t.true(err?.message.includes(`'db*' (${file}:6) matches no Dashboard host`), err?.message);
  writeFileSync(file, ['# the first rack', 'dash[12]   # two of them', '', '  web-*', '!dash2', ''].join('\n'));
  t.deepEqual(names(selectHosts(fleet, await readLimit(`dash3,@${file}`))), ['dash1', 'dash3', 'web-a']);
  const only = join(dir, 'not.txt');
  writeFileSync(only, '!dash1\r\n!web-a\r\n');
  t.deepEqual(names(selectHosts(fleet, await readLimit(`@${only}`))), ['dash2', 'dash3', 'dash10']);
});

test('@file that is missing, a directory, a device or too big: exit 5 naming it', async (t) => {
  const big = join(dir, 'big.txt');
  writeFileSync(big, 'dash1\n'.repeat(30_000));
  for (const [file, message] of [
    [join(dir, 'absent.txt'), /--limit file .*absent\.txt/],
    [dir, /--limit file .*is a directory, not a regular file/],
    ['/dev/zero', /--limit file \/dev\/zero is a character device, not a regular file/],
    [big, /--limit file .*big\.txt is 180000 bytes, more than the limit of 128 KiB/],
  ] as const) {
    const err = await t.throwsAsync(readLimit(`dash1,@${file}`), { instanceOf: ConfigError, message });
    t.is(err?.exitCode, ExitCode.badInput);
  }
});

test('@file: a line naming another file is refused with file:line:col', async (t) => {
  const file = join(dir, 'nested.txt');
  writeFileSync(file, 'dash1\n  @other.txt\n');
  const err = await t.throwsAsync(readLimit(`@${file}`), { instanceOf: ConfigError });
  t.regex(err!.format(), new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2:3: --limit file: '@other.txt' names another file`));
});

test('an empty limit (also an @file with only comments) is an error', async (t) => {
  t.throws(() => selectHosts(fleet, ' , '), { instanceOf: ConfigError, message: /--limit is empty/ });
  const file = join(dir, 'empty.txt');
  writeFileSync(file, '# nobody\n\n');
  const patterns = await readLimit(`@${file}`);
  t.throws(() => selectHosts(fleet, patterns), { instanceOf: ConfigError, message: /--limit is empty/ });
});
