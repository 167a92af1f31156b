/**
 * Kolla 2026.1 with `enable_valkey`: kolla-ansible renders Horizon's cache as django-redis over Valkey
 * Sentinel into _9998-kolla-settings.py (LOCATION redis://kolla/0, SentinelClient, the factory in
 * OPTIONS, the sentinels, valkey_master_password, retry_on_timeout). sessionctl reads that as the
 * current backend: status says Redis; asking for the same Sentinel is "no change" (exit 0, nothing
 * written, nothing restarted); a switch away carries the sessions out of Valkey; rollback restores
 * Kolla's files byte for byte. Only the k2026 flavour has Valkey.
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cli, djangoSettings, fleetSnapshot, horizonSessions, labInventory, labsFor, onHost, scratch, skipUnlessRuns } from './harness.js';
import { labReset, waitHorizonHealthy, type LabInfo } from './lab.js';
import type { RollbackReport, StatusReport, SwitchReport } from '../../src/report/types.js';

const KOLLA = '/etc/kolla/horizon/_9998-kolla-settings.py';
const CUSTOM = '/etc/kolla/horizon/_9999-custom-settings.py';
const lab = labsFor('kolla-own-valkey')[0];

skipUnlessRuns(test, 'kolla-own-valkey');

/** kolla-ansible 2026.1's _9998-kolla-settings.py.j2 for horizon_session_cache_backend == 'valkey', rendered for this lab. */
function kollaValkeyBlock(l: LabInfo): string {
  const v = l.services.valkey!;
  const password = readFileSync(v.passwordFile, 'utf8').trim();
  return `
SESSION_ENGINE = 'django.contrib.sessions.backends.cache'
CACHES = {
    'default': {
        'BACKEND': 'django_redis.cache.RedisCache',
        'LOCATION': 'redis://${v.monitor}/0',
        'OPTIONS': {
            'CLIENT_CLASS': 'django_redis.client.SentinelClient',
            'CONNECTION_FACTORY': 'django_redis.pool.SentinelConnectionFactory',
            'SENTINELS': [
                ('${v.sentinel.ip}', ${v.sentinel.port}),
            ],
            'PASSWORD': '${password}',
            'CONNECTION_POOL_KWARGS': {
                'retry_on_timeout': True,
            },
            'IGNORE_EXCEPTIONS': False,
        }
    }
}
`;
}

