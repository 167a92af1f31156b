/** The plan as text: the deploy host's overrides, one diff per file, each with the hosts that read it. */
import test from 'ava';
import { renderSwitch } from '../../../src/report/run.js';
import type { SwitchReport } from '../../../src/report/types.js';

test('each deploy-host file is shown with its readers (and the readers outside the run) before its diff', (t) => {
  const report: SwitchReport = {
    runId: 'R',
    mode: 'plan',
    backend: 'redis',
    playbook: 'redis.yaml',
    outcome: 'planned',
    hosts: [],
    fleet: [],
    warnings: [],
    deployFiles: [
      { host: 'deploy', path: '/c/horizon/_9999-custom-settings.py', kind: 'shared', readBy: ['dash1'], alsoReadBy: ['dash3'], diff: '--- a\n+++ b\n+X = 1\n' },
      { host: 'deploy', path: '/c/horizon/dash2/_9999-custom-settings.py', kind: 'host', readBy: ['dash2'], alsoReadBy: [], diff: '--- c\n+++ d\n+X = 1\n' },
    ],
  };
  const out = renderSwitch(report);
  t.true(
    out.includes(
      [
        'deploy host deploy: /c/horizon/_9999-custom-settings.py (read by dash1; also read by dash3, not in this run)',
        '    --- a',
        '    +++ b',
        '    +X = 1',
        '',
        'deploy host deploy: /c/horizon/dash2/_9999-custom-settings.py (read by dash2)',
        '    --- c',
      ].join('\n'),
    ),
    out,
  );
});
