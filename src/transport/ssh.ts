import { appendFile } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import { Client, type ClientChannel, type ConnectConfig, type SFTPWrapper } from 'ssh2';
import { CommandError, ConfigError, HostUnreachableError } from '../errors.js';
import { checkHostKey, fingerprint, hostKeyAlgorithms, keyTypeOf, knownHostsLine, knownKeyTypes, parseKnownHosts, type KnownHostsEntry } from './known-hosts.js';
import { FILE_LIMITS, readLocalFile, readLocalFileIfExists } from '../util/files.js';
import { shellJoin, type Arg } from '../util/quote.js';
import { masker, resolveSecret } from '../util/secret.js';
import type { ExecOptions, ExecResult, Shell, SshTarget } from './types.js';
import { MAX_STDOUT_BYTES, OutputCollector } from './output.js';

export interface SshOptions {
  /** Trust and record an unknown host key (like OpenSSH's accept-new). A changed key is always refused. */
  acceptNewHostKeys: boolean;
  /** Debug lines (already masked by the caller's logger). */
  debug?: (line: string) => void;
  /** Told about an unknown key it refused, so a person can be asked about it (the guided mode). */
  refusedUnknownKey?: (host: SshTarget, key: Buffer) => void;
}

/** What a connection needs from this machine: the private key (with its passphrase) and the known host keys. */
export interface LocalSshFiles {
  /** Absent: ssh-agent (SSH_AUTH_SOCK). */
  privateKey?: Buffer;
  passphrase?: string;
  /** The entries of known_hosts; none while the file does not exist. */
  knownHosts: KnownHostsEntry[];
}

/** Runs `read` once per key (hosts share a key file and a known_hosts); by default, every time. */
export type Once = <T>(key: string, read: () => Promise<T>) => Promise<T>;

/**
 * Read the host's local files: its identity and known_hosts, as regular files of bounded size,
 * and the identity's passphrase.
 *
 * @throws {ConfigError} at the host's place in the inventory, naming the file: missing or
 *   unreadable identity, a known_hosts that is a directory, a FIFO or too large, no identity and
 *   no ssh-agent. A known_hosts that does not exist yet is empty.
 */
export async function readLocalSshFiles(host: SshTarget, once: Once = (_key, read) => read()): Promise<LocalSshFiles> {
  const of = async <T>(read: () => Promise<T>): Promise<T> => {
    try {
      return await read();
    } catch (err) {
      throw err instanceof ConfigError ? new ConfigError(`host '${host.name}': ${err.message}`, host.pos) : err;
    }
  };
  let privateKey: Buffer | undefined;
  let passphrase: string | undefined;
  const identity = host.identity;
  if (identity) {
    privateKey = await of(() => once(`identity\0${identity}`, () => readLocalFile(identity, `identity ${identity}`, FILE_LIMITS.identity)));
    if (host.identityPassphrase) passphrase = await resolveSecret(host.identityPassphrase, `${host.name}.identity_passphrase`);
  } else if (!process.env.SSH_AUTH_SOCK) {
    throw new ConfigError(`host '${host.name}': no identity file set and no ssh-agent (SSH_AUTH_SOCK is unset)`, host.pos);
  }
  const file = host.knownHosts;
  const knownHosts = await of(() =>
    once(`known_hosts\0${file}`, async () => parseKnownHosts((await readLocalFileIfExists(file, `known_hosts ${file}`, FILE_LIMITS.knownHosts))?.toString('utf8') ?? '')),
  );
  return { ...(privateKey ? { privateKey } : {}), ...(passphrase !== undefined ? { passphrase } : {}), knownHosts };
}

/**
 * One SSH connection to one host, reused for every command, SFTP and the Docker socket.
 * A dropped connection turns every pending and later call into a HostUnreachableError.
 */
export class SshConnection implements Shell {
  readonly host: SshTarget;
  private client: Client | undefined;
  private sftpSession: Promise<SFTPWrapper> | undefined;
  private lost: Error | undefined;
  private readonly inflight = new Set<(err: Error) => void>();

  private constructor(host: SshTarget) {
    this.host = host;
  }

  /**
   * Open the connection, through `via` (a connected jump host) when given. `local`: the host's
   * key and known_hosts, already read (see {@link readLocalSshFiles}); read now when absent.
   */
  static async open(host: SshTarget, opts: SshOptions, via?: SshConnection, local?: LocalSshFiles): Promise<SshConnection> {
    const conn = new SshConnection(host);
    await conn.connect(opts, via, local ?? (await readLocalSshFiles(host)));
    return conn;
  }

  get name(): string {
    return this.host.name;
  }

