import test from 'ava';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { cpuClock } from '../timing.js';

import {
  checkHostKey,
  fingerprint,
  keyTypeOf,
  knownHostsLine,
  parseKnownHosts,
  type HostKeyVerdict,
} from '../../../src/transport/known-hosts.js';

const { utils } = ssh2;

function sshString(b: Buffer | string): Buffer {
  const buf = Buffer.isBuffer(b) ? b : Buffer.from(b);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(buf.length);
  return Buffer.concat([len, buf]);
}

/** ssh2 cannot parse Node's PKCS#8 ed25519 keys, so build that blob by hand and check it with ssh2. */
function ed25519Blob(): Buffer {
  const { publicKey } = generateKeyPairSync('ed25519');
  const x = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const blob = Buffer.concat([sshString('ssh-ed25519'), sshString(x)]);
  const parsed = utils.parseKey(`ssh-ed25519 ${blob.toString('base64')}`);
  if (parsed instanceof Error) throw parsed;
  if (!parsed.getPublicSSH().equals(blob)) throw new Error('ed25519 blob mismatch');
  return blob;
}

function ssh2Blob(pem: string): Buffer {
  const parsed = utils.parseKey(pem);
  if (parsed instanceof Error) throw parsed;
  return parsed.getPublicSSH();
}

const rsaBlob = (): Buffer =>
  ssh2Blob(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }) as string);
const ecBlob = (): Buffer =>
  ssh2Blob(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'sec1', format: 'pem' }) as string);

const ed1 = ed25519Blob();
const ed2 = ed25519Blob();
const ed3 = ed25519Blob();
const rsa1 = rsaBlob();
const ec1 = ecBlob();

const line = (hosts: string, blob: Buffer, marker = ''): string =>
  `${marker ? marker + ' ' : ''}${hosts} ${keyTypeOf(blob)} ${blob.toString('base64')} comment`;

function withTmp<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'kh-test-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('keyTypeOf reads the type from real ssh2 blobs', (t) => {
  t.is(keyTypeOf(ed1), 'ssh-ed25519');
  t.is(keyTypeOf(rsa1), 'ssh-rsa');
  t.is(keyTypeOf(ec1), 'ecdsa-sha2-nistp256');
  t.throws(() => keyTypeOf(Buffer.from([0, 0, 0, 9, 0x61])));
});

test('fingerprint equals ssh-keygen -lf', (t) => {
  withTmp((dir) => {
    for (const blob of [ed1, rsa1, ec1]) {
      const file = join(dir, 'key.pub');
      writeFileSync(file, `${keyTypeOf(blob)} ${blob.toString('base64')}\n`);
      const out = execFileSync('ssh-keygen', ['-lf', file], { encoding: 'utf8' });
      t.is(fingerprint(blob), out.split(' ')[1] ?? '(no fingerprint)');
    }
  });
});

test('knownHostsLine writes plain, bracketed and parseable lines', (t) => {
  t.is(knownHostsLine('web1.example.com', 22, ed1), `web1.example.com ssh-ed25519 ${ed1.toString('base64')}`);
  t.is(knownHostsLine('10.0.0.5', 2222, ed1), `[10.0.0.5]:2222 ssh-ed25519 ${ed1.toString('base64')}`);
  const entries = parseKnownHosts(knownHostsLine('h', 2200, rsa1));
  t.deepEqual(checkHostKey(entries, 'h', 2200, rsa1), { kind: 'match' });
  t.throws(() => knownHostsLine('evil host\n* ssh-ed25519 AAAA', 22, ed1));
  t.throws(() => knownHostsLine('a,b', 22, ed1));
});

interface Case {
  name: string;
  file: string[];
  host: string;
  port?: number;
  key: Buffer;
  want: HostKeyVerdict['kind'];
  /** How many lines must survive parsing, when the case is about skipping. */
  entries?: number;
}

