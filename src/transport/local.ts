/**
 * This machine as a {@link Shell}: the Kolla deploy host when sessionctl runs on it. Commands are
 * argv run as child processes (never through a shell), `sudo -n` in front when the host has
 * `become` and the caller asks for it, stdout capped and stderr kept to its tail like over SSH.
 */
import { spawn } from 'node:child_process';
import { CommandError, HostUnreachableError } from '../errors.js';
import { shellJoin, type Arg } from '../util/quote.js';
import { Secret, masker } from '../util/secret.js';
import { MAX_STDOUT_BYTES, OutputCollector } from './output.js';
import { tail } from './ssh.js';
import type { ExecOptions, ExecResult, Shell, SshTarget } from './types.js';

export class LocalShell implements Shell {
  constructor(readonly host: Pick<SshTarget, 'name' | 'become' | 'commandTimeout'>) {}

  get name(): string {
    return this.host.name;
  }

  exec(argv: Arg[], opts: ExecOptions = {}): Promise<ExecResult> {
    const full: Arg[] = opts.sudo && this.host.become ? ['sudo', '-n', '--', ...argv] : argv;
    const display = masker.mask(shellJoin(full).display);
    const args = full.map((a) => (a instanceof Secret ? a.reveal() : a));
    const timeoutMs = opts.timeoutMs ?? this.host.commandTimeout * 1000;
    return new Promise<ExecResult>((resolve, reject) => {
      const child = spawn(args[0]!, args.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], shell: false });
      let settled = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(err);
      };
      const output = new OutputCollector(opts.maxStdoutBytes ?? MAX_STDOUT_BYTES, () => fail(output.capError(this.name, display, tail(output.result().stderr))));
      const timer = setTimeout(() => fail(new CommandError(this.name, display, null, '', `timed out after ${timeoutMs / 1000}s`)), timeoutMs);
      child.stdout.on('data', output.stdout);
      child.stderr.on('data', output.stderr);
      // A missing program (no python3, no sudo) is this machine's failure, like an unreachable host.
      child.on('error', (err) => fail(new HostUnreachableError(this.name, `cannot run ${args[0]} here: ${err.message}`, { cause: err })));
      child.on('close', (code, signal) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ code, ...(signal ? { signal } : {}), ...output.result(), display });
      });
      // The child may exit before reading its stdin: that is its answer, not ours to fail on.
      child.stdin.on('error', () => undefined);
      child.stdin.end(opts.stdin ?? '');
    });
  }

  async run(argv: Arg[], opts: ExecOptions = {}): Promise<ExecResult> {
    const res = await this.exec(argv, opts);
    if (res.code !== 0) throw new CommandError(this.name, res.display, res.code, tail(res.stderr));
    return res;
  }
}
