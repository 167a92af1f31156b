/** The engine over `sudo -n docker` against a fake host that answers `docker inspect` with garbage. */
import test from 'ava';
import { connectEngine } from '../../../src/transport/docker.js';
import { HostError } from '../../../src/errors.js';
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

