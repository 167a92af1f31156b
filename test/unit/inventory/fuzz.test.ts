/**
 * Fuzzing the inventory loader: a few hundred inventories mutated from the example and the
 * fixtures (byte flips, cuts, repeated lines, deep nesting, long strings, alias and merge bombs,
 * control characters, stray YAML syntax). Each one must load or be refused with exit 5
 * (ConfigError/ConfigErrors), never another exception, within a few seconds of CPU, and the heap must
 * not grow. The seed is printed; SESSIONCTL_FUZZ_SEED=<seed> replays a run.
 */
import test from 'ava';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { ConfigError, ConfigErrors } from '../../../src/errors.js';
import { loadInventory } from '../../../src/inventory/load.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..', '..');
const FIXTURES = path.join(HERE, '..', 'fixtures', 'inventory');

const CASES = 300;
/** The whole run stops making new cases after this long (a slow machine runs fewer of them). */
const BUDGET_MS = 20_000;
// Wide: a case that went exponential took many seconds; a fair one takes well under one, even on a loaded machine.
const CASE_CPU_MS = 2500;
/** Heap (and Buffers) in use, right after any case; and left over at the end, after a full GC. */
const PEAK_BYTES = 512 * 2 ** 20;
const RETAINED_BYTES = 64 * 2 ** 20;

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const ONE_LINE = 'hosts: { dash1: { address: 10.0.0.11, identity_passphrase: "s3cret pass" }, bastion: { address: 203.0.113.5, role: jump } }\n';
const FULL = [
  'x-base: &base { user: kolla, become: true }',
  'defaults: { identity: ~/.ssh/id_ed25519, known_hosts: ~/.ssh/known_hosts }',
  'hosts:',
  '  dash1: { <<: *base, address: 10.0.0.11, proxy_jump: bastion }',
  '  dash2:',
  '    <<: *base',
  '    address: "2001:db8::12"',
  '    identity_passphrase: |',
  '      multi-line',
  '      secret',
  '  bastion: { address: 203.0.113.5, role: jump }',
  '  lb1: { address: 10.0.0.5, role: loadbalancer }',
  'session:',
  '  backend: redis',
  '  redis:',
  '    url: rediss://redis.example.org:6380/0?password=x',
  '    password: "a \\"quoted\\" secret"',
  '    sentinel: { service: mymaster, hosts: ["10.0.0.51:26379", "[2001:db8::52]:26379"], password_env: SENTINEL_PW }',
  '  database: { engine: mysql, host: db, name: horizon, user: horizon, password_file: secrets/db.pass, options: { charset: utf8mb4 } }',
  '  memcached: { servers: ["10.0.0.60:11211"] }',
  '  security: { timeout: 1800, cookie_samesite: Lax }',
  'install: { method: pip, version: "5.4.0", proxy: "http://u:p@proxy:3128" }',
  'rollout: { serial: 1, max_fail: 0, method: auto }',
  'loadbalancer: { hosts: [lb1], servers: { dash1: web1 } }',
  'kolla: { deploy_host: bastion }',
  '',
].join('\n');

const SEEDS: Array<[string, string]> = [
  ['inventory.example.yaml', readFileSync(path.join(ROOT, 'inventory.example.yaml'), 'utf8')],
  ...readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.yaml'))
    .map((f): [string, string] => [`fixtures/${f}`, readFileSync(path.join(FIXTURES, f), 'utf8')]),
  ['one line', ONE_LINE],
  ['every section', FULL],
];

type Rand = () => number;
const int = (rand: Rand, n: number) => Math.floor(rand() * n);
const pick = <T>(rand: Rand, xs: readonly T[]): T => xs[int(rand, xs.length)]!;
const lines = (s: string) => s.split('\n');
const at = (rand: Rand, s: string) => int(rand, s.length + 1);
const insert = (s: string, i: number, what: string) => s.slice(0, i) + what + s.slice(i);
const charsFrom = (rand: Rand, alphabet: string, n: number) => Array.from({ length: n }, () => alphabet[int(rand, alphabet.length)]).join('');

const TOKENS = ['&a ', '*a', '<<: ', '<<: *a', '? ', '- ', '{', '}', '[', ']', '!!binary ', '!tag ', '!!python/object:os.system ', '%YAML 1.1\n---\n', '\n---\n', '\n...\n', '|', '>-', "'", '"', ' #', ': ', ',', '@', '`', '\\', '~', 'null', '0x1F', '1e999', '.inf', '"\\q"', '"\\u00"', 'password: ', 'identity_passphrase: "', '\t', '\r\n'];
const CONTROL = ['\0', '\t', '\r', '\x1b[31m', '\x7f', '\u2028', '\u2029', '\ufeff', '\ufffd', '\ud800', '\u0085', '\x0b', '\x0c'];

