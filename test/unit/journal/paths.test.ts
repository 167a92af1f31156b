/** The state directory: created on first use, but what exists there must be directories. */
import test from 'ava';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../../src/errors.js';
import { Journal } from '../../../src/journal/journal.js';
import { journalFile, stateDirOf } from '../../../src/journal/paths.js';

test('a --state-dir that is a file, or holds a file named runs, is bad input (exit 5) naming the path', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sessionctl-state-'));
  const file = join(dir, 'state');
  writeFileSync(file, '');
  // Before: the first journal write failed with ENOTDIR, an internal error (exit 1), after the hosts were locked.
  t.throws(() => Journal.create(journalFile(file, '20260101T120000-aaaaaa')), { code: 'ENOTDIR' });
  const err = t.throws(() => stateDirOf(file), { instanceOf: ConfigError });
  t.is(err?.message, `--state-dir ${file} is not a directory`);
  t.is(err?.exitCode, 5);
  t.throws(() => stateDirOf(join(file, 'below')), { instanceOf: ConfigError, message: `--state-dir ${join(file, 'below')}: ${join(file, 'below')} is below a file, not a directory` });

  const runsFile = join(dir, 'runs-is-a-file');
  mkdirSync(runsFile);
  writeFileSync(join(runsFile, 'runs'), '');
  t.throws(() => stateDirOf(runsFile), { instanceOf: ConfigError, message: `--state-dir ${runsFile}: ${join(runsFile, 'runs')} is not a directory` });
});

test('a state directory that does not exist yet is fine; without --state-dir the XDG default is named as such', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sessionctl-state-'));
  t.is(stateDirOf(join(dir, 'new')), join(dir, 'new'));
  t.is(stateDirOf(undefined, { XDG_STATE_HOME: dir }), join(dir, 'sessionctl'));
  writeFileSync(join(dir, 'sessionctl'), '');
  t.throws(() => stateDirOf(undefined, { XDG_STATE_HOME: dir }), { instanceOf: ConfigError, message: `the state directory ${join(dir, 'sessionctl')} is not a directory` });
});
