import http from 'node:http';
import { inspect } from 'node:util';
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { CommandError, HostError } from '../errors.js';
import type { SshConnection } from './ssh.js';
import { excerpt, tail } from './ssh.js';
import type { ContainerExecOptions, ContainerInfo, Engine, ExecResult } from './types.js';
import { MAX_STDOUT_BYTES, OutputCollector, dockerDemux } from './output.js';
import { shellJoin } from '../util/quote.js';
import { masker } from '../util/secret.js';
import { an, kindOf } from '../util/kind.js';

const DOCKER_SOCKET = '/var/run/docker.sock';

/**
 * Reach the host's container engine through its SSH connection: the Docker API over the forwarded
 * socket when the SSH user may open it, else `sudo -n docker` when the host has `become`.
 */
let dockerode: Promise<{ default: typeof Docker }> | undefined;

/** dockerode loads on first use (a tenth of a second of CPU): Fleet starts it while SSH connects. */
export function loadDockerode(): Promise<{ default: typeof Docker }> {
  return (dockerode ??= import('dockerode'));
}

export async function connectEngine(conn: SshConnection): Promise<Engine> {
  let apiError: Error;
  try {
    const api = new ApiEngine(conn, (await loadDockerode()).default);
    await api.ping();
    return api;
  } catch (err) {
    apiError = err as Error;
  }
  if (conn.host.become) {
    const cli = new SudoCliEngine(conn);
    await cli.ping();
    return cli;
  }
  throw new HostError(
    conn.name,
    `cannot use ${DOCKER_SOCKET} as '${conn.host.user}' (${apiError.message}); ` +
      `add the user to the docker group or set become: true for sudo -n docker`,
  );
}

/** An http.Agent whose every connection is a fresh SSH stream-local channel to the Docker socket. */
class SshSocketAgent extends http.Agent {
  constructor(private readonly conn: SshConnection) {
    super({ keepAlive: false });
  }
  override createConnection(_opts: unknown, callback: (err: Error | null, socket?: Duplex) => void): undefined {
    this.conn.forwardUnixSocket(DOCKER_SOCKET).then(
      (stream) => callback(null, stream),
      (err: Error) => callback(err),
    );
    return undefined;
  }

  // docker-modem inspects every request's options, agent included, deeply and even with its
  // debug output off: without this, each API call walks the whole SSH connection graph.
  [inspect.custom](): string {
    return `SshSocketAgent(${this.conn.name})`;
  }
}

class ApiEngine implements Engine {
  readonly via = 'api';
  private readonly docker: Docker;
  constructor(
    private readonly conn: SshConnection,
    DockerClass: typeof Docker,
  ) {
    this.docker = new DockerClass({ protocol: 'http', host: 'docker', port: 80, agent: new SshSocketAgent(conn) } as Docker.DockerOptions);
  }

  async ping(): Promise<void> {
    await this.docker.ping();
  }

  async inspect(container: string): Promise<ContainerInfo | null> {
    try {
      return fromInspect(await this.docker.getContainer(container).inspect());
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return null;
      throw this.wrap(err, `docker inspect ${container}`);
    }
  }

  async exec(container: string, argv: string[], opts: ContainerExecOptions = {}): Promise<ExecResult> {
    const display = `docker exec ${container} ${shellJoin(argv).display}`;
    const withStdin = opts.stdin !== undefined;
    try {
      const exec = await this.docker.getContainer(container).exec({
        Cmd: argv,
        AttachStdout: true,
        AttachStderr: true,
        AttachStdin: withStdin,
        ...(opts.user ? { User: opts.user } : {}),
        ...(opts.workdir ? { WorkingDir: opts.workdir } : {}),
        ...(opts.env ? { Env: Object.entries(opts.env).map(([k, v]) => `${k}=${v}`) } : {}),
      });
      const stream = (await exec.start({ hijack: true, stdin: withStdin })) as Duplex;
      const timeoutMs = opts.timeoutMs ?? this.conn.host.commandTimeout * 1000;
      const output = await new Promise<OutputCollector>((resolve, reject) => {
        const collected = new OutputCollector(opts.maxStdoutBytes ?? MAX_STDOUT_BYTES, () => {
          // Stop reading: drop the stream (the exec's channel) and fail now.
          clearTimeout(timer);
          stream.destroy();
          reject(collected.capError(this.conn.name, masker.mask(display), tail(collected.result().stderr)));
        });
        const timer = setTimeout(() => {
          stream.destroy();
          reject(new CommandError(this.conn.name, display, null, '', `timed out after ${timeoutMs / 1000}s`));
        }, timeoutMs);
        stream.on('data', dockerDemux(collected));
        const done = () => {
          clearTimeout(timer);
          resolve(collected);
        };
        stream.on('end', done);
        stream.on('close', done);
        stream.on('error', (e) => {
          clearTimeout(timer);
          reject(e);
        });
        // Half-close after stdin so the process sees EOF while we keep reading its output.
        if (withStdin) stream.end(opts.stdin);
      });
      const info = await exec.inspect();
      return { code: info.ExitCode ?? null, ...output.result(), display };
    } catch (err) {
      if (err instanceof CommandError) throw err;
      throw this.wrap(err, display);
    }
  }

