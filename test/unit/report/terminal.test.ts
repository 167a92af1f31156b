/**
 * What hosts and inventories say reaches the terminal shown, not obeyed: every renderer writes
 * control characters from its data as escapes (an ESC sequence would clear the screen or colour a
 * fake line, a CR overwrite a line), keeps its own newlines, and keeps its tables aligned.
 */
import test from 'ava';
import { ConfigError } from '../../../src/errors.js';
import { renderHistory, renderRunDetail } from '../../../src/report/history.js';
import { renderRollback } from '../../../src/report/rollback.js';
import { plainLine, renderSwitch } from '../../../src/report/run.js';
import { renderStatus } from '../../../src/report/status.js';
import type { RunDetail, SwitchReport } from '../../../src/report/types.js';
import { versioned } from '../../../src/report/json.js';
import { schemaProblems } from '../../schemas.js';

/** A host's string that clears the screen, returns to column 0 and writes a fake verdict over the line. */
const HOSTILE = 'x\x1b[2J\rALL HOSTS OK\x9b31m';
const SHOWN = 'x\\x1b[2J\\x0dALL HOSTS OK\\x9b31m';
const RAW_CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;

const step = { stage: 'apply' as const, phase: 'switch', step: 'patch-settings', host: 'dash1', outcome: 'failed' as const, detail: `stderr: ${HOSTILE}\nsecond line`, durationMs: 10 };
const report: SwitchReport = {
  runId: 'r1',
  mode: 'apply',
  backend: 'redis',
  playbook: 'playbooks/redis.yaml',
  outcome: 'failed',
  hosts: [{ host: 'dash1', before: 'memcached', after: 'redis', steps: [step], diff: `--- a\n+++ b\n+SESSION_ENGINE = '${HOSTILE}'\n` }],
  fleet: [],
  warnings: [HOSTILE],
  error: HOSTILE,
};
const detail = {
  summary: { id: 'r1', startedAt: '2026-01-01T00:00:00Z', by: 'op', backend: 'redis', outcome: 'failed', hostsTouched: ['dash1'], files: 0 },
  file: '/state/runs/r1.jsonl',
  header: { type: 'header', version: 1, runId: 'r1', startedAt: '2026-01-01T00:00:00Z', by: 'op', inventory: { path: '/inv.yaml', sha256: null }, backend: 'redis', where: HOSTILE, playbook: 'redis.yaml', hosts: ['dash1'] },
  plan: null,
  files: [],
  packages: [{ type: 'package', host: 'dash1', status: 'installed', what: HOSTILE }],
  restarts: [],
  steps: [step],
  outcome: { type: 'outcome', outcome: 'failed', endedAt: '2026-01-01T00:01:00Z', error: HOSTILE },
  rollbacks: [],
} as RunDetail;

const cases: [string, () => string][] = [
  ['status: image, location, web server error, persistence and warnings', () =>
    renderStatus({
      hosts: [
        { host: 'dash1', address: '10.0.0.1', reachable: true, container: { name: 'horizon', state: HOSTILE, health: 'none', image: HOSTILE }, backend: 'redis', cache: { backend: 'django_redis.cache.RedisCache', location: `redis://h/0${HOSTILE}` }, persistence: { survives: null, detail: HOSTILE } },
        { host: 'dash2', address: '10.0.0.2', reachable: false, error: HOSTILE },
      ],
      warnings: [HOSTILE],
    })],
  ['plan/apply report: step details, settings diff, error', () => renderSwitch(report)],
  ['plain progress line: a step and a log line', () => `${plainLine({ type: 'step', result: step })}\n${plainLine({ type: 'log', host: 'dash1', line: HOSTILE })}`],
  ['rollback report: message, results', () =>
    renderRollback({ runId: 'r1', journal: '/j', outcome: 'rollback-failed', message: HOSTILE, refusals: [HOSTILE], files: [{ host: 'dash1', role: 'settings', path: '/etc/x', backup: '/b', before: null, after: 'a', now: 'a', action: 'restore', reason: 'r', result: HOSTILE, ok: false }], hosts: [{ host: 'dash1', before: null, restart: true, reason: 'r', result: HOSTILE, ok: false }] })],
  ['rollback with nothing to do: its message alone', () => renderRollback({ runId: null, journal: null, outcome: 'nothing-to-roll-back', message: HOSTILE, refusals: [], files: [], hosts: [] })],
  ['history: an unreadable journal', () => renderHistory({ stateDir: '/s', runs: [{ id: 'r1', file: '/j', error: HOSTILE }] })],
  ['history --run: where, packages, steps, outcome', () => renderRunDetail(detail)],
  ['config error: message and quoted source line', () => new ConfigError(`unknown key '${HOSTILE}'`, { file: 'inv.yaml', line: 3, col: 3, lineText: `  ${HOSTILE}: 1` }).format()],
];

for (const [name, render] of cases) {
  test(`control characters from hosts and files are shown as escapes: ${name}`, (t) => {
    const text = render();
    t.false(RAW_CONTROL.test(text), JSON.stringify(text));
    t.true(text.includes(SHOWN), text);
  });
}

test('a config error keeps its caret under the column once the line before it shows escapes', (t) => {
  const text = new ConfigError('bad value', { file: 'inv.yaml', line: 1, col: 10, lineText: 'k\x1b[2J: \x07 oops' }).format();
  const [, quoted, caret] = text.split('\n');
  t.is(quoted, '     1 | k\\x1b[2J: \\x07 oops');
  t.is(caret!.indexOf('^'), quoted!.indexOf('oops'));
});

test("the status table stays aligned when a cell shows escapes; multi-line text keeps its newlines and tabs", (t) => {
  const lines = renderStatus({
    hosts: [
      { host: 'dash1', address: '10.0.0.1', reachable: true, backend: `redis\x1b[8m`, cache: { backend: null, location: 'loc-one' } },
      { host: 'dash2', address: '10.0.0.2', reachable: true, backend: 'memcached', cache: { backend: null, location: 'loc-two' } },
    ],
    warnings: ['one\n\ttwo\r\nthree'],
  }).split('\n');
  const column = lines[0]!.indexOf('LOCATION');
  t.is(lines[1]!.indexOf('loc-one'), column);
  t.is(lines[2]!.indexOf('loc-two'), column);
  t.deepEqual(lines.slice(-3), ['  ! one', '\ttwo', 'three']);
});

test('the apply and history --run fixtures here are valid --json reports', (t) => {
  t.deepEqual(schemaProblems('switch', versioned(report)), []);
  t.deepEqual(schemaProblems('history-run', versioned(detail)), []);
});
