/**
 * SSH key pairs made with node:crypto, so the lab needs no ssh-keygen on the machine.
 *
 * ed25519 private keys are written in OpenSSH's own format (the only one OpenSSH and ssh2 both
 * read for ed25519); RSA and ECDSA host keys as PEM (PKCS#1 / SEC1), which sshd reads too.
 */
import { generateKeyPairSync, randomBytes, type JsonWebKey } from 'node:crypto';

export type SshKeyType = 'ed25519' | 'rsa' | 'ecdsa';

export interface SshKeyPair {
  type: SshKeyType;
  /** File content of the private key. */
  privateKey: string;
  /** One line: `<algorithm> <base64 blob> <comment>`. */
  publicKey: string;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function sshString(data: Buffer | string): Buffer {
  const b = typeof data === 'string' ? Buffer.from(data) : data;
  return Buffer.concat([u32(b.length), b]);
}

function mpint(data: Buffer): Buffer {
  let i = 0;
  while (i < data.length - 1 && data[i] === 0) i++;
  let v = data.subarray(i);
  if ((v[0] ?? 0) & 0x80) v = Buffer.concat([Buffer.from([0]), v]);
  return sshString(v);
}

function jwkPart(jwk: JsonWebKey, field: 'd' | 'x' | 'y' | 'n' | 'e'): Buffer {
  const v = jwk[field];
  if (typeof v !== 'string') throw new Error(`JWK has no ${field}`);
  return Buffer.from(v, 'base64url');
}

function wrap(b64: string, width: number): string {
  return (b64.match(new RegExp(`.{1,${width}}`, 'g')) ?? []).join('\n');
}

/** The "openssh-key-v1" container, unencrypted. */
function opensshPrivateKey(keyType: string, publicBlob: Buffer, privateFields: Buffer, comment: string): string {
  const check = randomBytes(4);
  let section = Buffer.concat([check, check, sshString(keyType), privateFields, sshString(comment)]);
  const pad = (8 - (section.length % 8)) % 8;
  section = Buffer.concat([section, Buffer.from(Array.from({ length: pad }, (_, i) => i + 1))]);
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    u32(1),
    sshString(publicBlob),
    sshString(section),
  ]);
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${wrap(body.toString('base64'), 70)}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

export function generateSshKey(type: SshKeyType, comment: string): SshKeyPair {
  switch (type) {
    case 'ed25519': {
      const { privateKey } = generateKeyPairSync('ed25519');
      const jwk = privateKey.export({ format: 'jwk' });
      const pub = jwkPart(jwk, 'x');
      const seed = jwkPart(jwk, 'd');
      const blob = Buffer.concat([sshString('ssh-ed25519'), sshString(pub)]);
      const fields = Buffer.concat([sshString(pub), sshString(Buffer.concat([seed, pub]))]);
      return {
        type,
        privateKey: opensshPrivateKey('ssh-ed25519', blob, fields, comment),
        publicKey: `ssh-ed25519 ${blob.toString('base64')} ${comment}`,
      };
    }
    case 'rsa': {
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 3072, publicExponent: 65537 });
      const jwk = publicKey.export({ format: 'jwk' });
      const blob = Buffer.concat([sshString('ssh-rsa'), mpint(jwkPart(jwk, 'e')), mpint(jwkPart(jwk, 'n'))]);
      return {
        type,
        privateKey: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
        publicKey: `ssh-rsa ${blob.toString('base64')} ${comment}`,
      };
    }
    case 'ecdsa': {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const jwk = publicKey.export({ format: 'jwk' });
      const point = Buffer.concat([Buffer.from([4]), jwkPart(jwk, 'x'), jwkPart(jwk, 'y')]);
      const blob = Buffer.concat([sshString('ecdsa-sha2-nistp256'), sshString('nistp256'), sshString(point)]);
      return {
        type,
        privateKey: privateKey.export({ type: 'sec1', format: 'pem' }).toString(),
        publicKey: `ecdsa-sha2-nistp256 ${blob.toString('base64')} ${comment}`,
      };
    }
  }
}