/** Each takes the text and returns it mutated; `bytes` ones work on its UTF-8 bytes. */
const MUTATIONS: Record<string, (rand: Rand, s: string) => string> = {
  flipBytes: (rand, s) => {
    const b = Buffer.from(s, 'utf8');
    for (let k = 1 + int(rand, 8); k > 0 && b.length; k--) b[int(rand, b.length)] = int(rand, 256);
    return b.toString('latin1');
  },
  truncate: (rand, s) => s.slice(0, at(rand, s)),
  duplicateLines: (rand, s) => {
    const ls = lines(s);
    const from = int(rand, ls.length);
    const run = ls.slice(from, from + 1 + int(rand, 5));
    const size = run.join('\n').length + 1;
    const times = Math.min(1 + int(rand, rand() < 0.2 ? 2000 : 5), Math.ceil(300_000 / size));
    ls.splice(from, 0, ...Array.from({ length: times }, () => run).flat());
    return ls.join('\n');
  },
  dropLines: (rand, s) => {
    const ls = lines(s);
    ls.splice(int(rand, ls.length), 1 + int(rand, 4));
    return ls.join('\n');
  },
  swapLines: (rand, s) => {
    const ls = lines(s);
    const i = int(rand, ls.length);
    const j = int(rand, ls.length);
    [ls[i], ls[j]] = [ls[j]!, ls[i]!];
    return ls.join('\n');
  },
  reindent: (rand, s) => {
    const ls = lines(s);
    const i = int(rand, ls.length);
    ls[i] = ' '.repeat(int(rand, 12)) + ls[i]!.trimStart();
    return ls.join('\n');
  },
  deepNesting: (rand, s) => {
    const depth = 1 + int(rand, 6000);
    const shapes = [
      () => `x-deep: ${'['.repeat(depth)}${']'.repeat(depth)}\n`,
      () => `x-deep: ${'{a: '.repeat(depth)}1${'}'.repeat(depth)}\n`,
      () => `hosts: { dash1: { address: 10.0.0.11, x: [${'password: "a '.repeat(depth)}] } }\n`,
      () => `x-deep:\n${Array.from({ length: Math.min(depth, 400) }, (_, k) => `${' '.repeat(k + 1)}k${k}:`).join('\n')} 1\n`,
      () => `x-deep: ${'- '.repeat(Math.min(depth, 2000))}x\n`,
    ];
    const ls = lines(s);
    ls.splice(int(rand, ls.length + 1), 0, pick(rand, shapes)());
    return ls.join('\n');
  },
  longString: (rand, s) => {
    const n = 1 + int(rand, 100_000);
    const alphabet = pick(rand, ['a', 'a1', ' ', 'ab:/@?&=#', 'pass', "'\"\\", 'a-_.', 'é€𝄞']);
    const long = charsFrom(rand, alphabet, Math.ceil(n / alphabet.length) * alphabet.length);
    const ls = lines(s);
    const i = int(rand, ls.length);
    const colon = ls[i]!.indexOf(': ');
    ls[i] = colon >= 0 && rand() < 0.7 ? `${ls[i]!.slice(0, colon + 2)}${long}` : rand() < 0.5 ? `${long}: 1` : insert(ls[i]!, at(rand, ls[i]!), long);
    return ls.join('\n');
  },
  aliasBomb: (rand, s) => {
    const levels = 2 + int(rand, 12);
    const fan = 2 + int(rand, 12);
    const bomb = [`x-b0: &b0 { user: kolla, port: 22 }`];
    for (let k = 1; k <= levels; k++) bomb.push(`x-b${k}: &b${k} { <<: [${Array(fan).fill(`*b${k - 1}`).join(', ')}] }`);
    const use = pick(rand, [`  dashb: { <<: *b${levels}, address: 10.0.0.99 }`, `  dashb: *b${levels}`, `  dashb: { address: 10.0.0.99, x: [${Array(fan).fill(`*b${levels}`).join(', ')}] }`]);
    const ls = lines(s);
    const hosts = ls.findIndex((l) => l.startsWith('hosts:'));
    if (hosts >= 0 && ls[hosts] === 'hosts:') ls.splice(hosts + 1, 0, use);
    else ls.push('x-use:', use);
    return [...bomb, ...ls].join('\n');
  },
  manyAliases: (rand, s) => `x-s: &s "10.0.0.60:11211"\n${s}\nx-many: [${Array(1 + int(rand, 40_000)).fill('*s').join(', ')}]\n`,
  manyKeys: (rand, s) => {
    const n = 1 + int(rand, 30_000);
    return `${s}\nhosts: { dash1: { address: 10.0.0.11, ${Array.from({ length: n }, (_, k) => `k${k}`).join(', ')} } }\n`;
  },
  control: (rand, s) => {
    let out = s;
    for (let k = 1 + int(rand, 10); k > 0; k--) out = insert(out, at(rand, out), pick(rand, CONTROL));
    return out;
  },
  token: (rand, s) => {
    let out = s;
    for (let k = 1 + int(rand, 6); k > 0; k--) out = insert(out, at(rand, out), pick(rand, TOKENS));
    return out;
  },
};