const cases: Case[] = [
  { name: 'plain host', file: [line('web1', ed1)], host: 'web1', key: ed1, want: 'match' },
  { name: 'host name is case-insensitive', file: [line('Web1.Example.COM', ed1)], host: 'web1.example.com', key: ed1, want: 'match' },
  { name: 'plain host does not cover another port', file: [line('web1', ed1)], host: 'web1', port: 2222, key: ed1, want: 'unknown' },
  { name: '[host]:port form', file: [line('[web1]:2222', ed1)], host: 'web1', port: 2222, key: ed1, want: 'match' },
  { name: '[host]:22 is not the port-22 lookup name', file: [line('[web1]:22', ed1)], host: 'web1', key: ed1, want: 'unknown' },
  { name: 'wildcard *', file: [line('*.example.com', ed1)], host: 'db.example.com', key: ed1, want: 'match' },
  { name: 'wildcard ?', file: [line('web?', ed1)], host: 'web7', key: ed1, want: 'match' },
  { name: 'wildcard does not overmatch', file: [line('web?', ed1)], host: 'web10', key: ed1, want: 'unknown' },
  { name: 'dot in pattern is literal', file: [line('a.b', ed1)], host: 'axb', key: ed1, want: 'unknown' },
  { name: 'comma list', file: [line('alpha,beta,10.1.1.1', ed1)], host: 'beta', key: ed1, want: 'match' },
  { name: 'negation excludes the line', file: [line('*.example.com,!bad.example.com', ed1)], host: 'bad.example.com', key: ed1, want: 'unknown' },
  { name: 'negation leaves other hosts', file: [line('*.example.com,!bad.example.com', ed1)], host: 'ok.example.com', key: ed1, want: 'match' },
  { name: 'negation alone never matches', file: [line('!bad', ed1)], host: 'good', key: ed1, want: 'unknown' },
  { name: 'changed: same type, other key', file: [line('web1', ed2)], host: 'web1', key: ed1, want: 'changed' },
  { name: 'other key type only: unknown', file: [line('web1', rsa1), line('web1', ec1)], host: 'web1', key: ed1, want: 'unknown' },
  { name: 'multiple keys for a host, one matches', file: [line('web1', ed2), line('web1', rsa1), line('web1', ed1)], host: 'web1', key: ed1, want: 'match' },
  { name: 'revoked key', file: [line('*', ed1, '@revoked')], host: 'web1', key: ed1, want: 'revoked' },
  { name: 'revoked beats a matching entry', file: [line('web1', ed1), line('web*', ed1, '@revoked')], host: 'web1', key: ed1, want: 'revoked' },
  { name: 'revoked only for its hosts', file: [line('web1', ed1), line('other', ed1, '@revoked')], host: 'web1', key: ed1, want: 'match' },
  { name: '@cert-authority ignored', file: [line('*', ed1, '@cert-authority')], host: 'web1', key: ed1, want: 'unknown' },
  {
    name: 'comments, blank and garbage lines are skipped',
    file: [
      '# comment',
      '   ',
      'garbage',
      'web1 ssh-ed25519 !!notbase64!!',
      `web1 ssh-rsa ${ed2.toString('base64')}`,
      'web1 1024 65537 12345678901234567890',
      `@bogus web1 ssh-ed25519 ${ed2.toString('base64')}`,
      '|1|short|hash ssh-ed25519 AAAA',
      line('web1', rsa1),
      '\t# indented comment',
    ],
    host: 'web1',
    key: ed1,
    want: 'unknown',
    entries: 1,
  },
];

for (const c of cases) {
  test(`checkHostKey: ${c.name}`, (t) => {
    const entries = parseKnownHosts(c.file.join('\n'));
    if (c.entries !== undefined) t.is(entries.length, c.entries);
    t.is(checkHostKey(entries, c.host, c.port ?? 22, c.key).kind, c.want);
  });
}

test('a pattern of many stars is matched in linear steps (a regex of it backtracked for ever)', (t) => {
  const entries = parseKnownHosts([line(`${'*a'.repeat(16)}b,web1`, ed2), line(`*${'?'.repeat(40)}*`, ed1)].join('\n'));
  const cpu = cpuClock();
  t.is(checkHostKey(entries, 'a'.repeat(60), 22, ed1).kind, 'match', 'the second line: any name of 40 characters or more');
  t.is(checkHostKey(entries, 'a'.repeat(30), 22, ed1).kind, 'unknown');
  t.is(checkHostKey(entries, 'web1', 22, ed1).kind, 'changed');
  t.true(cpu() < 2000, `${cpu()} ms of CPU`);
});

test('parseKnownHosts never throws and keeps line numbers', (t) => {
  const text = ['# hi', '', '@revoked', 'x y', line('a', ed1), '\u0000\u2028', line('b', rsa1, '@revoked')].join('\r\n');
  const entries = parseKnownHosts(text);
  t.deepEqual(
    entries.map((e) => [e.line, e.marker, e.patterns, e.keyType]),
    [
      [5, undefined, ['a'], 'ssh-ed25519'],
      [7, '@revoked', ['b'], 'ssh-rsa'],
    ],
  );
  t.true(entries[0]!.key.equals(ed1));
});

test('changed lists the fingerprints of same-type keys only, once each', (t) => {
  const entries = parseKnownHosts([line('web1', ed2), line('web*', ed3), line('web1', ed2), line('web1', rsa1)].join('\n'));
  t.deepEqual(checkHostKey(entries, 'web1', 22, ed1), { kind: 'changed', expected: [fingerprint(ed2), fingerprint(ed3)] });
});

test('hashed entries written by ssh-keygen -H match', (t) => {
  withTmp((dir) => {
    const file = join(dir, 'known_hosts');
    writeFileSync(file, [line('web1.example.com', ed1), line('[db.example.com]:2222', rsa1), line('old.example.com', ed2)].join('\n') + '\n');
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
    const text = readFileSync(file, 'utf8');
    t.notRegex(text, /example\.com/);
    const entries = parseKnownHosts(text);
    t.is(entries.length, 3);
    t.true(entries.every((e) => e.hashed !== undefined));

    const verdict = (host: string, port: number, key: Buffer) => checkHostKey(entries, host, port, key);
    t.deepEqual(verdict('web1.example.com', 22, ed1), { kind: 'match' });
    t.deepEqual(verdict('WEB1.example.com', 22, ed1), { kind: 'match' });
    t.deepEqual(verdict('db.example.com', 2222, rsa1), { kind: 'match' });
    t.deepEqual(verdict('db.example.com', 22, rsa1), { kind: 'unknown' });
    t.deepEqual(verdict('web2.example.com', 22, ed1), { kind: 'unknown' });
    t.deepEqual(verdict('old.example.com', 22, ed3), { kind: 'changed', expected: [fingerprint(ed2)] });
  });
});
