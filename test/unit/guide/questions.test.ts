/**
 * The guided questions with a scripted operator: the exact sequence of questions each backend
 * asks (and no others), every typed answer run through the prompt's own validation, and what the
 * answers become once written as an inventory.
 */
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveDesired } from '../../../src/backends/desired.js';
import type { StatusReport } from '../../../src/report/types.js';
import { inventoryText, type Answers } from '../../../src/guide/answers.js';
import type { Prompts } from '../../../src/guide/prompts.js';
import { askBackend, askDatabase, askMemcached, askRedis } from '../../../src/guide/session.js';
import { parseInventory } from '../../../src/inventory/load.js';

/** [question pattern, answers...]: several answers = the first ones must be refused by the prompt's validation. */
type Step = [RegExp, ...unknown[]];

function scripted(steps: Step[]) {
  const queue = [...steps];
  const refused: string[] = [];
  const next = (message: string): unknown[] => {
    const step = queue.shift();
    if (!step) throw new Error(`unexpected question: ${message}`);
    const [pattern, ...values] = step;
    if (!pattern.test(message)) throw new Error(`asked "${message}", expected ${pattern}`);
    return values;
  };
  const typed = async (message: string, validate: ((v: string) => true | string | Promise<true | string>) | undefined, fallback?: string) => {
    for (const v of next(message)) {
      const value = (v as string | undefined) ?? fallback ?? '';
      const ok = validate ? await validate(value) : true;
      if (ok === true) return value;
      refused.push(ok);
    }
    throw new Error(`every answer to "${message}" was refused: ${refused.join('; ')}`);
  };
  const ask: Prompts = {
    input: (message, opts = {}) => typed(message, opts.validate, opts.default),
    password: (message, validate) => typed(message, validate),
    confirm: async (message, d) => (next(message)[0] as boolean | undefined) ?? d,
    select: async <T>(message: string, choices: { value: T }[], d?: T) => {
      const v = (next(message)[0] as T | undefined) ?? d;
      if (!choices.some((c) => c.value === v)) throw new Error(`${String(v)} is not a choice of "${message}"`);
      return v as T;
    },
  };
  return { ask, refused, done: () => queue.length === 0 };
}

const memcachedFleet: StatusReport = {
  hosts: [{ host: 'dash1', address: '10.0.0.11', reachable: true, backend: 'memcached', cache: { backend: 'PyMemcacheCache', location: ['10.0.0.60:11211'] } }],
  warnings: [],
};
const base = { access: { user: 'root', knownHosts: '/k', become: false }, hosts: [{ name: 'dash1', address: '10.0.0.11', port: 22, role: 'dashboard' as const }] };

