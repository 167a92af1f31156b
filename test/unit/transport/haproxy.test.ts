/**
 * HAProxy's runtime API client on canned answers in HAProxy 2.6's own format: the command goes on
 * stdin (never argv), `show stat` is read by its header, and names that could smuggle a second
 * command are refused before anything is sent.
 */
import test from 'ava';
import { HaproxySocket } from '../../../src/transport/haproxy.js';
import type { ContainerExecOptions, Engine, ExecResult } from '../../../src/transport/types.js';

const STAT = [
  '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck',
  'horizon_front,FRONTEND,,,2,4,4000,120,0,0,0,0,0,,,,,OPEN,,,',
  'horizon_back,dash1,0,0,1,2,,40,0,0,,0,,0,0,0,0,UP,1,1,0',
  'horizon_back,dash2,0,0,0,2,,40,0,0,,0,,0,0,0,0,DRAIN,1,1,0',
  'horizon_back,BACKEND,0,0,1,4,400,80,0,0,0,0,,0,0,0,0,UP,2,2,0',
  'other_back,dash1,0,0,7,7,,9,0,0,,0,,0,0,0,0,UP,1,1,0',
  '',
].join('\n');

function engine(answer: (stdin: string) => string, seen: { argv: string[]; stdin: string; opts: ContainerExecOptions }[]): Engine {
  const fail = async (): Promise<never> => {
    throw new Error('not used');
  };
  return {
    via: 'api',
    inspect: fail,
    restart: fail,
    async exec(_container, argv, opts = {}): Promise<ExecResult> {
      const stdin = String(opts.stdin ?? '');
      seen.push({ argv, stdin, opts });
      return { code: 0, stdout: Buffer.from(answer(stdin)), stderr: Buffer.alloc(0), display: argv.join(' ') };
    },
  };
}

test('show stat: the servers of the asked backends with status and current sessions; the command on stdin', async (t) => {
  const seen: { argv: string[]; stdin: string; opts: ContainerExecOptions }[] = [];
  const socket = new HaproxySocket('ctl1', engine(() => STAT, seen), 'haproxy', '/var/lib/kolla/haproxy/haproxy.sock');
  t.deepEqual(await socket.servers(['horizon_back', 'horizon_external_back']), {
    horizon_back: { dash1: { status: 'UP', sessions: 1 }, dash2: { status: 'DRAIN', sessions: 0 } },
    horizon_external_back: {},
  });
  t.deepEqual(seen[0]!.argv, ['socat', 'stdio', '/var/lib/kolla/haproxy/haproxy.sock']);
  t.is(seen[0]!.stdin, 'show stat\n');
});

test('set server: an empty answer is done, any other answer is HAProxy refusing; hostile names never reach the socket', async (t) => {
  const seen: { argv: string[]; stdin: string; opts: ContainerExecOptions }[] = [];
  const socket = new HaproxySocket('ctl1', engine((stdin) => (stdin.includes('dash1') ? '\n' : 'Permission denied\n'), seen), 'haproxy', '/s');
  await socket.setState('horizon_back', 'dash1', 'drain');
  t.is(seen[0]!.stdin, 'set server horizon_back/dash1 state drain\n');
  await t.throwsAsync(socket.setState('horizon_back', 'dash2', 'ready'), { message: /HAProxy refused 'set server horizon_back\/dash2 state ready': Permission denied/ });
  await t.throwsAsync(socket.setState('horizon_back', 'dash1; disable frontend horizon_front', 'ready'), { message: /refusing HAProxy names/ });
  t.is(seen.length, 2, 'the hostile name was not sent');
});