/** `global.gc`, switched on for this process only. */
function gc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

const inUse = () => {
  const m = process.memoryUsage();
  return m.heapUsed + m.external + m.arrayBuffers;
};

test.serial('the loader loads or refuses with exit 5 whatever it is given, quickly and in bounded memory', async (t) => {
  const seed = process.env.SESSIONCTL_FUZZ_SEED ? Number(process.env.SESSIONCTL_FUZZ_SEED) : Math.floor(Math.random() * 2 ** 32);
  t.log(`seed ${seed} (replay: SESSIONCTL_FUZZ_SEED=${seed} npx ava test/unit/inventory/fuzz.test.ts)`);
  console.log(`inventory fuzz: seed ${seed}`);
  const rand = prng(seed);
  const dir = mkdtempSync(path.join(tmpdir(), 'sessionctl-fuzz-'));
  // Not measured: the first load compiles the loader and yaml.
  await loadInventory(path.join(ROOT, 'inventory.example.yaml'));
  const collect = gc();
  collect();
  const baseline = inUse();
  const started = performance.now();
  let ran = 0;
  let accepted = 0;

  for (let i = 0; i < CASES && performance.now() - started < BUDGET_MS; i++) {
    const [base, text] = pick(rand, SEEDS);
    const applied: string[] = [];
    let mutated = text;
    for (let k = 1 + int(rand, 3); k > 0; k--) {
      const name = pick(rand, Object.keys(MUTATIONS));
      applied.push(name);
      // Past the inventory's size limit only the limit is tested: no need to write megabytes.
      mutated = MUTATIONS[name]!(rand, mutated).slice(0, 400_000);
    }
    const file = path.join(dir, `case-${i}.yaml`);
    // Latin-1 keeps flipped bytes as they are (invalid UTF-8 included).
    const bytes = Buffer.from(mutated, applied.includes('flipBytes') ? 'latin1' : 'utf8');
    writeFileSync(file, bytes);
    const what = `case ${i} (seed ${seed}): ${base} + ${applied.join(' + ')}; input kept in ${file}`;

    const cpu = process.cpuUsage();
    let error: unknown;
    try {
      const inv = await loadInventory(file);
      if (!Array.isArray(inv.hosts) || inv.hosts.length === 0) t.fail(`${what}: accepted without hosts`);
      accepted++;
    } catch (err) {
      error = err;
    }
    const { user, system } = process.cpuUsage(cpu);
    ran++;

    if (error !== undefined) {
      if (!(error instanceof ConfigError || error instanceof ConfigErrors)) {
        t.fail(`${what}: threw ${(error as Error)?.stack ?? String(error)}`);
        return;
      }
      t.is(error.exitCode, 5, what);
      // Formatting is part of the path to the operator: it must not throw either, nor be huge.
      const shown = error instanceof ConfigErrors ? error.errors.map((e) => e.format()).join('\n') : error.format();
      t.true(shown.length < 200_000, `${what}: a message of ${shown.length} characters`);
      // Every position is a place in the file as the loader read it.
      const read = bytes.toString('utf8').split('\n');
      for (const e of error instanceof ConfigErrors ? error.errors : [error]) {
        if (!e.pos) continue;
        const line = read[e.pos.line - 1];
        if (line === undefined || e.pos.col < 1 || e.pos.col > line.length + 1) t.fail(`${what}: ${e.pos.line}:${e.pos.col} is not in the file (${read.length} lines)`);
      }
    }
    const ms = (user + system) / 1000;
    if (ms >= CASE_CPU_MS) t.fail(`${what}: took ${Math.round(ms)} ms of CPU`);
    if (inUse() - baseline > PEAK_BYTES) t.fail(`${what}: ${Math.round((inUse() - baseline) / 2 ** 20)} MiB in use`);
  }
  collect();
  const retained = inUse() - baseline;
  t.log(`${ran} cases (${accepted} accepted) in ${Math.round(performance.now() - started)} ms; ${Math.round(retained / 2 ** 20)} MiB retained`);
  t.true(ran >= 50, `only ${ran} cases ran in ${BUDGET_MS} ms`);
  t.true(retained < RETAINED_BYTES, `${Math.round(retained / 2 ** 20)} MiB retained after ${ran} cases`);
});
