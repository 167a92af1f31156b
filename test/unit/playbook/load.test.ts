/** The playbook loader: shape, scopes, and the data flow it checks from the steps' declarations. */
import test from 'ava';
import { parsePlaybook, loadPlaybook } from '../../../src/playbook/load.js';
import { STEPS } from '../../../src/steps/index.js';
import { ConfigError } from '../../../src/errors.js';

for (const backend of ['redis', 'memcached', 'database', 'cookie']) {
  test(`the shipped ${backend} playbook is valid: preflight first, the deploy-host override before any restart`, async (t) => {
    const pb = await loadPlaybook(backend, STEPS);
    const names = pb.phases.map((p) => p.name);
    t.is(names[0], 'preflight');
    t.true(names.indexOf('persist') > names.indexOf('prepare') && names.indexOf('persist') < names.indexOf('rollout'));
    t.is(pb.phases.find((p) => p.name === 'rollout')?.hosts, 'rolling');
    if (backend === 'database') t.true(names.indexOf('migrate') < names.indexOf('rollout'), 'migration before any restart');
    // Sessions are copied after the table exists and before the first restart; again after the
    // last, alongside the proof (neither reads what the other writes).
    t.true(names.indexOf('carry') > Math.max(names.indexOf('persist'), names.indexOf('migrate')) && names.indexOf('carry') < names.indexOf('rollout'));
    const prove = pb.phases.find((p) => p.name === 'prove')!;
    t.true(names.indexOf('prove') > names.indexOf('rollout'));
    if (backend !== 'cookie') t.deepEqual([prove.steps, prove.concurrent], [['carry-sessions-again', 'cross-host-session'], true]);
  });
}

const badPlaybooks: [string, string, RegExp][] = [
  ['unknown step', 'backend: redis\nphases:\n  - name: a\n    hosts: parallel\n    steps: [reboot-everything]\n', /3:5: .*unknown step 'reboot-everything'/],
  ['fleet step in a host phase', 'backend: redis\nphases:\n  - name: a\n    hosts: parallel\n    steps: [secret-key-consistent]\n', /fleet step and cannot run with hosts: parallel/],
  ['bad hosts mode', 'backend: redis\nphases:\n  - name: a\n    hosts: everywhere\n    steps: [restart]\n', /hosts must be parallel, rolling or fleet/],
  ['no phases', 'backend: redis\n', /needs `backend` and a list of `phases`/],
  ['concurrent host phase', 'backend: redis\nphases:\n  - name: a\n    hosts: parallel\n    concurrent: true\n    steps: [restart]\n', /only fleet phases can be concurrent/],
  ['independent rolling phase', 'backend: redis\nphases:\n  - name: a\n    hosts: rolling\n    independent: true\n    steps: [restart]\n', /only parallel phases can be independent/],
];
for (const [title, text, re] of badPlaybooks) {
  test(`playbook: ${title} is refused with its position`, (t) => {
    const err = t.throws(() => parsePlaybook(text, 'pb.yaml', STEPS));
    t.regex((err as unknown as { format(): string }).format(), re);
  });
}

/** A playbook's text with the shipped steps; the error's file:line:col and message. */
function refusal(text: string): string {
  const err = (() => {
    try {
      parsePlaybook(text, 'pb.yaml', STEPS);
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  if (!(err instanceof ConfigError)) throw new Error(`accepted: ${text}`);
  return err.format();
}

test('data flow: a step that needs a value no earlier step gives is refused at that step, naming who gives it', (t) => {
  const text = ['backend: redis', 'phases:', '  - name: rollout', '    hosts: rolling', '    steps: [restart, health-gate]', '  - name: prepare', '    hosts: parallel', '    steps: [patch-settings]', ''].join('\n');
  const out = refusal(text);
  t.regex(out, /^pb\.yaml:5:13: phase 'rollout': step 'restart' needs 'settings', which no earlier step gives \(given by patch-settings\)/);
  t.regex(out, /\n {7}\| {13}\^$/, 'the caret under the step');
});

test('data flow: the right order is accepted, and a later step in the same phase may use what an earlier one gave', (t) => {
  const text = ['backend: redis', 'phases:', '  - name: prepare', '    hosts: parallel', '    steps: [patch-settings]', '  - name: rollout', '    hosts: rolling', '    steps: [restart, health-gate, verify-settings]', ''].join('\n');
  t.notThrows(() => parsePlaybook(text, 'pb.yaml', STEPS));
});

test('data flow: a concurrent phase cannot hand a value between its own steps', (t) => {
  const text = ['backend: redis', 'phases:', '  - name: prepare', '    hosts: parallel', '    steps: [patch-settings]', '  - name: carry', '    hosts: fleet', '    concurrent: true', '    steps: [carry-sessions, carry-sessions-again]', ''].join('\n');
  t.regex(refusal(text), /^pb\.yaml:9:29: phase 'carry': step 'carry-sessions-again' needs 'carry', given by 'carry-sessions' in the same concurrent phase/);
});

test('data flow: the plans of an independent phase start before any other plan, so they need no plan value', (t) => {
  const text = ['backend: redis', 'phases:', '  - name: prepare', '    hosts: parallel', '    steps: [patch-settings]', '  - name: rollout', '    hosts: parallel', '    independent: true', '    steps: [restart]', ''].join('\n');
  t.regex(refusal(text), /^pb\.yaml:9:13: .*step 'restart' needs 'settings', given by 'patch-settings', but the plans of an independent phase start before any other plan/);
});

test('data flow: a host step cannot read a fleet value; an unknown value is named', (t) => {
  const steps = { ...STEPS, odd: { scope: 'host' as const, needs: ['carry'], gives: [] }, odder: { scope: 'host' as const, needs: ['nothing-like-it'], gives: [] } };
  const text = (step: string) =>
    ['backend: redis', 'phases:', '  - name: prepare', '    hosts: parallel', '    steps: [patch-settings]', '  - name: carry', '    hosts: fleet', '    steps: [carry-sessions]', '  - name: x', '    hosts: parallel', `    steps: [${step}]`, ''].join('\n');
  const err = (step: string) => t.throws(() => parsePlaybook(text(step), 'pb.yaml', steps as never), { instanceOf: ConfigError })!.message;
  t.regex(err('odd'), /step 'odd' needs 'carry', a fleet value, which a host step cannot read/);
  t.regex(err('odder'), /step 'odder' needs 'nothing-like-it', which is not a known value/);
});
