/**
 * The error boundary for real: sessionctl started as the operator starts it, on an inventory whose
 * key holds an ESC sequence and a CR. Fails at the inventory (exit 5), before any connection.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const file = join(mkdtempSync(join(tmpdir(), 'sessionctl-cli-')), 'inventory.yaml');
writeFileSync(file, 'hosts:\n  dash1: { address: 10.0.0.1 }\n"x\\e[2J\\rALL HOSTS OK": 1\n');

function sessionctl(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args, '-i', file], { encoding: 'utf8' });
}

test('an error quoting the inventory shows its control characters as escapes, on stderr and in --json', (t) => {
  const plain = sessionctl('status');
  t.is(plain.status, 5, plain.stderr);
  t.false(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/.test(plain.stderr), JSON.stringify(plain.stderr));
  t.true(plain.stderr.includes("unknown key 'x\\x1b[2J\\x0dALL HOSTS OK'"), plain.stderr);
  const json = sessionctl('status', '--json');
  t.is(json.status, 5);
  t.is(`sessionctl: ${(JSON.parse(json.stdout) as { error: { message: string } }).error.message}\n`, json.stderr, 'the same text as stderr');
  t.is(json.stderr, plain.stderr);
});
