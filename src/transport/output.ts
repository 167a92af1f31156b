import { CommandError } from '../errors.js';

/** What one remote command may print on stdout unless its caller allows more (a host printing 400 MB must not take the CLI with it). */
export const MAX_STDOUT_BYTES = 16 * 1024 * 1024;

/** How much of a command's stderr is kept: its end, where the reason of a failure is. */
export const STDERR_TAIL_BYTES = 64 * 1024;

/**
 * A remote command's output, collected within bounds: stdout up to `maxStdout` bytes, stderr only
 * its last STDERR_TAIL_BYTES. Past the cap it keeps nothing more and calls `exceeded` once, for
 * the transport to close the channel and fail the command (capError).
 */
export class OutputCollector {
  private readonly out: Buffer[] = [];
  private outBytes = 0;
  private readonly err: Buffer[] = [];
  private errBytes = 0;
  private over = false;

  constructor(
    readonly maxStdout: number,
    private readonly exceeded: () => void,
    private readonly stderrTail = STDERR_TAIL_BYTES,
  ) {}

  /** The cap was passed: stdout is incomplete and the command was stopped. */
  get isOver(): boolean {
    return this.over;
  }

  /** Bytes of stdout kept so far (never more than maxStdout). */
  get stdoutBytes(): number {
    return this.outBytes;
  }

  readonly stdout = (chunk: Buffer): void => {
    if (this.over) return;
    if (this.outBytes + chunk.length > this.maxStdout) {
      this.over = true;
      this.exceeded();
      return;
    }
    this.out.push(chunk);
    this.outBytes += chunk.length;
  };

  readonly stderr = (chunk: Buffer): void => {
    const c = chunk.length > this.stderrTail ? chunk.subarray(chunk.length - this.stderrTail) : chunk;
    this.err.push(c);
    this.errBytes += c.length;
    // Drop whole chunks from the front while the rest still holds the tail.
    while (this.err.length > 1 && this.errBytes - this.err[0]!.length >= this.stderrTail) this.errBytes -= this.err.shift()!.length;
  };

  result(): { stdout: Buffer; stderr: Buffer } {
    const stderr = Buffer.concat(this.err);
    return { stdout: Buffer.concat(this.out), stderr: stderr.subarray(Math.max(0, stderr.length - this.stderrTail)) };
  }

  /** The command's failure once it passed the cap: `display` is its masked command line. */
  capError(host: string, display: string, stderrTail = ''): CommandError {
    return new CommandError(host, display, null, stderrTail, `stopped: its output passed the cap of ${this.maxStdout} bytes`);
  }
}

/**
 * Docker's multiplexed exec stream (8-byte frame headers: stream type, payload length) split into
 * stdout and stderr as the bytes arrive: a frame is never buffered whole, so a header that
 * announces gigabytes holds no memory (docker-modem's demuxStream would wait for all of it).
 */
export function dockerDemux(output: Pick<OutputCollector, 'stdout' | 'stderr'>): (chunk: Buffer) => void {
  let header = Buffer.alloc(0);
  let left = 0;
  let toStderr = false;
  let raw = false;
  return (chunk: Buffer) => {
    let at = 0;
    while (at < chunk.length) {
      if (raw) return output.stdout(chunk.subarray(at));
      if (left > 0) {
        const part = chunk.subarray(at, at + left);
        at += part.length;
        left -= part.length;
        (toStderr ? output.stderr : output.stdout)(part);
        continue;
      }
      const need = 8 - header.length;
      header = Buffer.concat([header, chunk.subarray(at, at + need)]);
      at += Math.min(need, chunk.length - at);
      if (header.length < 8) return;
      const type = header[0]!;
      if (type > 2) {
        // Not multiplexed (a TTY): everything is stdout, as docker-modem does.
        raw = true;
        output.stdout(header);
        continue;
      }
      toStderr = type === 2;
      left = header.readUInt32BE(4);
      header = Buffer.alloc(0);
    }
  };
}
