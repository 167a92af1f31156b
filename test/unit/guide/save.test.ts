/** The guided mode's "save without secrets": a picked file's literal secrets are never written. */
import test from 'ava';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inventoryText, type Answers } from '../../../src/guide/answers.js';
import type { Prompts } from '../../../src/guide/prompts.js';
import { offerSave } from '../../../src/guide/save.js';
import { loadInventory, parseInventory } from '../../../src/inventory/load.js';

const SECRETS = ['s3cr3t-anchor-pp', 's3cr3t-dash2-pp', 's3cr3t-db-pw', 's3cr3t-sentinel-pw'];

const PICKED = [
  '# the database password is s3cr3t-db-pw',
  'x-kolla: &kolla',
  '  user: kolla',
  '  identity_passphrase: s3cr3t-anchor-pp',
  'defaults:',
  '  identity: ~/.ssh/id_ed25519',
  'hosts:',
  '  dash1:',
  '    <<: *kolla',
  '    address: 10.0.0.11 # rack 4',
  '  dash2:',
  '    address: 10.0.0.12',
  '    identity_passphrase: "s3cr3t-dash2-pp"',
  'session:',
  '  backend: database',
  '  database: { engine: mysql, host: db, name: horizon, user: horizon, password: s3cr3t-db-pw }',
  '  redis:',
  '    url: redis://10.0.0.50:6379/0',
  '    sentinel: { service: m, hosts: ["10.0.0.51:26379"], password: s3cr3t-sentinel-pw } # s3cr3t-sentinel-pw',
  '',
].join('\n');

/** An operator who saves under the suggested name; the name goes through the prompt's validation. */
const operator: Prompts = {
  confirm: async () => true,
  input: async (message, opts = {}) => {
    const ok = await opts.validate?.(opts.default ?? '');
    if (ok !== true && ok !== undefined) throw new Error(`"${message}" refused ${opts.default}: ${ok}`);
    return opts.default ?? '';
  },
  select: async () => {
    throw new Error('no choice expected');
  },
  password: async () => {
    throw new Error('no password expected');
  },
};

test.serial('a picked file with literal secrets is saved with variables named instead, and means the same', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sessionctl-save-'));
  const picked = join(dir, 'inventory.yaml');
  writeFileSync(picked, PICKED);
  const answers: Answers = { base: { file: picked, text: PICKED }, backend: 'memcached', memcached: { servers: ['10.0.0.60:11211'] } };
  const chosen = parseInventory(inventoryText(answers), picked);

  const said: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string) => said.push(chunk) > 0) as typeof process.stdout.write;
  try {
    await offerSave(operator, answers, chosen);
  } finally {
    process.stdout.write = write;
  }

  const file = join(dir, 'inventory-memcached.yaml');
  const text = readFileSync(file, 'utf8');
  // Before: the picked file was copied as it was, every literal secret in it.
  for (const secret of SECRETS) t.false(text.includes(secret), `${secret} written:\n${text}`);
  t.regex(text, /address: 10\.0\.0\.11 # rack 4$/m, 'other comments stay');
  const saved = await loadInventory(file);
  t.deepEqual(
    saved.hosts.map((h) => [h.name, h.user, h.identityPassphrase]),
    [
      ['dash1', 'kolla', { kind: 'env', name: 'SESSIONCTL_X_KOLLA_IDENTITY_PASSPHRASE' }],
      ['dash2', 'root', { kind: 'env', name: 'SESSIONCTL_HOSTS_DASH2_IDENTITY_PASSPHRASE' }],
    ],
  );
  t.deepEqual(saved.session.database?.password, { kind: 'env', name: 'SESSIONCTL_SESSION_DATABASE_PASSWORD' });
  t.deepEqual(saved.session.redis?.sentinel?.password, { kind: 'env', name: 'SESSIONCTL_SESSION_REDIS_SENTINEL_PASSWORD' });
  t.deepEqual(saved.session.memcached, { servers: ['10.0.0.60:11211'] });
  t.regex(text, /^ {2}identity_passphrase_env: SESSIONCTL_X_KOLLA_IDENTITY_PASSPHRASE # identity_passphrase: was a literal secret, not saved: set SESSIONCTL_X_KOLLA_IDENTITY_PASSPHRASE in the environment$/m);
  t.regex(text, /^ {2}database: \{ .*password_env: SESSIONCTL_SESSION_DATABASE_PASSWORD \} # password: was a literal secret, not saved: set SESSIONCTL_SESSION_DATABASE_PASSWORD in the environment$/m);
  const output = said.join('');
  t.regex(output, /literal secrets were left out: it names SESSIONCTL_X_KOLLA_IDENTITY_PASSPHRASE, SESSIONCTL_HOSTS_DASH2_IDENTITY_PASSPHRASE, SESSIONCTL_SESSION_DATABASE_PASSWORD, SESSIONCTL_SESSION_REDIS_SENTINEL_PASSWORD instead/);
  for (const secret of SECRETS) t.false(output.includes(secret));
});
