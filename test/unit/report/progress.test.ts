/**
 * Progress: which display a run gets (live rows with elapsed times only for a person at a
 * terminal; plain lines for CI, pipes and NO_COLOR; nothing with --json), and the live rows in a
 * real pseudo-terminal (`script`) showing a long step's elapsed time.
 */
import test from 'ava';
import { execFile, execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { elapsed, progressMode } from '../../../src/report/progress.js';
import { plainLine } from '../../../src/report/run.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..', '..');

test('the display: live only at a terminal without CI or NO_COLOR; plain lines otherwise; none with --json (plain with -v)', (t) => {
  const mode = (isTTY: boolean, env: NodeJS.ProcessEnv = {}, json = false, verbose = false) => progressMode({ isTTY, json, verbose, env });
  t.is(mode(true), 'live');
  t.is(mode(false), 'plain');
  t.is(mode(true, { NO_COLOR: '1' }), 'plain');
  t.is(mode(true, { NO_COLOR: '' }), 'live', 'no-color.org: an empty NO_COLOR is unset');
  t.is(mode(true, { CI: 'true' }), 'plain');
  t.is(mode(true, {}, true), 'none');
  t.is(mode(false, {}, true, true), 'plain');
});

test('elapsed times read as a person says them', (t) => {
  t.deepEqual([0, 999, 7_400, 59_999, 60_000, 65_000, 3_599_000, 3_600_000, 3_725_000].map(elapsed), ['0s', '0s', '7s', '59s', '1m00s', '1m05s', '59m59s', '1h00m', '1h02m']);
});

test('a step starting is no plain line (its line, with its duration, comes when it ends)', (t) => {
  t.is(plainLine({ type: 'start', stage: 'apply', phase: 'prepare', step: 'install', host: 'dash1', title: 'install' }), undefined);
});

const hasScript = (() => {
  try {
    execFileSync('script', ['--version']);
    return true;
  } catch {
    return false;
  }
})();

(hasScript ? test : test.skip)('in a terminal, a running step shows its elapsed time, redrawn; a finished row its duration', async (t) => {
  const driver = join(ROOT, 'test', 'unit', 'report', 'listr-driver.ts');
  const command = `stty cols 120 rows 40; exec '${process.execPath}' --import tsx '${driver}'`;
  const out = await new Promise<string>((done, fail) =>
    execFile('script', ['-qec', command, '/dev/null'], { cwd: ROOT, timeout: 120_000, env: { PATH: process.env.PATH, TERM: 'xterm' } }, (err, stdout) => (err ? fail(err) : done(stdout))),
  );
  const screen = out.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '\n');
  t.regex(screen, /dash1: prepare\/install \.\.\. 1m05s/);
  t.regex(screen, /dash1: prepare\/install \.\.\. 2m10s/, 'redrawn as time goes by');
  t.regex(screen, /✔ dash1: prepare\/install changed \[[\d.]+m?s\]/, "listr2's timer on the finished row");
});
