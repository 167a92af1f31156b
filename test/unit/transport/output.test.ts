/** The bounds on a remote command's output, on a real local process and on Docker's framing. */
import test from 'ava';
import { spawn } from 'node:child_process';
import { OutputCollector, STDERR_TAIL_BYTES, dockerDemux } from '../../../src/transport/output.js';

test('a real process printing without end: at most the cap is kept, the stop comes once, and the process ends', async (t) => {
  const child = spawn('yes', ['sessionctl'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let stops = 0;
  const cap = 4 * 1024 * 1024;
  const output = new OutputCollector(cap, () => {
    stops += 1;
    child.kill();
  });
  child.stdout.on('data', output.stdout);
  const [, signal] = await new Promise<[number | null, string | null]>((resolve) => child.on('exit', (code, sig) => resolve([code, sig])));
  t.is(signal, 'SIGTERM');
  t.is(stops, 1);
  t.true(output.isOver);
  t.true(output.stdoutBytes <= cap && output.result().stdout.length === output.stdoutBytes);
  t.is(output.capError('dash1', 'yes sessionctl').message, `dash1: stopped: its output passed the cap of ${cap} bytes (exit signal): yes sessionctl`);
});

test("a real process's stderr: only its last bytes are kept, in order", async (t) => {
  const child = spawn('sh', ['-c', 'i=0; while [ $i -lt 20000 ]; do echo "line $i"; i=$((i+1)); done >&2'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const output = new OutputCollector(1024, () => t.fail('stdout is empty'));
  child.stderr.on('data', output.stderr);
  await new Promise((resolve) => child.on('close', resolve));
  const kept = output.result().stderr.toString();
  t.is(kept.length, STDERR_TAIL_BYTES);
  t.true(kept.endsWith('line 19998\nline 19999\n'));
});

const frame = (type: number, text: string) => {
  const header = Buffer.alloc(8);
  header[0] = type;
  header.writeUInt32BE(Buffer.byteLength(text), 4);
  return Buffer.concat([header, Buffer.from(text)]);
};

test('Docker frames split anywhere still give stdout and stderr in order; a stream without frames is stdout', (t) => {
  const stream = Buffer.concat([frame(1, 'ab'), frame(2, 'oops'), frame(1, ''), frame(1, 'cd')]);
  for (let cut = 0; cut <= stream.length; cut++) {
    for (let cut2 = cut; cut2 <= stream.length; cut2++) {
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      const feed = dockerDemux({ stdout: (c) => void out.push(c), stderr: (c) => void err.push(c) });
      [stream.subarray(0, cut), stream.subarray(cut, cut2), stream.subarray(cut2)].forEach(feed);
      t.is(`${Buffer.concat(out)}|${Buffer.concat(err)}`, 'abcd|oops', `cut at ${cut}, ${cut2}`);
    }
  }
  const out: Buffer[] = [];
  const feed = dockerDemux({ stdout: (c) => void out.push(c), stderr: () => t.fail() });
  ['plain text, ', 'no frames\n'].forEach((s) => feed(Buffer.from(s)));
  t.is(Buffer.concat(out).toString(), 'plain text, no frames\n');
});
