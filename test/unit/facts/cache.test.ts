import test from 'ava';
import { chmodSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { factsCache } from '../../../src/facts/cache.js';
import type { HostConfig } from '../../../src/inventory/types.js';

const host = (name: string, container = 'horizon') => ({ name, address: '10.0.0.1', port: 22, user: 'root', container }) as HostConfig;
const kept = { fingerprint: 'f1', part: { settings: { django: '4.2.28' } } };

test('factsCache keeps one private file per host and container', (t) => {
  const dir = join(mkdtempSync(join(tmpdir(), 'facts-')), 'facts');
  const cache = factsCache(dir);
  t.is(cache.get(host('dash1')), null);
  cache.put(host('dash1'), kept);
  t.deepEqual(cache.get(host('dash1')), kept);
  t.is(cache.get(host('dash2')), null);
  t.is(cache.get(host('dash1', 'horizon_other')), null);
  t.is(statSync(dir).mode & 0o777, 0o700);
  const files = readdirSync(dir);
  t.is(files.length, 1);
  t.is(statSync(join(dir, files[0]!)).mode & 0o777, 0o600);
});

test('factsCache: a damaged file is a miss, and a cache that cannot be written is not an error', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'facts-'));
  const cache = factsCache(join(root, 'facts'));
  cache.put(host('dash1'), kept);
  const [file] = readdirSync(join(root, 'facts'));
  writeFileSync(join(root, 'facts', file!), '{"fingerprint": "f1", "pa');
  t.is(cache.get(host('dash1')), null);
  writeFileSync(join(root, 'facts', file!), '{"fingerprint": 1, "part": {}}');
  t.is(cache.get(host('dash1')), null);
  if (process.getuid?.() !== 0) {
    chmodSync(join(root, 'facts'), 0o500);
    t.notThrows(() => cache.put(host('dash2'), kept));
  }
  // Its folder's place is a file: nothing can be written under it.
  t.notThrows(() => factsCache(join(root, 'facts', file!, 'facts')).put(host('dash1'), kept));
});
