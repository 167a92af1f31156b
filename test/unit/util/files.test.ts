/** Local files the inventory names are read only when regular and small: refused at once otherwise. */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { ConfigError } from '../../../src/errors.js';
import { readLocalFile, readLocalFileIfExists } from '../../../src/util/files.js';
import { within } from '../timing.js';

const dir = mkdtempSync(path.join(tmpdir(), 'sessionctl-files-'));

test('a regular file within the limit is read whole; a missing one is a ConfigError, or undefined when allowed', async (t) => {
  const file = path.join(dir, 'small');
  writeFileSync(file, 'hello\n');
  t.is((await readLocalFile(file, `key file ${file}`, 6)).toString(), 'hello\n');
  const absent = path.join(dir, 'absent');
  const err = await t.throwsAsync(readLocalFile(absent, `key file ${absent}`, 10), { instanceOf: ConfigError });
  t.is(err?.message, `key file ${absent} does not exist`);
  t.is(err?.exitCode, 5);
  t.is(await readLocalFileIfExists(absent, 'x', 10), undefined);
  await t.throwsAsync(readLocalFileIfExists(path.join(file, 'below'), 'x', 10), { instanceOf: ConfigError, message: /a part of its path is not a directory/ });
});

test('larger than the limit: refused with both sizes', async (t) => {
  const file = path.join(dir, 'big');
  writeFileSync(file, Buffer.alloc(3000));
  await t.throwsAsync(readLocalFile(file, `secret file ${file}`, 2048), {
    instanceOf: ConfigError,
    message: `secret file ${file} is 3000 bytes, more than the limit of 2 KiB`,
  });
});

test('a file that reports size 0 but has content (like /proc files) is still read, and still bounded', async (t) => {
  if (!existsSync('/proc/self/status')) return t.pass('no /proc here');
  t.regex((await readLocalFile('/proc/self/status', 'x', 1 << 20)).toString(), /^Name:/);
  await t.throwsAsync(readLocalFile('/proc/self/status', 'status file', 16), { instanceOf: ConfigError, message: 'status file is more than the limit of 16 bytes' });
});

test('a FIFO, a character device and a directory are refused at once, without reading', async (t) => {
  const fifo = path.join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  for (const [file, kind] of [
    [fifo, 'a FIFO (named pipe)'],
    ['/dev/zero', 'a character device'],
    [dir, 'a directory'],
  ] as const) {
    const err = await t.throwsAsync(within(2000, readLocalFile(file, `file ${file}`, 1 << 20)), { instanceOf: ConfigError });
    t.is(err?.message, `file ${file} is ${kind}, not a regular file`);
  }
});