test('Redis: a wrong URL is refused and corrected; the password asked masked ends up only as a variable name', async (t) => {
  delete process.env.GUIDE_Q_PW;
  const s = scripted([
    [/^Switch every host to which session backend\? \(now: memcached\)$/, 'redis'],
  ]);
  const answers: Answers = { ...base };
  answers.backend = await askBackend(s.ask, answers, memcachedFleet);
  const r = scripted([
    [/^Redis URL/, 'http://10.0.0.50:6379/0', 'redis://:pw@10.0.0.50/0', 'redis://10.0.0.50:6379/0'],
    [/^Redis password\?/, 'env'],
    [/^Environment variable name$/, 'GUIDE Q PW', 'GUIDE_Q_PW'],
    [/^GUIDE_Q_PW is not set here/, '', 'typed-secret'],
  ]);
  answers.redis = await askRedis(r.ask, memcachedFleet, undefined, 'standalone');
  t.true(r.done());
  t.is(r.refused.length, 4);
  t.regex(r.refused[0]!, /must be a URL starting with redis:\/\//);
  t.regex(r.refused[1]!, /must not contain a password/);
  t.regex(r.refused[2]!, /environment variable name/);
  t.is(r.refused[3], 'empty');
  t.deepEqual(answers.redis, { url: 'redis://10.0.0.50:6379/0', password: { env: 'GUIDE_Q_PW' } });
  t.is(process.env.GUIDE_Q_PW as string | undefined, 'typed-secret', 'lives in this process only');
  const text = inventoryText(answers);
  t.false(text.includes('typed-secret'));
  await t.notThrowsAsync(resolveDesired(parseInventory(text, '<guided>'), {}));
  delete process.env.GUIDE_Q_PW;
});

test('Sentinel: service, sentinels and both passwords as files; no other question', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'guide-q-'));
  writeFileSync(join(dir, 'redis.pass'), 'r\n');
  writeFileSync(join(dir, 'sentinel.pass'), 's\n');
  const s = scripted([
    [/^Switch every host/, 'sentinel'],
    [/^Redis URL/, 'redis://mymaster/0'],
    [/^Redis password\?/, 'file'],
    [/^File holding the password$/, join(dir, 'missing.pass'), join(dir, 'redis.pass')],
    [/^Sentinel service \(master\) name$/, undefined],
    [/^Sentinels, host:port/, '10.0.0.51:26379,10.0.0.52', '10.0.0.51:26379, [2001:db8::53]:26379'],
    [/^Sentinel password\?/, 'file'],
    [/^File holding the password$/, join(dir, 'sentinel.pass')],
  ]);
  const answers: Answers = { ...base };
  answers.backend = await askBackend(s.ask, answers, memcachedFleet);
  t.true(s.done());
  t.regex(s.refused[0]!, /does not exist/);
  t.regex(s.refused[1]!, /hosts\[1\] must be host:port/);
  t.deepEqual(answers.redis, {
    url: 'redis://mymaster/0',
    password: { file: join(dir, 'redis.pass') },
    sentinel: { service: 'mymaster', hosts: ['10.0.0.51:26379', '[2001:db8::53]:26379'], password: { file: join(dir, 'sentinel.pass') } },
  });
  t.is(parseInventory(inventoryText(answers), '<guided>').session.redis?.sentinel?.service, 'mymaster');
});

