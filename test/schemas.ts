/**
 * The JSON Schemas of the --json reports, generated from their TypeScript types
 * (src/report/json.ts) by ts-json-schema-generator. `npm run schemas` writes them to
 * src/report/schemas/; test/unit/report/schemas.test.ts checks the committed files equal a fresh
 * generation, so they cannot drift from the types. Also the validator the tests use (ajv).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import { REPORT_SCHEMAS, type ReportName } from '../src/report/json.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..');
export const SCHEMA_DIR = join(ROOT, 'src', 'report', 'schemas');

export function schemaFile(name: ReportName): string {
  return join(SCHEMA_DIR, `${name}.schema.json`);
}

/** Every report's schema as the file holds it (JSON text, trailing newline). */
export async function generateSchemas(): Promise<Record<ReportName, string>> {
  // Loaded only here: it brings TypeScript, which validating needs not.
  const { createGenerator } = await import('ts-json-schema-generator');
  const generator = createGenerator({
    path: join(ROOT, 'src', 'report', 'json.ts'),
    tsconfig: join(ROOT, 'tsconfig.json'),
    skipTypeCheck: true,
    topRef: false,
    jsDoc: 'extended',
    // Additive changes keep the version: a consumer's v1 schema must accept a later v1 report.
    additionalProperties: true,
  });
  const out = {} as Record<ReportName, string>;
  for (const [name, type] of Object.entries(REPORT_SCHEMAS) as [ReportName, string][]) {
    const schema = { $id: `https://sessionctl.invalid/schemas/${name}.schema.json`, ...generator.createSchema(type) };
    out[name] = JSON.stringify(schema, null, 2) + '\n';
  }
  return out;
}

let validators: Map<ReportName, ValidateFunction> | undefined;

/**
 * Check a parsed --json report against its committed schema.
 *
 * @returns the problems, empty when it is valid
 */
export function schemaProblems(name: ReportName, report: unknown): string[] {
  if (!validators) {
    const ajv = new Ajv({ allErrors: true, strict: false });
    validators = new Map((Object.keys(REPORT_SCHEMAS) as ReportName[]).map((n) => [n, ajv.compile(JSON.parse(readFileSync(schemaFile(n), 'utf8')) as object)]));
  }
  const validate = validators.get(name)!;
  if (validate(report)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}${e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : ''}`);
}

/** Which schema a CLI run's --json stdout follows (by its arguments and the document). */
export function reportNameFor(args: readonly string[], report: unknown): ReportName | undefined {
  if (report !== null && typeof report === 'object' && typeof (report as { error?: unknown }).error === 'object') return 'error';
  const command = args.find((a) => ['status', 'plan', 'apply', 'rollback', 'history'].includes(a));
  if (command === 'plan' || command === 'apply') return 'switch';
  if (command === 'history') return args.includes('--run') ? 'history-run' : 'history';
  return command as 'status' | 'rollback' | undefined;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const [name, text] of Object.entries(await generateSchemas()) as [ReportName, string][]) {
    writeFileSync(schemaFile(name), text);
    process.stdout.write(`wrote ${schemaFile(name)}\n`);
  }
}
