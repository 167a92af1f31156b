/**
 * The runner's rollout rules with plain in-memory steps (no transport): batches of rollout.serial,
 * max_fail, whole-batch failure, rollback order, and that nothing applies when the plan failed.
 */
import test from 'ava';
import { Runner, RunFailed, type RunEvent } from '../../../src/runner/runner.js';
import { fleetStep, hostStep, type FleetContext, type HostContext, type Step, type Undo } from '../../../src/steps/types.js';
import type { Playbook } from '../../../src/playbook/load.js';

const playbook: Playbook = {
  backend: 'test',
  description: '',
  file: 'test.yaml',
  phases: [
    { name: 'preflight', hosts: 'parallel', steps: ['check'] },
    { name: 'prepare', hosts: 'parallel', steps: ['write'] },
    { name: 'persist', hosts: 'fleet', steps: ['override'] },
    { name: 'rollout', hosts: 'rolling', steps: ['restart'] },
  ],
};

/** An undo that logs `what <target>` (the fleet's undos log `what` alone). */
const logUndo = (log: string[], what: string): Undo<string> => ({
  async plan() {
    return { action: 'undo', summary: what };
  },
  async apply(ctx) {
    log.push(ctx.target.name === 'fleet' ? what : `${what} ${ctx.target.name}`);
    return what;
  },
});

function fleetOf(hosts: string[], mode: 'plan' | 'apply', rollout = { serial: 1, maxFail: 0 }): FleetContext {
  const run = { id: 'r1', mode, rollout, log: () => undefined, timeouts: { health: 1 } } as unknown as FleetContext['run'];
  return { run, hosts: hosts.map((name) => ({ run, host: { name } }) as unknown as HostContext) };
}

function setup(hosts: string[], opts: { serial?: number; maxFail?: number; failCheck?: string[]; failRestart?: string[]; onRestart?: (host: string) => void } = {}) {
  const log: string[] = [];
  const steps: Record<string, Step> = {
    check: hostStep({
      title: 'check',
      needs: [],
      gives: [],
      async plan(ctx) {
        if (opts.failCheck?.includes(ctx.host.name)) throw new Error('check failed');
        return { action: 'none', reason: 'ok' };
      },
    }),
    write: hostStep({
      title: 'write',
      needs: [],
      gives: [],
      async plan() {
        return { action: 'change', summary: 'write' };
      },
      async apply(ctx, _input, remember) {
        remember('file');
        log.push(`write ${ctx.host.name}`);
      },
      undo: logUndo(log, 'restore'),
    }),
    override: fleetStep({
      title: 'override',
      needs: [],
      gives: [],
      async plan() {
        return { action: 'change', summary: 'override' };
      },
      async apply(_run, _input, remember) {
        remember('override');
        log.push('override');
      },
      undo: logUndo(log, 'restore override'),
    }),
    restart: hostStep({
      title: 'restart',
      needs: [],
      gives: [],
      async plan() {
        return { action: 'change', summary: 'restart' };
      },
      async apply(ctx, _input, remember) {
        remember('restart');
        log.push(`restart ${ctx.host.name}`);
        opts.onRestart?.(ctx.host.name);
        if (opts.failRestart?.includes(ctx.host.name)) throw new Error('unhealthy');
      },
      undo: logUndo(log, 're-restart'),
    }),
  };
  const events: RunEvent[] = [];
  return { runner: new Runner(playbook, steps, fleetOf(hosts, 'apply', { serial: opts.serial ?? 1, maxFail: opts.maxFail ?? 0 }), (e) => events.push(e)), log, events };
}

test('serial 1: hosts restart one at a time, in inventory order, after every host was prepared', async (t) => {
  const { runner, log } = setup(['a', 'b', 'c']);
  await runner.plan();
  await runner.apply();
  t.deepEqual(log.slice(3), ['override', 'restart a', 'restart b', 'restart c']);
  t.deepEqual(new Set(log.slice(0, 3)), new Set(['write a', 'write b', 'write c']));
});

test('a failed restart on host 2 stops the rollout; hosts 1 and 2 are rolled back, files before restarts; host 3 only restored', async (t) => {
  const { runner, log } = setup(['a', 'b', 'c'], { failRestart: ['b'] });
  await runner.plan();
  const err = await t.throwsAsync(runner.apply(), { instanceOf: RunFailed });
  t.deepEqual(log.slice(3), ['override', 'restart a', 'restart b', 'restore a', 're-restart a', 'restore b', 're-restart b', 'restore c', 'restore override']);
  t.deepEqual((err as RunFailed).result.rolledBack, ['a', 'b', 'c']);
  t.deepEqual((err as RunFailed).result.failedHosts, ['b']);
});

test('max_fail 1 with serial 2: a batch with one failure goes on (that host rolled back at once), the second failure stops', async (t) => {
  const { runner, log } = setup(['a', 'b', 'c', 'd'], { serial: 2, maxFail: 1, failRestart: ['b', 'd'] });
  await runner.plan();
  const err = await t.throwsAsync(runner.apply(), { instanceOf: RunFailed });
  t.deepEqual(log.filter((l) => l.startsWith('restart')).sort(), ['restart a', 'restart b', 'restart c', 'restart d']);
  t.true(log.indexOf('re-restart b') < log.indexOf('restart c'), 'b is rolled back before the next batch');
  t.deepEqual([...(err as RunFailed).result.rolledBack].sort(), ['a', 'b', 'c', 'd']);
});

