/**
 * A real pseudo-terminal for the guided mode: the CLI runs in a detached tmux session, keys go in
 * with send-keys, the screen comes back with capture-pane. Every wait polls the screen until the
 * expected text shows (or a timeout names what was awaited and shows the screen); no fixed sleeps.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { shellQuote } from '../../src/util/quote.js';

const run = promisify(execFile);
// A tmux server of our own: other tmux users on the machine are never touched.
const SOCKET = `sessionctl-test-${process.pid}`;

export class Tty {
  private constructor(readonly session: string) {}

  /** Start `argv` in `cwd` on a 200x60 terminal; `env` is set for the command only. */
  static async start(argv: string[], opts: { cwd: string; env?: Record<string, string>; unset?: string[] }): Promise<Tty> {
    const session = `guide-${randomBytes(3).toString('hex')}`;
    const env = ['env', ...(opts.unset ?? []).flatMap((v) => ['-u', v]), ...Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`)];
    // The exit code is printed on the screen; the pane then stays until close().
    const command = `${[...env, ...argv].map(shellQuote).join(' ')}; echo "[exit $?]"; sleep 3600`;
    await tmux(['new-session', '-d', '-s', session, '-x', '200', '-y', '60', '-c', opts.cwd, command]);
    await tmux(['set-option', '-t', session, 'history-limit', '20000']);
    return new Tty(session);
  }

  /** Everything the terminal showed, scrollback included, lines joined where they wrapped. */
  async screen(): Promise<string> {
    return (await tmux(['capture-pane', '-p', '-J', '-S', '-', '-t', this.session])).replace(/\s+$/gm, '');
  }

  /** Poll until `pattern` is on the screen; returns the screen. */
  async waitFor(pattern: RegExp, timeoutMs = 180_000): Promise<string> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const text = await this.screen();
      if (pattern.test(text)) return text;
      const ended = /^\[exit \d+\]$/m.test(text);
      if (ended || Date.now() > until) {
        throw new Error(`${ended ? 'the CLI ended' : `timed out after ${timeoutMs / 1000}s`} while waiting for ${pattern} on the screen:\n${text}`);
      }
      await new Promise((r) => setTimeout(r, 150));
    }
  }

  /** Wait for an active question (`? message`, not yet answered), then send `keys`. */
  async answer(message: string, ...keys: Key[]): Promise<void> {
    await this.waitFor(new RegExp(`^\\? ${escape(message)}`, 'm'));
    await this.send(...keys);
  }

  /** Literal text ({ text }) or tmux key names ('Enter', 'Down', 'C-u', 'C-c'). */
  async send(...keys: Key[]): Promise<void> {
    for (const k of keys) {
      await tmux(typeof k === 'string' ? ['send-keys', '-t', this.session, k] : ['send-keys', '-t', this.session, '-l', k.text]);
    }
  }

  /** Wait for the CLI to end; its exit code. */
  async exitCode(timeoutMs = 600_000): Promise<number> {
    const text = await this.waitFor(/^\[exit \d+\]$/m, timeoutMs);
    return Number(/^\[exit (\d+)\]$/m.exec(text)![1]);
  }

  /**
   * End the session. A CLI still running (a failed test) gets Ctrl-C first and time to roll back
   * and release its host locks: killing it mid-apply would leave the lab locked for the next test.
   */
  async close(): Promise<void> {
    if (!/^\[exit \d+\]$/m.test(await this.screen().catch(() => '[exit 0]'))) {
      await this.send('C-c').catch(() => undefined);
      await this.exitCode(300_000).catch(() => undefined);
    }
    await tmux(['kill-session', '-t', this.session]).catch(() => undefined);
  }
}

export type Key = string | { text: string };

export const text = (s: string): Key => ({ text: s });

async function tmux(args: string[]): Promise<string> {
  return (await run('tmux', ['-L', SOCKET, ...args])).stdout;
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Stop our tmux server (every session of this test file). */
export async function closeAll(): Promise<void> {
  await tmux(['kill-server']).catch(() => undefined);
}
