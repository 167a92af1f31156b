import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { HostUnreachableError, detailFor } from '../errors.js';
import type { HostConfig, Inventory } from '../inventory/types.js';
import { Fleet } from '../transport/fleet.js';
import type { SshTarget } from '../transport/types.js';
import { fingerprint, keyTypeOf, knownHostsLine } from '../transport/known-hosts.js';

/** Asked when a host presents a key not in known_hosts: true = record it and connect. */
export type TrustKey = (host: SshTarget, keyType: string, fingerprint: string) => Promise<boolean>;

export type ProbeResult = { ok: true } | { ok: false; message: string };

/**
 * Connect to one host as the run will (its jump chain included). An unknown key is shown to the
 * operator and written to known_hosts only after a yes; a changed or revoked key is never offered.
 */
export async function probeHost(inventory: Inventory, host: HostConfig, trust: TrustKey): Promise<ProbeResult> {
  // Each round learns at most one new key (the jump host's, then the host's own).
  for (let round = 0; round < 8; round++) {
    let refused: { host: SshTarget; key: Buffer } | undefined;
    const fleet = new Fleet(inventory.hosts, { acceptNewHostKeys: false, refusedUnknownKey: (h, key) => (refused = { host: h, key }) });
    try {
      const ssh = await fleet.ssh(host);
      await ssh.run(['true']);
      return { ok: true };
    } catch (err) {
      if (!(err instanceof HostUnreachableError) || !refused) return { ok: false, message: detailFor(err, host.name) };
      const { host: h, key } = refused;
      if (!(await trust(h, keyTypeOf(key), fingerprint(key)))) {
        return { ok: false, message: h.name === host.name ? 'host key not trusted' : `jump host ${h.name}: host key not trusted` };
      }
      await mkdir(dirname(h.knownHosts), { recursive: true, mode: 0o700 });
      await appendFile(h.knownHosts, knownHostsLine(h.address, h.port, key) + '\n', { mode: 0o600 });
    } finally {
      await fleet.close();
    }
  }
  return { ok: false, message: 'too many unknown host keys' };
}