test('Redis over TLS: the CA file is checked as it is typed, the name check is asked (on by default), and both reach the inventory', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'guide-q-'));
  writeFileSync(join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  writeFileSync(join(dir, 'key.pem'), '-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n');
  const s = scripted([
    [/^Redis URL/, 'rediss://redis.example:6380/0'],
    [/^Redis password\?/, 'none'],
    [/^CA certificate that signed the server's/, join(dir, 'key.pem'), join(dir, 'ca.pem')],
    [/^Require the server's certificate to name redis\.example\? \(recommended\)$/, false],
    [/^Client certificate, a path inside the horizon container/, ''],
  ]);
  const redis = await askRedis(s.ask, memcachedFleet, undefined, 'standalone');
  t.true(s.done());
  t.regex(s.refused[0]!, /holds no PEM certificate/);
  t.deepEqual(redis, { url: 'rediss://redis.example:6380/0', tlsCa: join(dir, 'ca.pem'), tlsCheckHostname: false });
  const inv = parseInventory(inventoryText({ ...base, backend: 'redis', redis }), '<guided>');
  t.is(inv.session.redis?.tlsCa, join(dir, 'ca.pem'));
  t.is(inv.session.redis?.tlsCheckHostname, false);
  await t.notThrowsAsync(resolveDesired(inv, {}));
});

test('Sentinel over TLS: the TLS questions, a client certificate as paths in the container (a relative one refused), all reaching the inventory', async (t) => {
  const s = scripted([
    [/^Redis URL/, 'rediss://mymaster/0'],
    [/^Redis password\?/, 'none'],
    [/^CA certificate that signed the server's/, ''],
    [/^Require the server's certificate to name the address it is reached at\? \(recommended\)$/, undefined],
    [/^Client certificate, a path inside the horizon container/, 'redis.crt', '/etc/horizon/redis.crt'],
    [/^Its private key inside the container/, '/etc/horizon/redis.key'],
    [/^Sentinel service \(master\) name$/, undefined],
    [/^Sentinels, host:port/, '10.0.0.51:26380'],
    [/^Sentinel password\?/, 'none'],
  ]);
  const redis = await askRedis(s.ask, memcachedFleet, undefined, 'sentinel');
  t.true(s.done());
  t.is(s.refused.length, 1);
  t.deepEqual(redis, { url: 'rediss://mymaster/0', tlsCert: '/etc/horizon/redis.crt', tlsKey: '/etc/horizon/redis.key', sentinel: { service: 'mymaster', hosts: ['10.0.0.51:26380'] } });
  const inv = parseInventory(inventoryText({ ...base, backend: 'redis', redis }), '<guided>');
  t.deepEqual([inv.session.redis?.tlsCert, inv.session.redis?.tlsKey], ['/etc/horizon/redis.crt', '/etc/horizon/redis.key']);
  await t.notThrowsAsync(resolveDesired(inv, {}));
});

test('Redis Cluster: one node\'s URL, then the nodes (the URL\'s node offered), reaching the inventory', async (t) => {
  const s = scripted([
    [/^Switch every host/, 'cluster'],
    [/^Redis URL of one cluster node/, 'redis://10.0.0.81:7000/0'],
    [/^Redis password\?/, 'none'],
    [/^Cluster nodes, host:port/, '10.0.0.81:7000,10.0.0.82', '10.0.0.81:7000, 10.0.0.82:7000, 10.0.0.83:7000'],
  ]);
  const answers: Answers = { ...base };
  answers.backend = await askBackend(s.ask, answers, memcachedFleet);
  t.true(s.done());
  t.regex(s.refused[0]!, /nodes\[1\] must be host:port/);
  t.deepEqual(answers.redis, { url: 'redis://10.0.0.81:7000/0', cluster: { nodes: ['10.0.0.81:7000', '10.0.0.82:7000', '10.0.0.83:7000'] } });
  const inv = parseInventory(inventoryText(answers), '<guided>');
  t.deepEqual(inv.session.redis?.cluster, { nodes: ['10.0.0.81:7000', '10.0.0.82:7000', '10.0.0.83:7000'] });
  await t.notThrowsAsync(resolveDesired(inv, {}));
});

test('memcached: the servers in use are the default answer', async (t) => {
  const s = scripted([[/^memcached servers/, undefined]]);
  t.deepEqual(await askMemcached(s.ask, memcachedFleet, undefined), ['10.0.0.60:11211']);
  const wrong = scripted([[/^memcached servers/, '10.0.0.60:0', '10.0.0.60:11211,10.0.0.61:11211']]);
  t.deepEqual(await askMemcached(wrong.ask, memcachedFleet, undefined), ['10.0.0.60:11211', '10.0.0.61:11211']);
  t.regex(wrong.refused[0]!, /must be host:port/);
});

test('signed cookies: the warning, and a no goes back to the choice', async (t) => {
  const s = scripted([
    [/^Switch every host/, 'cookie'],
    [/^Use signed-cookie sessions anyway/, false],
    [/^Switch every host/, 'cookie'],
    [/^Use signed-cookie sessions anyway/, true],
  ]);
  const answers: Answers = { ...base };
  t.is(await askBackend(s.ask, answers, memcachedFleet), 'cookie');
  t.true(answers.allowInsecureCookieSessions);
});

test('database: engine, host, default port, names, password variable already set (not asked), session engine', async (t) => {
  process.env.GUIDE_Q_DB = 'set-already';
  const s = scripted([
    [/^Database engine$/, 'postgresql'],
    [/^Database host/, 'db 1', '10.0.0.70'],
    [/^Port \(empty: 5432\)$/, '70000', ''],
    [/^Database name$/, undefined],
    [/^Database user$/, undefined],
    [/^Database password\?/, 'env'],
    [/^Environment variable name$/, 'GUIDE_Q_DB'],
    [/^Session engine$/, 'cached_db'],
  ]);
  const db = await askDatabase(s.ask, undefined);
  t.true(s.done(), 'no masked question when the variable is set');
  t.is(s.refused.length, 2);
  t.deepEqual(db, { engine: 'postgresql', host: '10.0.0.70', name: 'horizon', user: 'horizon', password: { env: 'GUIDE_Q_DB' }, sessionEngine: 'cached_db' });
  delete process.env.GUIDE_Q_DB;
});
