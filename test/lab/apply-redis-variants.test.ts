/**
 * The Redis switch under its other conditions: pip from a local index, Debian's package, Sentinel,
 * and a SECRET_KEY that differs (refused with every file byte-identical, nothing restarted).
 * Redis down at preflight and two runs at once are in faults.test.ts.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { cli, djangoPython, djangoSettings, fleetSnapshot, labIndex, labIndexDown, labInventory, labsFor, labWheelhouse, onHost, redisCli, runs, scratch, skipUnlessRuns } from './harness.js';
import { labReset, serviceCli, type LabInfo } from './lab.js';
import type { SwitchReport } from '../../src/report/types.js';

const FILES = ['/etc/kolla/horizon/_9999-custom-settings.py', '/etc/kolla/horizon/_9998-kolla-settings.py'];

const SCENARIOS = ['apply-redis-variants:sentinel', 'apply-redis-variants:methods', 'apply-redis-variants:refusals', 'apply-redis-variants:tls', 'apply-redis-variants:tls-sentinel'] as const;
skipUnlessRuns(test, ...SCENARIOS);

function redisUrl(lab: LabInfo): string {
  return `redis://${lab.services.redis.ip}:${lab.services.redis.port}/0`;
}

function inventory(lab: LabInfo, redis: string, install: string): string {
  return labInventory(lab, scratch(), { extra: ['session:', '  backend: redis', `  redis: ${redis}`, 'install:', install].join('\n') });
}

const standalone = (lab: LabInfo) => `{ url: "${redisUrl(lab)}", password_file: "${lab.services.redis.passwordFile}" }`;
const wheelhouse = async () => `  method: wheelhouse\n  wheelhouse: "${await labWheelhouse()}"`;

async function sessionInRedis(t: import('ava').ExecutionContext, lab: LabInfo): Promise<void> {
  const out = await djangoPython(
    lab.hosts[1]!.container,
    "from django.contrib.sessions.backends.cache import SessionStore\nfrom django.core.cache import cache\ns = SessionStore(); s['x'] = 1; s.save()\nprint(cache.make_key(s.cache_key))",
  );
  t.is(await redisCli(lab, ['EXISTS', out]), '1', 'a session saved through Django is in Redis');
}

/** An apply refused from the containers for `reason`, with every settings file byte-identical and Horizon neither restarted nor reloaded. */
async function refusedWithNothingChanged(t: import('ava').ExecutionContext, lab: LabInfo, redis: string, reason: RegExp): Promise<void> {
  const before = await fleetSnapshot(lab, FILES);
  const res = await cli(['apply', '-i', inventory(lab, redis, await wheelhouse()), '--yes', '--json']);
  t.is(res.code, 2, res.stderr + res.stdout);
  t.regex((JSON.parse(res.stdout) as SwitchReport).error ?? '', reason);
  t.deepEqual(await fleetSnapshot(lab, FILES), before, 'every settings file byte-identical, Horizon not restarted or reloaded');
}

/** The lab Redis's TLS-only port, checked against `ca` (a local PEM file). */
const overTls = (lab: LabInfo, ca: string, more = '') =>
  `{ url: "rediss://${lab.services.redis.ip}:${lab.services.redis.tlsPort}/0", password_file: "${lab.services.redis.passwordFile}", tls_ca: "${ca}"${more} }`;