if (lab) {
  test.serial(`${lab.name}: Kolla's own Valkey Sentinel block is the current backend; the same is no change; sessions carry out of it; rollback restores Kolla's files`, async (t) => {
    await labReset(lab.name);
    const v = lab.services.valkey!;
    // kolla-ansible renders either the Valkey block or the memcached one: the lab's memcached block goes.
    for (const h of lab.hosts) {
      const rendered = (await onHost(h.container, ['cat', KOLLA])).replace(/^SESSION_ENGINE = [^\n]*\nCACHES = \{\n[\s\S]*?\n\}\n/m, kollaValkeyBlock(lab).trimStart());
      t.true(rendered.includes("'redis://kolla/0'"), 'the memcached block was replaced');
      await onHost(h.container, ['sh', '-c', `cat > ${KOLLA}`], rendered);
      await onHost(h.container, ['docker', 'restart', '-t', '10', 'horizon']);
    }
    for (const h of lab.hosts) {
      await waitHorizonHealthy(h);
      const s = await djangoSettings(h.container);
      t.deepEqual([s.backend, s.location], ['django_redis.cache.RedisCache', 'redis://kolla/0'], `${h.name} runs Kolla's Valkey Sentinel block`);
    }
    const kolla = await fleetSnapshot(lab, [KOLLA, CUSTOM]);

    const inv = labInventory(lab, scratch(), {
      extra: [
        'session:',
        `  redis: { url: "redis://valkey/0", password_file: "${v.passwordFile}", sentinel: { service: ${v.monitor}, hosts: ["${v.sentinel.ip}:${v.sentinel.port}"] } }`,
        `  memcached: { servers: ["${lab.services.memcached.ip}:${lab.services.memcached.port}"] }`,
      ].join('\n'),
    });
    const status = await cli(['status', '-i', inv, '--json']);
    t.is(status.code, 0, status.stderr);
    const statusReport = JSON.parse(status.stdout) as StatusReport;
    t.deepEqual(statusReport.hosts.map((h) => h.backend), lab.hosts.map(() => 'redis'), 'status reads Kolla\'s block as Redis');
    // ... and asks the server through Django's Sentinel client: Valkey, with Debian's RDB save points.
    for (const h of statusReport.hosts) {
      t.is(h.persistence?.survives, true, h.host);
      t.regex(h.persistence?.detail ?? '', /^Valkey (8|9)\.\d+\.\d+: sessions survive its restart \(RDB save [\d ]+; AOF (on|off)\)$/, h.host);
    }

    const state = scratch('sessionctl-state-');
    const same = await cli(['apply', '-i', inv, '--backend', 'redis', '--state-dir', state, '--yes', '--json']);
    t.is(same.code, 0, same.stderr + same.stdout);
    const report = JSON.parse(same.stdout) as SwitchReport;
    t.is(report.outcome, 'no-change', report.error);
    t.deepEqual(await fleetSnapshot(lab, [KOLLA, CUSTOM]), kolla, 'no file written, no container restarted');
    t.notRegex(same.stdout + same.stderr, new RegExp(readFileSync(v.passwordFile, 'utf8').trim()), 'the Valkey password is never printed');
    // The server says it is Valkey (its own version, not the Redis one it is compatible with), and Debian's config saves RDB snapshots.
    for (const h of report.hosts) {
      t.regex(h.steps.find((s) => s.step === 'backend-reachable')?.detail ?? '', /^ok: Valkey (8|9)\.\d+\.\d+ \(master\) answered PING from the container; sessions survive its restart \(RDB save [\d ]+; AOF (on|off)\)$/, h.host);
    }

    // Sessions users have in Valkey now are still there after the switch to memcached, on every host.
    const token = randomBytes(4).toString('hex');
    const made = await horizonSessions(lab.hosts[0]!.container, { op: 'create', n: 40, token, ttl: 900, step: 5 });
    t.is(made.cache, 'django_redis.cache.RedisCache');
    const away = await cli(['apply', '-i', inv, '--backend', 'memcached', '--state-dir', state, '--yes', '--json']);
    t.is(away.code, 0, away.stderr + away.stdout);
    t.is((JSON.parse(away.stdout) as SwitchReport).outcome, 'applied');
    const keys = made.sessions!.map(([k]) => k);
    for (const h of lab.hosts) {
      const read = await horizonSessions(h.container, { op: 'read', keys });
      t.is(read.cache, 'django.core.cache.backends.memcached.PyMemcacheCache', `${h.name} switched to memcached`);
      t.deepEqual(made.sessions!.filter(([k, value]) => read.found![k]![0] !== value).length, 0, `${h.name} reads every session carried out of Valkey`);
    }

    const journal = (JSON.parse(away.stdout) as SwitchReport).journal!;
    t.false(readFileSync(journal, 'utf8').includes(readFileSync(v.passwordFile, 'utf8').trim()), 'no secret in the journal');
    const back = await cli(['rollback', '-i', inv, '--state-dir', state, '--yes', '--json']);
    t.is(back.code, 0, back.stderr + back.stdout);
    t.is((JSON.parse(back.stdout) as RollbackReport).outcome, 'rolled-back');
    t.deepEqual((await fleetSnapshot(lab, [KOLLA, CUSTOM])).map((h) => h.files), kolla.map((h) => h.files), "every file byte-identical to Kolla's");
    for (const h of lab.hosts) t.is((await djangoSettings(h.container)).location, 'redis://kolla/0', `${h.name} is back on Kolla's Valkey Sentinel`);
    const again = await cli(['rollback', '-i', inv, '--state-dir', state, '--run', (JSON.parse(away.stdout) as SwitchReport).runId!, '--yes', '--json']);
    t.is((JSON.parse(again.stdout) as RollbackReport).outcome, 'already-rolled-back', 'a second rollback of the run does nothing');
    t.deepEqual((await fleetSnapshot(lab, [KOLLA, CUSTOM])).map((h) => h.files), kolla.map((h) => h.files));

    // Valkey standalone as a target: the plan names it from the server's own answer, in each container.
    const standalone = labInventory(lab, scratch(), {
      extra: ['session:', `  redis: { url: "redis://${v.ip}:${v.port}/0", password_file: "${v.passwordFile}" }`].join('\n'),
    });
    const planned = await cli(['plan', '-i', standalone, '--backend', 'redis', '--json']);
    t.is(planned.code, 0, planned.stderr + planned.stdout);
    for (const h of (JSON.parse(planned.stdout) as SwitchReport).hosts) {
      t.regex(h.steps.find((s) => s.step === 'backend-reachable')?.detail ?? '', /^ok: Valkey (8|9)\.\d+\.\d+ \(master\) answered PING from the container/, h.host);
    }
  });

  test.after.always(async () => {
    await labReset(lab.name);
  });
}
