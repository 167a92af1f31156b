import test from 'ava';
import { renderSwitch } from '../../../src/report/run.js';
import { kollaPipOverride } from '../../../src/backends/libraries.js';
import type { SwitchReport } from '../../../src/report/types.js';
import { versioned } from '../../../src/report/json.js';
import { schemaProblems } from '../../schemas.js';

const planned = (more: Partial<SwitchReport> = {}): SwitchReport => ({
  runId: 'r1',
  mode: 'plan',
  backend: 'redis',
  playbook: 'playbooks/redis.yaml',
  outcome: 'planned',
  hosts: [{ host: 'dash1', before: 'memcached', after: 'redis', steps: [] }],
  fleet: [],
  warnings: ['django_redis will be only in the horizon container\'s writable layer on dash1 (this run installs it there): ...'],
  ...more,
});

test('the plan shows the kolla-build override after the warnings, as the exact text of the file', (t) => {
  const template = kollaPipOverride(['django-redis==5.4.0']);
  const text = renderSwitch(planned({ imageOverrides: [{ hosts: ['dash1'], packages: ['django-redis==5.4.0'], template }] }));
  const lines = text.split('\n');
  const warning = lines.findIndex((l) => l.startsWith("! django_redis will be only in the horizon container's writable layer"));
  const heading = lines.findIndex((l) => l === 'kolla-build --template-override FILE for the horizon image of dash1; FILE:');
  t.true(warning > 0 && heading > warning, text);
  t.deepEqual(lines.slice(heading + 1, heading + 3), ['    {% extends parent_template %}', "    {% set horizon_pip_packages_append = ['django-redis==5.4.0'] %}"]);
});

test('no override without libraries only in the container layer', (t) => {
  t.notRegex(renderSwitch(planned({ warnings: [] })), /template-override/);
});


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

test('the plan/apply fixtures here are valid --json reports (switch.schema.json)', (t) => {
  const template = kollaPipOverride(['django-redis==5.4.0']);
  t.deepEqual(schemaProblems('switch', versioned(planned({ imageOverrides: [{ hosts: ['dash1'], packages: ['django-redis==5.4.0'], template }] }))), []);
});
