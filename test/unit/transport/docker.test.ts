/** The engines against hostile hosts: `sudo -n docker` answering garbage, a Docker API that prints without end. */
import test from 'ava';
import http from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { connectEngine } from '../../../src/transport/docker.js';
import { CommandError, HostError } from '../../../src/errors.js';
import type { SshConnection } from '../../../src/transport/ssh.js';
import type { ExecResult } from '../../../src/transport/types.js';

/** A host whose SSH user may not open the Docker socket, with `become`: inspect prints `inspect`. */
function host(inspect: string): SshConnection {
  const exec = async (argv: string[]): Promise<ExecResult> => ({
    code: 0,
    stdout: Buffer.from(argv.includes('inspect') ? inspect : '27.0.1\n'),
    stderr: Buffer.alloc(0),
    display: `sudo -n -- ${argv.join(' ')}`,
  });
  return {
    name: 'dash2',
    host: { name: 'dash2', become: true, user: 'ops', commandTimeout: 30 },
    forwardUnixSocket: async () => {
      throw new Error('administratively prohibited');
    },
    exec,
    run: exec,
  } as unknown as SshConnection;
}

test("docker inspect answering what is not its JSON is that host's error, naming the command and what was wrong", async (t) => {
  const cases: [string, RegExp][] = [
    ['Error: permission denied\n', /^dash2: the answer of sudo -n -- docker container inspect -- horizon is malformed: Unexpected token .*; it began: Error: permission denied$/],
    ['{"Id": "a"}', /is malformed: an object, not a list; it began: \{"Id": "a"\}$/],
    ['[{"Id": "a", "Name": "/horizon", "Image": "i", "Mounts": {}}]', /is malformed: 'Mounts' is an object, not an array;/],
  ];
  for (const [answer, message] of cases) {
    const engine = await connectEngine(host(answer));
    t.is(engine.via, 'sudo-cli');
    await t.throwsAsync(engine.inspect('horizon'), { instanceOf: HostError, message }, answer);
  }
  const fine = await connectEngine(host('[{"Id": "a", "Name": "/horizon", "Image": "i", "State": {"Status": "running"}}]'));
  t.like(await fine.inspect('horizon'), { name: 'horizon', state: 'running', mounts: [] });
});


/**
 * A Docker daemon (HTTP on a local port, reached as the host's forwarded socket) whose exec
 * announces one stdout frame of 4 GiB and streams it without end: `sent` counts what it wrote.
 */
async function hostileDaemon(t: { teardown(fn: () => void): void }) {
  const state = { sent: 0, closed: false };
  const server = http.createServer((req, res) => {
    const json = (status: number, body: unknown) => res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
    if (req.url?.endsWith('/_ping')) return void res.writeHead(200).end('OK');
    if (req.method === 'POST' && req.url?.endsWith('/containers/horizon/exec')) return json(201, { Id: 'e1' });
    if (req.url?.endsWith('/exec/e1/json')) return json(200, { ExitCode: 0 });
    json(404, { message: `no ${req.method} ${req.url}` });
  });
  server.on('upgrade', (_req, socket: Socket) => {
    socket.write('HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
    const header = Buffer.alloc(8);
    header[0] = 1;
    header.writeUInt32BE(0xffffffff, 4);
    socket.write(header);
    const chunk = Buffer.alloc(64 * 1024, 'y');
    const pump = () => {
      while (!state.closed && socket.write(chunk)) state.sent += chunk.length;
    };
    socket.on('drain', pump);
    socket.on('close', () => (state.closed = true));
    socket.on('error', () => undefined);
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const port = (server.address() as AddressInfo).port;
  const conn = {
    name: 'dash1',
    host: { name: 'dash1', become: false, user: 'ops', commandTimeout: 20 },
    forwardUnixSocket: () => new Promise<Socket>((resolve) => { const s = connect(port, '127.0.0.1', () => resolve(s)); }),
  } as unknown as SshConnection;
  return { conn, state };
}

test('a container that prints without end (one frame announcing 4 GiB) is stopped at the cap: a CommandError naming the command and the cap', async (t) => {
  const { conn, state } = await hostileDaemon(t);
  const engine = await connectEngine(conn);
  t.is(engine.via, 'api');
  const cap = 1024 * 1024;
  await t.throwsAsync(engine.exec('horizon', ['cat', '/dev/zero'], { maxStdoutBytes: cap }), {
    instanceOf: CommandError,
    message: `dash1: stopped: its output passed the cap of ${cap} bytes (exit signal): docker exec horizon cat /dev/zero`,
  });
  // The exec's stream was dropped: the daemon saw it close.
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.true(state.closed);
});