  private async connect(opts: SshOptions, via: SshConnection | undefined, local: LocalSshFiles): Promise<void> {
    const host = this.host;
    const config: ConnectConfig = {
      host: host.address,
      port: host.port,
      username: host.user,
      readyTimeout: host.connectTimeout * 1000,
      keepaliveInterval: 10_000,
      keepaliveCountMax: 3,
    };
    if (local.privateKey) {
      config.privateKey = local.privateKey;
      if (local.passphrase !== undefined) config.passphrase = local.passphrase;
    } else {
      config.agent = process.env.SSH_AUTH_SOCK;
    }

    const entries = local.knownHosts;
    const preferred = knownKeyTypes(entries, host.address, host.port)
      .flatMap(hostKeyAlgorithms)
      .filter((a) => SUPPORTED_HOST_KEY_ALGORITHMS.has(a));
    if (preferred.length) {
      // ssh2's `prepend` skips algorithms already listed, so remove them first to move them up.
      config.algorithms = { serverHostKey: { remove: preferred, prepend: preferred } as never };
    }
    // ssh2 wants a synchronous verdict; we keep the reason to explain a refusal afterwards.
    let refusal: string | undefined;
    let accepted: Buffer | undefined;
    config.hostVerifier = (key: Buffer) => {
      const verdict = checkHostKey(entries, host.address, host.port, key);
      const fp = fingerprint(key);
      switch (verdict.kind) {
        case 'match':
          return true;
        case 'revoked':
          refusal = `host key ${keyTypeOf(key)} ${fp} is marked @revoked in ${host.knownHosts}`;
          return false;
        case 'changed':
          refusal =
            `HOST KEY CHANGED for ${hostLabel(host)}: it now presents ${keyTypeOf(key)} ${fp}, ` +
            `${host.knownHosts} has ${verdict.expected.join(', ')}. Refusing to connect (possible man-in-the-middle). ` +
            `If the host was reinstalled, remove the old entry (ssh-keygen -R) and try again.`;
          return false;
        case 'unknown':
          if (opts.acceptNewHostKeys || host.acceptNewHostKeys) {
            accepted = key;
            return true;
          }
          opts.refusedUnknownKey?.(host, key);
          refusal =
            `unknown host key ${keyTypeOf(key)} ${fp} for ${hostLabel(host)} (not in ${host.knownHosts}). ` +
            `Verify the fingerprint, then add it (ssh-keyscan) or rerun with --accept-new-host-keys.`;
          return false;
      }
    };

    if (via) config.sock = await via.forwardTcp(host.address, host.port);

    const client = new Client();
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error & { level?: string }) => {
        client.removeListener('ready', onReady);
        const why = refusal ?? describeConnectError(err, host);
        reject(new HostUnreachableError(host.name, why, { cause: err }));
      };
      const onReady = () => {
        client.removeListener('error', onError);
        resolve();
      };
      client.once('error', onError);
      client.once('ready', onReady);
      client.connect(config);
    });
    this.client = client;
    client.on('error', (err) => this.markLost(err));
    client.on('close', () => this.markLost(new Error('connection closed')));

    if (accepted) {
      await appendFile(host.knownHosts, knownHostsLine(host.address, host.port, accepted) + '\n', { mode: 0o600 });
      opts.debug?.(`${host.name}: accepted new host key ${keyTypeOf(accepted)} ${fingerprint(accepted)} into ${host.knownHosts}`);
    }
  }

  private markLost(err: Error): void {
    if (this.lost) return;
    this.lost = new HostUnreachableError(this.host.name, `SSH connection lost: ${err.message}`, { cause: err });
    for (const fail of this.inflight) fail(this.lost);
    this.inflight.clear();
  }

  private live(): Client {
    if (this.lost) throw this.lost;
    if (!this.client) throw new HostUnreachableError(this.host.name, 'not connected');
    return this.client;
  }

  /** Tracks a pending operation so a dropped connection rejects it instead of hanging. */
  private guard<T>(run: (fail: (err: Error) => void) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const fail = (err: Error) => reject(err);
      this.inflight.add(fail);
      run(fail).then(resolve, reject).finally(() => this.inflight.delete(fail));
    });
  }

  /** A TCP stream to host:port as seen from this host (used for ProxyJump). */
  forwardTcp(address: string, port: number): Promise<Duplex> {
    const client = this.live();
    return this.guard(
      () =>
        new Promise<Duplex>((resolve, reject) => {
          client.forwardOut('127.0.0.1', 0, address, port, (err, stream) => {
            if (err) reject(new HostUnreachableError(this.host.name, `cannot forward to ${address}:${port}: ${err.message}`));
            else resolve(stream);
          });
        }),
    );
  }

  /** A stream to a Unix socket on this host (the Docker socket), opened with the SSH user's rights. */
  forwardUnixSocket(path: string): Promise<Duplex> {
    const client = this.live();
    return new Promise<Duplex>((resolve, reject) => {
      client.openssh_forwardOutStreamLocal(path, (err, stream) => {
        if (err) reject(err);
        else resolve(stream);
      });
    });
  }

  /**
   * Run argv (quoted here, never by callers). `sudo: true` prefixes `sudo -n` when the host has
   * `become`. Resolves with the exit code; rejects only when the host is unreachable or the
   * command times out.
   */
  exec(argv: Arg[], opts: ExecOptions = {}): Promise<ExecResult> {
    const client = this.live();
    const full: Arg[] = opts.sudo && this.host.become ? ['sudo', '-n', '--', ...argv] : argv;
    const { command, display } = shellJoin(full);
    const timeoutMs = opts.timeoutMs ?? this.host.commandTimeout * 1000;
    return this.guard(
      (fail) =>
        new Promise<ExecResult>((resolve, reject) => {
          client.exec(command, (err, channel: ClientChannel) => {
            if (err) {
              reject(new HostUnreachableError(this.host.name, `cannot start command: ${err.message}`));
              return;
            }
            let code: number | null = null;
            let signal: string | undefined;
            const output = new OutputCollector(opts.maxStdoutBytes ?? MAX_STDOUT_BYTES, () => {
              // Stop reading: close the channel and fail now, not when the host agrees to close.
              clearTimeout(timer);
              channel.close();
              reject(output.capError(this.host.name, masker.mask(display), tail(output.result().stderr)));
            });
            const timer = setTimeout(() => {
              channel.close();
              fail(new CommandError(this.host.name, masker.mask(display), null, '', `timed out after ${timeoutMs / 1000}s`));
            }, timeoutMs);
            channel.on('data', output.stdout);
            channel.stderr.on('data', output.stderr);
            channel.on('exit', (c: number | null, sig?: string) => {
              code = c;
              signal = sig;
            });
            channel.on('close', () => {
              clearTimeout(timer);
              if (output.isOver) return;
              resolve({ code, ...(signal ? { signal } : {}), ...output.result(), display: masker.mask(display) });
            });
            if (opts.stdin !== undefined) channel.end(opts.stdin);
            else channel.end();
          });
        }),
    );
  }

  /** exec, and throw a CommandError (host, masked argv, exit code, stderr tail) on non-zero exit. */
  async run(argv: Arg[], opts: ExecOptions = {}): Promise<ExecResult> {
    const res = await this.exec(argv, opts);
    if (res.code !== 0) throw new CommandError(this.host.name, res.display, res.code, tail(res.stderr));
    return res;
  }

  /** The SFTP subsystem over the same connection, opened once. */
  sftp(): Promise<SFTPWrapper> {
    const client = this.live();
    this.sftpSession ??= new Promise<SFTPWrapper>((resolve, reject) => {
      client.sftp((err, sftp) => (err ? reject(new HostUnreachableError(this.host.name, `SFTP unavailable: ${err.message}`)) : resolve(sftp)));
    });
    return this.sftpSession;
  }

  close(): void {
    this.lost ??= new HostUnreachableError(this.host.name, 'connection closed by sessionctl');
    this.client?.end();
  }
}

