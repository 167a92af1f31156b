/**
 * HAProxy's runtime API, through its socket in its container, as kolla-ansible reaches it
 * (`docker exec haproxy socat stdio <socket>`). One command per call, sent on stdin: nothing of it
 * reaches a command line. Names are the inventory's, checked there ([A-Za-z0-9_.:-]+).
 */
import { HostError } from '../errors.js';
import type { Engine } from './types.js';

/** A server of a backend as HAProxy reports it: its status (UP, DOWN, DRAIN, MAINT, ...) and its current sessions. */
export interface ServerState {
  status: string;
  sessions: number;
}

/** What HAProxy accepts in a backend or server name, and nothing its runtime API splits on (spaces, ';'). */
const NAME = /^[A-Za-z0-9_.:-]+$/;

export class HaproxySocket {
  constructor(
    /** The inventory host HAProxy runs on. */
    readonly host: string,
    private readonly engine: Engine,
    private readonly container: string,
    private readonly socket: string,
  ) {}

  /** The answer to one runtime API command. */
  async command(line: string): Promise<string> {
    const res = await this.engine.exec(this.container, ['socat', 'stdio', this.socket], { stdin: `${line}\n`, user: 'root', timeoutMs: 15_000 });
    if (res.code !== 0) {
      throw new HostError(this.host, `HAProxy's socket ${this.socket} in container '${this.container}' did not answer '${line}' (exit ${res.code}): ${res.stderr.toString('utf8').trim().slice(0, 300)}`);
    }
    return res.stdout.toString('utf8');
  }

  /** 'admin', 'operator' or 'user': what this socket lets us do (a drain needs admin). */
  async level(): Promise<string> {
    return (await this.command('show cli level')).trim();
  }

  /** backend -> server -> state, for the servers of `backends` (from `show stat`). */
  async servers(backends: string[]): Promise<Record<string, Record<string, ServerState>>> {
    const [header = '', ...rows] = (await this.command('show stat')).trim().split('\n');
    const cols = header.replace(/^# /, '').split(',');
    const col = (row: string[], name: string) => row[cols.indexOf(name)] ?? '';
    const out: Record<string, Record<string, ServerState>> = Object.fromEntries(backends.map((b) => [b, {}]));
    for (const row of rows.map((r) => r.split(','))) {
      const backend = out[col(row, 'pxname')];
      const server = col(row, 'svname');
      if (backend && server !== 'BACKEND' && server !== 'FRONTEND') backend[server] = { status: col(row, 'status'), sessions: Number(col(row, 'scur')) || 0 };
    }
    return out;
  }

  /** `set server <backend>/<server> state drain|ready`; HAProxy answers nothing when it did it. */
  async setState(backend: string, server: string, state: 'drain' | 'ready'): Promise<void> {
    // The names may come from a journal: nothing that the runtime API would read as a second command.
    if (!NAME.test(backend) || !NAME.test(server)) throw new HostError(this.host, `refusing HAProxy names ${JSON.stringify(`${backend}/${server}`)}: only [A-Za-z0-9_.:-] are accepted`);
    const answer = (await this.command(`set server ${backend}/${server} state ${state}`)).trim();
    if (answer) throw new HostError(this.host, `HAProxy refused 'set server ${backend}/${server} state ${state}': ${answer.slice(0, 300)}`);
  }
}
