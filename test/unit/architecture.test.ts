/**
 * The layers of docs/architecture.md, checked on the import graph of src/ (TypeScript's own
 * pre-processor reads the imports): no cycle, and no layer imports one above it.
 */
import test from 'ava';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** src-relative module -> the src-relative modules it imports. */
const graph = new Map(
  files(SRC).map((file) => {
    const imports = ts
      .preProcessFile(readFileSync(file, 'utf8'), true, true)
      .importedFiles.map((f) => f.fileName)
      .filter((name) => name.startsWith('.'))
      .map((name) => relative(SRC, resolve(dirname(file), name)).replace(/\.js$/, '.ts'));
    return [relative(SRC, file), imports];
  }),
);

/** Who may not be imported by whom: [importer folder, folders it must not import (a file may be named)]. */
const FORBIDDEN: [string, string[]][] = [
  ['transport/', ['inventory/', 'facts/', 'backends/', 'settings/', 'steps/', 'runner/', 'playbook/', 'journal/', 'commands/', 'report/', 'guide/']],
  ['util/', ['inventory/', 'facts/', 'backends/', 'settings/', 'steps/', 'runner/', 'playbook/', 'journal/', 'commands/', 'report/', 'guide/', 'transport/']],
  ['facts/', ['steps/', 'runner/', 'playbook/', 'journal/', 'commands/', 'report/', 'guide/']],
  ['backends/', ['steps/', 'runner/', 'playbook/', 'commands/', 'report/', 'guide/']],
  ['settings/', ['facts/', 'backends/', 'steps/', 'runner/', 'playbook/', 'journal/', 'commands/', 'report/', 'guide/', 'transport/']],
  ['journal/', ['facts/', 'backends/', 'steps/', 'runner/runner.ts', 'runner/undo.ts', 'playbook/', 'commands/', 'report/', 'guide/']],
  ['steps/', ['runner/runner.ts', 'runner/undo.ts', 'commands/', 'report/', 'guide/']],
  ['runner/', ['commands/', 'report/', 'guide/', 'transport/']],
  ['report/', ['commands/', 'guide/', 'transport/', 'steps/']],
];

test('no import cycle in src/', (t) => {
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const visit = (node: string, path: string[]) => {
    if (state.get(node) === 'done') return;
    if (state.get(node) === 'open') {
      cycles.push([...path.slice(path.indexOf(node)), node].join(' > '));
      return;
    }
    state.set(node, 'open');
    for (const next of graph.get(node) ?? []) visit(next, [...path, node]);
    state.set(node, 'done');
  };
  for (const node of graph.keys()) visit(node, []);
  t.deepEqual(cycles, []);
});

test('layers point one way: transport and facts never import the layers above them, report never imports commands', (t) => {
  t.true(graph.size > 50, 'the graph covers src/');
  const broken = [...graph].flatMap(([file, imports]) =>
    FORBIDDEN.filter(([layer]) => file.startsWith(layer)).flatMap(([, banned]) => imports.filter((i) => banned.some((b) => i.startsWith(b))).map((i) => `${file} imports ${i}`)),
  );
  t.deepEqual(broken, []);
});

test('facts/ only reads: the scripts that write on a host or in a container live with the steps and the transport', (t) => {
  const scripts = readdirSync(join(SRC, 'facts/python'));
  for (const writer of ['hostfile.py', 'carry.py', 'session.py', 'migrate.py']) t.false(scripts.includes(writer), writer);
  t.false(readFileSync(join(SRC, 'facts/python/probe.py'), 'utf8').includes('call_command('), 'the probe runs no management command');
  // Every probe, the new ones included: no file opened for writing, no process started, nothing moved or removed.
  const writes = /open\([^)]*['"](w|a|x|r\+)b?['"]|subprocess|os\.(system|remove|unlink|rename|replace|makedirs|mkdir|rmdir)|shutil\.|call_command\(/;
  for (const script of scripts.filter((s) => s.endsWith('.py'))) t.false(writes.test(readFileSync(join(SRC, 'facts/python', script), 'utf8')), script);
});
