/**
 * The JSON Schemas of the --json reports: the committed files are what the report types generate
 * (so they cannot drift), and they reject a report that breaks them. The reports the unit-level
 * code paths produce are validated where those tests build them (commands/, report/).
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { REPORT_SCHEMAS, SCHEMA_VERSION, versioned, type ReportName } from '../../../src/report/json.js';
import type { SwitchReport } from '../../../src/report/types.js';
import { generateSchemas, reportNameFor, schemaFile, schemaProblems } from '../../schemas.js';

const NAMES = Object.keys(REPORT_SCHEMAS) as ReportName[];

test('the committed schemas equal a fresh generation from the report types (else: npm run schemas)', async (t) => {
  const fresh = await generateSchemas();
  for (const name of NAMES) t.is(readFileSync(schemaFile(name), 'utf8'), fresh[name], `${name}.schema.json is stale: run npm run schemas`);
});

test('every schema is draft-07 and requires schemaVersion 1 at the top', (t) => {
  for (const name of NAMES) {
    const schema = JSON.parse(readFileSync(schemaFile(name), 'utf8')) as { $schema: string; required: string[]; properties: { schemaVersion: { const: number } } };
    t.is(schema.$schema, 'http://json-schema.org/draft-07/schema#', name);
    t.true(schema.required.includes('schemaVersion'), name);
    t.is(schema.properties.schemaVersion.const, SCHEMA_VERSION, name);
  }
});

const plan: SwitchReport = {
  runId: 'r1',
  mode: 'plan',
  backend: 'redis',
  playbook: 'playbooks/redis.yaml',
  outcome: 'planned',
  hosts: [{ host: 'dash1', before: 'memcached', after: 'redis', steps: [{ stage: 'plan', phase: 'prepare', step: 'install', host: 'dash1', outcome: 'changed', detail: 'pip install django-redis', durationMs: 12 }] }],
  fleet: [],
  warnings: [],
};

test('a report breaking its schema is rejected, naming where', (t) => {
  t.deepEqual(schemaProblems('switch', versioned(plan)), []);
  t.deepEqual(schemaProblems('switch', plan).map((p) => p.split(' ')[0]), ['/'], 'without schemaVersion');
  const wrong = { ...versioned(plan), outcome: 'done', hosts: [{ host: 'dash1', before: 'memcached', after: 'redis', steps: [{ ...plan.hosts[0]!.steps[0]!, durationMs: '12' }] }] };
  const problems = schemaProblems('switch', wrong);
  t.true(problems.some((p) => p.startsWith('/outcome must be equal to one of the allowed values')), problems.join('\n'));
  t.true(problems.some((p) => p.startsWith('/hosts/0/steps/0/durationMs must be number')), problems.join('\n'));
  t.notDeepEqual(schemaProblems('switch', { ...versioned(plan), schemaVersion: 2 }), []);
  t.notDeepEqual(schemaProblems('error', versioned({ error: { message: 'x', exitCode: 3 } })), [], 'exit 3 is no exit code of sessionctl');
  t.deepEqual(schemaProblems('error', versioned({ error: { message: 'x', exitCode: 5 } })), []);
});

test('a CLI run is checked against the schema of its command (error documents against the error schema)', (t) => {
  t.is(reportNameFor(['status', '-i', 'x.yaml', '--json'], { hosts: [] }), 'status');
  t.is(reportNameFor(['plan', '--json'], {}), 'switch');
  t.is(reportNameFor(['apply', '--yes', '--json'], {}), 'switch');
  t.is(reportNameFor(['rollback', '--json'], {}), 'rollback');
  t.is(reportNameFor(['history', '--json'], {}), 'history');
  t.is(reportNameFor(['history', '--run', 'R', '--json'], {}), 'history-run');
  t.is(reportNameFor(['apply', '--json'], { error: { message: 'm', exitCode: 5 } }), 'error');
  t.is(reportNameFor(['apply', '--json'], { error: 'a failed run has a string here' }), 'switch');
});
