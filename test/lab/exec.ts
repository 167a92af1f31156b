/**
 * Running external commands for the lab: argv arrays only, never a shell.
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';

export class LabError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LabError';
  }
}

export interface RunOptions {
  /** Bytes for stdin, or `{ file }` to stream a file into it. */
  input?: string | Buffer | { file: string };
  /** Resolve with the result instead of throwing when the exit code is not 0. */
  allowFailure?: boolean;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Called with each line of stdout and stderr as it arrives. */
  onLine?: (line: string) => void;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

function describe(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

function lineSplitter(onLine: (line: string) => void): { push(chunk: string): void; end(): void } {
  let rest = '';
  return {
    push(chunk) {
      const parts = (rest + chunk).split(/\r?\n|\r/);
      rest = parts.pop() ?? '';
      for (const p of parts) onLine(p);
    },
    end() {
      if (rest) onLine(rest);
      rest = '';
    },
  };
}

export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const outLines = opts.onLine ? lineSplitter(opts.onLine) : undefined;
    const errLines = opts.onLine ? lineSplitter(opts.onLine) : undefined;
    child.stdout.on('data', (d: Buffer) => {
      out.push(d);
      outLines?.push(d.toString());
    });
    child.stderr.on('data', (d: Buffer) => {
      err.push(d);
      errLines?.push(d.toString());
    });
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    if (opts.timeoutMs) {
      timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, opts.timeoutMs);
    }
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(new LabError(`cannot run ${cmd}: ${e.message}`, { cause: e }));
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      outLines?.end();
      errLines?.end();
      const result = { code: code ?? 128, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
      if (timedOut) {
        reject(new LabError(`timed out after ${opts.timeoutMs} ms: ${describe(cmd, args)}`));
      } else if (result.code !== 0 && !opts.allowFailure) {
        const tail = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-25).join('\n');
        reject(new LabError(`${describe(cmd, args)} failed (${signal ?? `exit ${result.code}`}):\n${tail}`));
      } else {
        resolve(result);
      }
    });
    const input = opts.input;
    if (input === undefined) {
      child.stdin.end();
    } else if (typeof input === 'string' || Buffer.isBuffer(input)) {
      child.stdin.end(input);
    } else {
      const stream = createReadStream(input.file);
      stream.on('error', (e) => {
        child.kill('SIGKILL');
        reject(new LabError(`cannot read ${input.file}: ${e.message}`));
      });
      stream.pipe(child.stdin);
    }
    // A consumer that exits early (EPIPE) is reported through its exit code.
    child.stdin.on('error', () => {});
  });
}

/** `a | b`: the stdout of the first command becomes the stdin of the second. Both must succeed. */
export function pipe(
  a: { cmd: string; args: readonly string[] },
  b: { cmd: string; args: readonly string[] },
  opts: { timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const first = spawn(a.cmd, a.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const second = spawn(b.cmd, b.args, { stdio: ['pipe', 'pipe', 'pipe'] });
    first.stdout.pipe(second.stdin);
    second.stdin.on('error', () => {});
    const errA: Buffer[] = [];
    const errB: Buffer[] = [];
    const outB: Buffer[] = [];
    first.stderr.on('data', (d: Buffer) => errA.push(d));
    second.stderr.on('data', (d: Buffer) => errB.push(d));
    second.stdout.on('data', (d: Buffer) => outB.push(d));
    let codeA: number | null | undefined;
    let codeB: number | null | undefined;
    let settled = false;
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          first.kill('SIGKILL');
          second.kill('SIGKILL');
          fail(new LabError(`timed out after ${opts.timeoutMs} ms: ${describe(a.cmd, a.args)} | ${describe(b.cmd, b.args)}`));
        }, opts.timeoutMs)
      : undefined;
    function fail(e: Error) {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      reject(e);
    }
    function done() {
      if (codeA === undefined || codeB === undefined || settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      if (codeA !== 0 || codeB !== 0) {
        const msg = [Buffer.concat(errA).toString().trim(), Buffer.concat(errB).toString().trim()].filter(Boolean).join('\n');
        reject(new LabError(`${describe(a.cmd, a.args)} | ${describe(b.cmd, b.args)} failed (exit ${codeA}, ${codeB}):\n${msg}`));
      } else {
        resolve({ code: 0, stdout: Buffer.concat(outB).toString(), stderr: Buffer.concat(errB).toString() });
      }
    }
    first.on('error', (e) => fail(new LabError(`cannot run ${a.cmd}: ${e.message}`)));
    second.on('error', (e) => fail(new LabError(`cannot run ${b.cmd}: ${e.message}`)));
    first.on('close', (code) => {
      codeA = code;
      done();
    });
    second.on('close', (code) => {
      codeB = code;
      done();
    });
  });
}

/** `a | tee >(b1) >(b2) ...`: one producer streamed into several consumers. All must succeed. */
export function fanout(
  a: { cmd: string; args: readonly string[] },
  sinks: Array<{ cmd: string; args: readonly string[] }>,
  opts: { timeoutMs?: number } = {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    const all = [a, ...sinks];
    const source = spawn(a.cmd, a.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const consumers = sinks.map((b) => spawn(b.cmd, b.args, { stdio: ['pipe', 'ignore', 'pipe'] }));
    const procs = [source, ...consumers];
    const errs = procs.map(() => [] as Buffer[]);
    procs.forEach((p, i) => p.stderr?.on('data', (d: Buffer) => errs[i]?.push(d)));
    // Backpressure: the source waits for the slowest consumer.
    let waiting = 0;
    source.stdout.on('data', (chunk: Buffer) => {
      for (const c of consumers) {
        if (!c.stdin.write(chunk)) {
          waiting++;
          source.stdout.pause();
          c.stdin.once('drain', () => {
            if (--waiting === 0) source.stdout.resume();
          });
        }
      }
    });
    source.stdout.on('end', () => consumers.forEach((c) => c.stdin.end()));
    consumers.forEach((c) => c.stdin.on('error', () => {}));
    const codes: Array<number | null | undefined> = procs.map(() => undefined);
    let settled = false;
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          procs.forEach((p) => p.kill('SIGKILL'));
          finish(new LabError(`timed out after ${opts.timeoutMs} ms: ${describe(a.cmd, a.args)}`));
        }, opts.timeoutMs)
      : undefined;
    function finish(e?: Error) {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      if (e) reject(e);
      else resolve();
    }
    procs.forEach((p, i) => {
      p.on('error', (e) => finish(new LabError(`cannot run ${all[i]?.cmd}: ${e.message}`)));
      p.on('close', (code) => {
        codes[i] = code;
        if (codes.some((c) => c === undefined)) return;
        const failed = codes.map((c, j) => (c === 0 ? '' : `${describe(all[j]!.cmd, all[j]!.args)} (exit ${c}): ${Buffer.concat(errs[j] ?? []).toString().trim()}`)).filter(Boolean);
        finish(failed.length ? new LabError(`streaming failed:\n${failed.join('\n')}`) : undefined);
      });
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