for (const lab of labsFor(...SCENARIOS)) {
  if (runs('apply-redis-variants:methods', lab)) test.serial(`${lab.name}: pip installs django-redis from a local index (PEP 503) that fits the container's Django`, async (t) => {
    await labReset(lab.name);
    try {
      const index = await labIndex(lab);
      const res = await cli(['apply', '-i', inventory(lab, standalone(lab), `  method: pip\n  index_url: "${index}"`), '--yes', '--json']);
      t.is(res.code, 0, res.stderr + res.stdout);
      for (const h of lab.hosts) {
        // 7.0.0 is in the index too but needs Django >= 5.2: pip must have picked a 5.x.
        const version = await onHost(h.container, ['docker', 'exec', 'horizon', 'python3', '-c', 'import django_redis; print(django_redis.__version__)']);
        t.regex(version.trim(), /^5\.\d+\.\d+$/);
        t.is((await djangoSettings(h.container)).backend, 'django_redis.cache.RedisCache');
      }
      await sessionInRedis(t, lab);
    } finally {
      await labIndexDown(lab);
    }
  });

  if (runs('apply-redis-variants:methods', lab)) test.serial(`${lab.name}: the distro method installs Debian's python3-django-redis inside the container`, async (t) => {
    await labReset(lab.name);
    const res = await cli(['apply', '-i', inventory(lab, standalone(lab), '  method: distro'), '--yes', '--json']);
    t.is(res.code, 0, res.stderr + res.stdout);
    for (const h of lab.hosts) {
      const where = await onHost(h.container, ['docker', 'exec', 'horizon', 'python3', '-c', 'import django_redis; print(django_redis.__file__)']);
      t.regex(where, /^\/usr\/lib\/python3\/dist-packages\/django_redis\//, "Debian's package, not pip's");
      t.is((await djangoSettings(h.container)).backend, 'django_redis.cache.RedisCache');
    }
    await sessionInRedis(t, lab);
  });

  if (runs('apply-redis-variants:sentinel', lab)) test.serial(`${lab.name}: Sentinel: the service's master, found through the sentinels, holds the sessions`, async (t) => {
    await labReset(lab.name);
    const s = lab.services.sentinel;
    const redis = `{ url: "${redisUrl(lab)}", password_file: "${lab.services.redis.passwordFile}", sentinel: { service: ${s.service}, hosts: ["${s.ip}:${s.port}"], password_file: "${s.passwordFile}" } }`;
    const res = await cli(['apply', '-i', inventory(lab, redis, await wheelhouse()), '--yes', '--json']);
    t.is(res.code, 0, res.stderr + res.stdout);
    for (const h of lab.hosts) {
      const truth = JSON.parse(await djangoPython(h.container, "from django.conf import settings as s\nc = s.CACHES['default']\nprint(json.dumps([c['LOCATION'], c['OPTIONS']['CLIENT_CLASS']]))"));
      t.deepEqual(truth, [`redis://${s.service}/0`, 'django_redis.client.SentinelClient']);
    }
    await sessionInRedis(t, lab);
    t.notRegex(res.stdout + res.stderr, new RegExp(readFileSync(s.passwordFile, 'utf8').trim()), 'sentinel password never printed');
  });

  if (runs('apply-redis-variants:tls', lab)) test.serial(`${lab.name}: TLS: another CA, a certificate for another name, then no client certificate, are refused from the container with nothing changed; the lab's CA with a client certificate switches`, async (t) => {
    await labReset(lab.name);
    const tls = lab.services.redis.tls;
    const refused = (ca: string, reason: RegExp) => refusedWithNothingChanged(t, lab, overTls(lab, ca), reason);
    await refused(tls.otherCa, /not usable from the horizon container: the server's TLS certificate is not trusted by the CA in tls_ca \(.*other-ca\.pem\)/);
    // The same CA's certificate for another name, swapped in at runtime (new connections get it).
    await redisCli(lab, ['CONFIG', 'SET', 'tls-cert-file', '/run/lab/tls/wrong-name.pem', 'tls-key-file', '/run/lab/tls/wrong-name.key']);
    try {
      await refused(tls.ca, /the server's TLS certificate does not name the host of the URL \(hostname checking is on/);
    } finally {
      await redisCli(lab, ['CONFIG', 'SET', 'tls-cert-file', '/run/lab/tls/redis.pem', 'tls-key-file', '/run/lab/tls/redis.key']);
    }

    // The server now asks for a client certificate: without one, refused; with one in the
    // containers (where an operator's image or config would put it, readable by Horizon alone), the switch.
    const inContainer = { cert: '/etc/openstack-dashboard/redis-client.pem', key: '/etc/openstack-dashboard/redis-client.key' };
    await redisCli(lab, ['CONFIG', 'SET', 'tls-auth-clients', 'yes']);
    try {
      await refused(tls.ca, /(the server asks for a client certificate|as one that asks for a client certificate does): set tls_cert/);
      for (const h of lab.hosts) {
        for (const [from, to] of [[tls.clientCert, inContainer.cert], [tls.clientKey, inContainer.key]] as const) {
          await onHost(h.container, ['docker', 'exec', '-i', '-u', 'root', 'horizon', 'sh', '-c', `cat > ${to} && chown horizon: ${to} && chmod 0600 ${to}`], readFileSync(from, 'utf8'));
        }
      }
      const client = `, tls_cert: "${inContainer.cert}", tls_key: "${inContainer.key}"`;
      const res = await cli(['apply', '-i', inventory(lab, overTls(lab, tls.ca, client), await wheelhouse()), '--yes', '--json']);
      t.is(res.code, 0, res.stderr + res.stdout);
      t.regex(res.stdout, /over TLS \(certificate checked against [^,]*ca\.pem, name checked, client certificate \/etc\/openstack-dashboard\/redis-client\.pem\)/);
      const ca = readFileSync(tls.ca, 'utf8');
      for (const h of lab.hosts) {
        // What Django in the container uses: the TLS port, the CA's text (no CA file needed in the container), the client certificate's paths.
        const truth = JSON.parse(await djangoPython(h.container, "from django.conf import settings as s\nc = s.CACHES['default']\nprint(json.dumps([c['LOCATION'], c['OPTIONS']['CONNECTION_POOL_KWARGS']]))"));
        t.deepEqual(truth, [`rediss://${lab.services.redis.ip}:${lab.services.redis.tlsPort}/0`, { ssl_cert_reqs: 'required', ssl_check_hostname: true, ssl_ca_data: ca, ssl_certfile: inContainer.cert, ssl_keyfile: inContainer.key }]);
      }
      // Port 6380 speaks only TLS and now wants the client certificate: a session Django saved there is in the server.
      await sessionInRedis(t, lab);
    } finally {
      await redisCli(lab, ['CONFIG', 'SET', 'tls-auth-clients', 'no']);
    }
  });

  if (runs('apply-redis-variants:tls-sentinel', lab)) test.serial(`${lab.name}: TLS through Sentinel: the TLS-only sentinel and the master it names, another CA refused with nothing changed; Django holds ssl for both`, async (t) => {
    await labReset(lab.name);
    const { tls } = lab.services.redis;
    const s = lab.services.sentinelTls;
    const redis = (ca: string) =>
      `{ url: "rediss://${s.service}/0", password_file: "${lab.services.redis.passwordFile}", tls_ca: "${ca}", sentinel: { service: ${s.service}, hosts: ["${s.ip}:${s.port}"], password_file: "${s.passwordFile}" } }`;
    await refusedWithNothingChanged(t, lab, redis(tls.otherCa), /not trusted by the CA in tls_ca \(.*other-ca\.pem\)/);

    const res = await cli(['apply', '-i', inventory(lab, redis(tls.ca), await wheelhouse()), '--yes', '--json']);
    t.is(res.code, 0, res.stderr + res.stdout);
    const ca = readFileSync(tls.ca, 'utf8');
    const ssl = { ssl_cert_reqs: 'required', ssl_check_hostname: true, ssl_ca_data: ca };
    for (const h of lab.hosts) {
      const truth = JSON.parse(await djangoPython(h.container, "from django.conf import settings as s\no = s.CACHES['default']['OPTIONS']\nprint(json.dumps([s.CACHES['default']['LOCATION'], o['CONNECTION_POOL_KWARGS'], {k: v for k, v in o['SENTINEL_KWARGS'].items() if k != 'password'}]))"));
      t.deepEqual(truth, [`redis://${s.service}/0`, { ssl: true, ...ssl }, { ssl: true, ...ssl }], h.name);
    }
    // The sentinel has no plain port and names the master's TLS-only port: the session went over TLS both ways.
    const named = await serviceCli(s.container, s.passwordFile, ['--tls', '--cacert', '/run/lab/tls/ca.pem', '-p', String(s.port), 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', s.service]);
    t.deepEqual(named.split('\n'), [lab.services.redis.ip, String(lab.services.redis.tlsPort)]);
    await sessionInRedis(t, lab);
  });

  test.after.always(`${lab.name}: reset the lab`, async () => {
    await labReset(lab.name);
  });

  // Refusals before any change do not depend on the Horizon flavour (see MATRIX).
  if (!runs('apply-redis-variants:refusals', lab)) continue;

  test.serial(`${lab.name}: a SECRET_KEY that differs on one host is refused before any change`, async (t) => {
    await labReset(lab.name);
    // What Horizon on dash2 would load from now on: its copy of the Kolla settings, with another key.
    await onHost(lab.hosts[1]!.container, ['docker', 'exec', 'horizon', 'sh', '-c',
      "printf '\\nSECRET_KEY = %s\\n' \"'another-key'\" >> /etc/openstack-dashboard/local_settings.d/_9998-kolla-settings.py"]);
    const before = await fleetSnapshot(lab, FILES);
    const res = await cli(['apply', '-i', inventory(lab, standalone(lab), await wheelhouse()), '--yes', '--json']);
    t.is(res.code, 2);
    t.regex((JSON.parse(res.stdout) as SwitchReport).error ?? '', /SECRET_KEY differs between hosts \(dash1,dash3: sha256 \w+; dash2: sha256 \w+\)/);
    t.deepEqual(await fleetSnapshot(lab, FILES), before);
  });

}