test('max_fail 1: one failed host within the limit is rolled back and the others stay switched', async (t) => {
  const { runner, log } = setup(['a', 'b', 'c', 'd'], { serial: 2, maxFail: 1, failRestart: ['b'] });
  await runner.plan();
  const result = await runner.apply();
  t.deepEqual(result.failedHosts, ['b']);
  t.deepEqual(result.rolledBack, ['b']);
  t.false(log.includes('restore a'));
  t.true(log.includes('restore b'));
});

test('with serial 1 a failed host is a whole failed batch: the rollout stops whatever max_fail says', async (t) => {
  const { runner, log } = setup(['a', 'b', 'c'], { serial: 1, maxFail: 2, failRestart: ['b'] });
  await runner.plan();
  await t.throwsAsync(runner.apply(), { instanceOf: RunFailed });
  t.deepEqual(log.filter((l) => l.startsWith('restart')), ['restart a', 'restart b']);
});

test('a whole failed batch always stops, whatever max_fail says', async (t) => {
  const { runner, log } = setup(['a', 'b', 'c', 'd'], { serial: 2, maxFail: 5, failRestart: ['a', 'b'] });
  await runner.plan();
  await t.throwsAsync(runner.apply(), { instanceOf: RunFailed });
  t.deepEqual(log.filter((l) => l.startsWith('restart')).sort(), ['restart a', 'restart b']);
});

test('a failed preflight check makes the plan fail and apply refuses to start', async (t) => {
  const { runner, log } = setup(['a', 'b'], { failCheck: ['b'] });
  const plan = await runner.plan();
  t.deepEqual(plan.failed.map((f) => [f.host, f.step]), [['b', 'check']]);
  await t.throwsAsync(runner.apply(), { message: /needs a successful plan/ });
  t.deepEqual(log, []);
});

test('a stop request (Ctrl-C) during the rollout is honoured at the next batch and rolls everything back', async (t) => {
  let stop = (): void => undefined;
  const { runner, log } = setup(['a', 'b', 'c'], { onRestart: (host) => host === 'a' && stop() });
  stop = () => runner.requestStop('interrupted by SIGINT');
  await runner.plan();
  const err = await t.throwsAsync(runner.apply(), { instanceOf: RunFailed });
  t.regex(err!.message, /interrupted by SIGINT/);
  t.deepEqual(log.slice(3), ['override', 'restart a', 'restore a', 're-restart a', 'restore b', 'restore c', 'restore override']);
});

test('independent phases: every host starts their plans at once, results keep playbook order, a failed check still skips the rest', async (t) => {
  const running: string[] = [];
  let peak = 0;
  const slow = (name: string, fail = false): Step =>
    hostStep({
      title: name,
      needs: [],
      gives: [],
      async plan(ctx) {
      running.push(`${ctx.host.name}/${name}`);
      peak = Math.max(peak, running.length);
      await new Promise((r) => setTimeout(r, 30));
      running.splice(running.indexOf(`${ctx.host.name}/${name}`), 1);
      if (fail && ctx.host.name === 'b') throw new Error(`${name} failed`);
      return { action: name === 'write' ? 'change' : 'none', reason: 'ok', summary: name } as never;
      },
    });
  const pb: Playbook = {
    ...playbook,
    phases: [
      { name: 'preflight', hosts: 'parallel', steps: ['check', 'probe'], independent: true },
      { name: 'prepare', hosts: 'parallel', steps: ['write'], independent: true },
    ],
  };
  const events: RunEvent[] = [];
  const runner = new Runner(pb, { check: slow('check', true), probe: slow('probe'), write: slow('write') }, fleetOf(['a', 'b'], 'plan'), (e) => events.push(e));
  const plan = await runner.plan();
  t.is(peak, 6, 'all three plans on both hosts ran at the same time');
  const order = (host: string) => events.flatMap((e) => (e.type === 'step' && e.result.host === host ? [`${e.result.step}:${e.result.outcome}`] : []));
  t.deepEqual(order('a'), ['check:unchanged', 'probe:unchanged', 'write:changed']);
  t.deepEqual(order('b'), ['check:failed', 'probe:skipped', 'write:skipped']);
  t.deepEqual(plan.failed.map((f) => [f.host, f.step]), [['b', 'check']]);
  t.true(plan.changes, 'host a plans a change');
});

test('concurrent fleet phase: its steps apply at once; one failing stops the run and both are undone', async (t) => {
  const log: string[] = [];
  let running = 0;
  let peak = 0;
  const concurrentStep = (name: string, fail = false): Step =>
    fleetStep({
      title: name,
      needs: [],
      gives: [],
      async plan() {
        return { action: 'check', summary: name };
      },
      async apply(_run, _input, remember) {
        remember(name);
        running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 30));
      running--;
        log.push(name);
        if (fail) throw new Error(`${name} failed`);
      },
      undo: logUndo(log, `undo ${name}`),
    });
  const pb: Playbook = { ...playbook, phases: [{ name: 'prove', hosts: 'fleet', steps: ['second-pass', 'proof'], concurrent: true }] };
  const runner = new Runner(pb, { 'second-pass': concurrentStep('second-pass'), proof: concurrentStep('proof', true) }, fleetOf([], 'apply'), () => undefined);
  await runner.plan();
  const err = await t.throwsAsync(runner.apply(), { instanceOf: RunFailed });
  t.is(peak, 2, 'both steps ran at the same time');
  t.regex(err!.message, /proof failed/);
  t.deepEqual(log, ['second-pass', 'proof', 'undo second-pass', 'undo proof'], 'both undone, in playbook order');
});