  async restart(container: string, stopTimeoutSec: number): Promise<void> {
    try {
      await this.docker.getContainer(container).restart({ t: stopTimeoutSec });
    } catch (err) {
      throw this.wrap(err, `docker restart ${container}`);
    }
  }

  private wrap(err: unknown, what: string): Error {
    if (err instanceof HostError || (err as Error).name === 'HostUnreachableError') return err as Error;
    const e = err as { statusCode?: number; json?: { message?: string }; message: string };
    const msg = e.json?.message ?? e.message;
    return new HostError(this.conn.name, `${what}: ${msg}`, { cause: err });
  }
}

/** `sudo -n docker ...` for users who may not open the socket themselves. */
class SudoCliEngine implements Engine {
  readonly via = 'sudo-cli';
  constructor(private readonly conn: SshConnection) {}

  async ping(): Promise<void> {
    const res = await this.conn.exec(['docker', 'version', '--format', '{{.Server.Version}}'], { sudo: true });
    if (res.code !== 0) {
      throw new HostError(this.conn.name, `sudo -n docker does not work for '${this.conn.host.user}': ${tail(res.stderr, 3)}`);
    }
  }

  async inspect(container: string): Promise<ContainerInfo | null> {
    const res = await this.conn.exec(['docker', 'container', 'inspect', '--', container], { sudo: true });
    if (res.code !== 0) {
      if (/no such (object|container)/i.test(res.stderr.toString())) return null;
      throw new CommandError(this.conn.name, res.display, res.code, tail(res.stderr));
    }
    const text = res.stdout.toString('utf8');
    try {
      const parsed = JSON.parse(text) as unknown;
      if (!Array.isArray(parsed)) throw new Error(`${an(kindOf(parsed))}, not a list`);
      return parsed[0] ? fromInspect(parsed[0] as Docker.ContainerInspectInfo) : null;
    } catch (err) {
      throw new HostError(this.conn.name, `the answer of ${res.display} is malformed: ${(err as Error).message}; it began: ${excerpt(text)}`);
    }
  }

  exec(container: string, argv: string[], opts: ContainerExecOptions = {}): Promise<ExecResult> {
    const flags: string[] = [];
    if (opts.stdin !== undefined) flags.push('-i');
    if (opts.user) flags.push('-u', opts.user);
    if (opts.workdir) flags.push('-w', opts.workdir);
    for (const [k, v] of Object.entries(opts.env ?? {})) flags.push('-e', `${k}=${v}`);
    return this.conn.exec(['docker', 'exec', ...flags, container, ...argv], {
      sudo: true,
      ...(opts.stdin !== undefined ? { stdin: opts.stdin } : {}),
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      ...(opts.maxStdoutBytes !== undefined ? { maxStdoutBytes: opts.maxStdoutBytes } : {}),
    });
  }

  async restart(container: string, stopTimeoutSec: number): Promise<void> {
    await this.conn.run(['docker', 'restart', '-t', String(stopTimeoutSec), container], { sudo: true });
  }

}

/** Pure: the fields we use from `docker inspect`; throws naming the first field of the wrong kind. */
export function fromInspect(i: Docker.ContainerInspectInfo): ContainerInfo {
  if (kindOf(i) !== 'object') throw new Error(`the container is ${an(kindOf(i))}, not an object`);
  for (const [key, want] of [['Id', 'string'], ['Name', 'string'], ['Image', 'string']] as const) {
    if (kindOf(i[key]) !== want) throw new Error(`'${key}' is ${an(kindOf(i[key]))}, not ${an(want)}`);
  }
  for (const [key, want] of [['Config', 'object'], ['State', 'object'], ['Mounts', 'array']] as const) {
    if (i[key] != null && kindOf(i[key]) !== want) throw new Error(`'${key}' is ${an(kindOf(i[key]))}, not ${an(want)}`);
  }
  const mount = (i.Mounts ?? []).find((m) => kindOf(m) !== 'object');
  if (mount !== undefined) throw new Error(`'Mounts' holds ${an(kindOf(mount))}, not only objects`);
  return {
    id: i.Id,
    name: i.Name.replace(/^\//, ''),
    image: i.Config?.Image ?? '',
    imageId: i.Image,
    state: i.State?.Status ?? 'unknown',
    health: i.State?.Health?.Status ?? 'none',
    created: i.Created ?? '',
    startedAt: i.State?.StartedAt ?? '',
    restartCount: i.RestartCount ?? 0,
    mounts: (i.Mounts ?? []).map((m) => ({ source: m.Source, destination: m.Destination, readOnly: !m.RW })),
  };
}
