/** plan/apply over fake hosts: what one hostile host's answer does to the run and to the others. */
import test from 'ava';
import { switchBackend } from '../../../src/commands/apply.js';
import { ExitCode } from '../../../src/errors.js';
import { fakeConnections, inventory, probeLine, settings } from '../steps/fakes.js';

// A healthy host: Django resolves the signed-cookie block once it is patched in.
const good = { answers: { probe: (input: Record<string, unknown>) => probeLine(settings(input.overlay ? { sessionEngine: 'django.contrib.sessions.backends.signed_cookies' } : {})) } };

async function apply(hosts: Parameters<typeof fakeConnections>[0], log: string[]) {
  const inv = inventory(3);
  return switchBackend(inv, inv.hosts, {
    mode: 'apply',
    backend: 'cookie',
    allowInsecureCookieSessions: true,
    ssh: { acceptNewHostKeys: false },
    confirm: async () => true,
    onEvent: () => undefined,
    connections: fakeConnections(hosts, log),
  });
}

test("a host whose probe answers garbage is that host's error: the others are reported, exit 2, every lock released", async (t) => {
  const log: string[] = [];
  const { report, exitCode } = await apply({ dash1: good, dash2: { answers: { probe: () => 'SESSIONCTL-FACTS {"python": "3.1\n' } }, dash3: good }, log);
  t.is(exitCode, ExitCode.hostFailed);
  t.is(report.outcome, 'failed');
  t.regex(report.error ?? '', /^preflight failed, nothing changed: dash2: the settings probe's answer is malformed/);
  t.notRegex(report.error ?? '', /dash[13]/);
  t.deepEqual(report.hosts.map((h) => h.host), ['dash1', 'dash2', 'dash3']);
  const failed = report.hosts.find((h) => h.host === 'dash2')!.steps.find((s) => s.outcome === 'failed');
  t.regex(failed?.detail ?? '', /the settings probe's answer is malformed: the facts line is not JSON .*it began: SESSIONCTL-FACTS \{"python": "3\.1/);
  for (const host of ['dash1', 'dash3']) {
    const steps = report.hosts.find((h) => h.host === host)!.steps;
    t.like(Object.fromEntries(steps.map((s) => [s.step, s.outcome])), { 'django-version': 'unchanged', 'patch-settings': 'changed' }, host);
  }
  t.deepEqual(log.filter((l) => l.startsWith('lock')).sort(), ['lock dash1', 'lock dash2', 'lock dash3']);
  t.deepEqual(log.filter((l) => l.startsWith('unlock')).sort(), ['unlock dash1', 'unlock dash2', 'unlock dash3']);
});

test('a lock answer that cannot be read refuses the run, and that host is asked to unlock too (its lock may have been taken)', async (t) => {
  const log: string[] = [];
  const { report, exitCode } = await apply({ dash1: good, dash2: { ...good, garble: { batch: 'Traceback (most recent call last):' } }, dash3: good }, log);
  t.is(exitCode, ExitCode.hostFailed);
  t.is(report.outcome, 'refused');
  t.regex(report.error ?? '', /dash2: could not take the lock: file operation 'batch' answered no JSON .*: Traceback \(most recent call last\):/);
  t.deepEqual(log.filter((l) => l.startsWith('unlock')).sort(), ['unlock dash1', 'unlock dash2', 'unlock dash3']);
});

test('an error that is no host error (a bug) still ends the run with every lock released', async (t) => {
  const log: string[] = [];
  await t.throwsAsync(apply({ dash1: good, dash2: { ...good, inspectError: new TypeError('a bug') }, dash3: good }, log), { instanceOf: TypeError });
  t.deepEqual(log.filter((l) => l.startsWith('lock')).sort(), ['lock dash1', 'lock dash2', 'lock dash3']);
  t.deepEqual(log.filter((l) => l.startsWith('unlock')).sort(), ['unlock dash1', 'unlock dash2', 'unlock dash3']);
});
