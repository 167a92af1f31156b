import type { SourcePos } from '../errors.js';
import type { Arg } from '../util/quote.js';
import type { SecretRef } from '../util/secret.js';

/** What the transport needs to know of a host (an inventory host is one). */
export interface SshTarget {
  name: string;
  address: string;
  port: number;
  user: string;
  /** Private key file; absent = ssh-agent through SSH_AUTH_SOCK. */
  identity?: string;
  identityPassphrase?: SecretRef;
  knownHosts: string;
  /** Run privileged commands through `sudo -n`. */
  become: boolean;
  /** Record a host key not yet in known_hosts, as --accept-new-host-keys does, for this host only (ssh_config `StrictHostKeyChecking accept-new`). */
  acceptNewHostKeys?: boolean;
  /** Name of another host of the same fleet to jump through. */
  proxyJump?: string;
  /** Seconds. */
  connectTimeout: number;
  /** Seconds, per remote command. */
  commandTimeout: number;
  /** Where the host is defined, for errors. */
  pos?: SourcePos;
  /** This machine: commands run here as child processes, without SSH (the local Kolla deploy host). */
  local?: boolean;
}

/** Options for one remote command. */
export interface ExecOptions {
  /** Bytes or text written to the command's stdin (the only way secrets travel). */
  stdin?: string | Buffer;
  /** Overrides the host's command_timeout. */
  timeoutMs?: number;
  /** Run through `sudo -n` when the host has `become: true`. */
  sudo?: boolean;
  /** The cap on stdout (default MAX_STDOUT_BYTES): past it the command is stopped and fails with a CommandError. */
  maxStdoutBytes?: number;
}

/** Outcome of a command; `display` is the masked command line for logs and errors; stderr is its end only (STDERR_TAIL_BYTES). */
export interface ExecResult {
  code: number | null;
  signal?: string;
  stdout: Buffer;
  stderr: Buffer;
  display: string;
}

/** A host we can run commands on. Steps and facts see only this (and Engine), never SSH. */
export interface Shell {
  readonly name: string;
  exec(argv: Arg[], opts?: ExecOptions): Promise<ExecResult>;
  run(argv: Arg[], opts?: ExecOptions): Promise<ExecResult>;
}

/** What `docker inspect` tells us about the Horizon container. */
export interface ContainerInfo {
  id: string;
  name: string;
  image: string;
  imageId: string;
  state: string;
  /** 'healthy' | 'unhealthy' | 'starting' | 'none' (no healthcheck). */
  health: string;
  /** When the container was created (RFC 3339): what its writable layer holds came after. */
  created: string;
  startedAt: string;
  restartCount: number;
  mounts: { source: string; destination: string; readOnly: boolean }[];
}

export interface ContainerExecOptions {
  stdin?: string | Buffer;
  user?: string;
  /** Not for secrets: the sudo-cli engine passes them as `docker exec -e NAME=value` (send secrets on stdin). */
  env?: Record<string, string>;
  workdir?: string;
  timeoutMs?: number;
  /** As ExecOptions.maxStdoutBytes. */
  maxStdoutBytes?: number;
}

/** The container engine on one host, reached through that host's SSH connection. */
export interface Engine {
  /** 'api' (Docker socket forwarded over SSH) or 'sudo-cli' (sudo -n docker). */
  readonly via: 'api' | 'sudo-cli';
  inspect(container: string): Promise<ContainerInfo | null>;
  exec(container: string, argv: string[], opts?: ContainerExecOptions): Promise<ExecResult>;
  restart(container: string, stopTimeoutSec: number): Promise<void>;
}
