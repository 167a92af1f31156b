/**
 * The lab's own TLS material, made with the openssl CLI: a CA, the certificate of the lab Redis and
 * its TLS Sentinel (naming both addresses), a certificate from the same CA for another name
 * (swapped in at runtime to test the name check), a client certificate, and a second CA that
 * signed nothing here (the wrong-CA case).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface LabTls {
  dir: string;
  /** The lab CA, PEM: what tls_ca names. */
  ca: string;
  /** A CA that signed nothing the lab serves. */
  otherCa: string;
  /** A client certificate and its key from the lab CA (for tls-auth-clients). */
  clientCert: string;
  clientKey: string;
}

const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });

function makeCa(dir: string, name: string, cn: string): void {
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '3650',
    '-subj', `/CN=${cn}`, '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.pem`)]);
}

/** A certificate signed by the lab CA; the extensions are what Python 3.13's strict X.509 checks want. */
function makeLeaf(dir: string, name: string, san: string, usage = 'serverAuth'): void {
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, [
    `subjectAltName=${san}`,
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature',
    `extendedKeyUsage=${usage}`,
    'subjectKeyIdentifier=hash',
    'authorityKeyIdentifier=keyid,issuer',
  ].join('\n'));
  const csr = join(dir, `${name}.csr`);
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${name}`,
    '-keyout', join(dir, `${name}.key`), '-out', csr]);
  openssl(['x509', '-req', '-in', csr, '-CA', join(dir, 'ca.pem'), '-CAkey', join(dir, 'ca.key'), '-set_serial', `0x${Date.now().toString(16)}`,
    '-days', '3650', '-extfile', ext, '-out', join(dir, `${name}.pem`)]);
  rmSync(csr);
  rmSync(ext);
}

/** Made once per lab and per set of addresses the servers' certificate names (kept across `lab up`). */
export function ensureLabTls(stateDir: string, serverIps: string[]): LabTls {
  const dir = join(stateDir, 'tls');
  const stamp = join(dir, 'server-addresses');
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== serverIps.join(' ')) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    makeCa(dir, 'ca', 'sessionctl lab CA');
    makeCa(dir, 'other-ca', 'sessionctl lab other CA');
    makeLeaf(dir, 'redis', `${serverIps.map((ip) => `IP:${ip}`).join(',')},DNS:redis`);
    makeLeaf(dir, 'wrong-name', 'DNS:elsewhere.invalid');
    makeLeaf(dir, 'client', 'DNS:horizon', 'clientAuth');
    writeFileSync(stamp, serverIps.join(' '));
  }
  return tlsPaths(stateDir);
}

export function tlsPaths(stateDir: string): LabTls {
  const dir = join(stateDir, 'tls');
  return { dir, ca: join(dir, 'ca.pem'), otherCa: join(dir, 'other-ca.pem'), clientCert: join(dir, 'client.pem'), clientKey: join(dir, 'client.key') };
}