const SUPPORTED_HOST_KEY_ALGORITHMS = new Set([
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
]);

function hostLabel(h: SshTarget): string {
  return h.port === 22 ? h.address : `[${h.address}]:${h.port}`;
}

function describeConnectError(err: Error & { level?: string; code?: string }, host: SshTarget): string {
  if (err.level === 'client-authentication') {
    return `authentication failed for user '${host.user}' (${host.identity ? `key ${host.identity}` : 'ssh-agent'})`;
  }
  if (err.level === 'client-timeout' || /Timed out/i.test(err.message)) {
    return `no SSH handshake within ${host.connectTimeout}s at ${hostLabel(host)}`;
  }
  if (err.code === 'ECONNREFUSED') return `connection refused at ${hostLabel(host)}`;
  if (err.code === 'EHOSTUNREACH' || err.code === 'ENETUNREACH') return `no route to ${hostLabel(host)}`;
  if (err.code === 'ENOTFOUND') return `cannot resolve ${host.address}`;
  return `cannot connect to ${hostLabel(host)}: ${err.message}`;
}

/** Last lines of a command's stderr, masked: enough to diagnose, short enough to read. */
export function tail(buf: Buffer, lines = 12): string {
  const text = masker.mask(buf.toString('utf8').trimEnd());
  return text.split('\n').slice(-lines).join('\n');
}

/** The start of a host's answer for an error: masked, on one line, short. */
export function excerpt(text: string, max = 160): string {
  const flat = masker.mask(text).replace(/\s+/g, ' ').trim();
  if (!flat) return '(nothing)';
  return flat.length > max ? `${flat.slice(0, max)}...` : flat;
}
