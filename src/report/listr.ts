import { Listr, PRESET_TIMER, ProcessOutput, type ListrTaskWrapper } from 'listr2';
import { elapsed } from './progress.js';
import type { RunEvent } from '../runner/runner.js';
import { forTerminal } from '../util/terminal.js';

interface Row {
  done: Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
  task?: ListrTaskWrapper<unknown, never, never>;
  failed?: string;
  /** The step applying now and since when (a 'start' event), for its elapsed time. */
  running?: { label: string; since: number };
}

function row(): Row {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { done, resolve, reject };
}

/**
 * Terminal progress with listr2: one live line per host (and one for fleet-wide steps) per stage
 * (plan, apply, rollback). It only subscribes to runner events; the runner knows nothing of it.
 */
export class ListrProgress {
  private rows = new Map<string, Row>();
  private running: Promise<unknown> = Promise.resolve();
  private ticker: ReturnType<typeof setInterval> | undefined;

  /**
   * @param now the clock elapsed times are read from
   * @param tickMs how often a running step's elapsed time is redrawn
   */
  constructor(
    private readonly hosts: string[],
    private readonly now: () => number = Date.now,
    private readonly tickMs = 1000,
  ) {}

  onEvent(e: RunEvent): void {
    if (e.type === 'start') {
      // Kept even before listr has started the row's task: the task shows it when it starts.
      const row = this.rows.get(e.host ?? 'fleet');
      if (!row) return;
      row.running = { label: forTerminal(`${e.host ?? 'fleet'}: ${e.phase}/${e.step}`), since: this.now() };
      this.tick();
      this.ticker ??= setInterval(() => this.tick(), this.tickMs);
      // A wait must not keep the process alive on its own.
      this.ticker.unref?.();
      return;
    }
    if (e.type === 'stage') {
      this.finishStage();
      this.startStage(e.stage);
      return;
    }
    if (e.type === 'step') {
      const r = e.result;
      const row = this.rows.get(r.host ?? 'fleet');
      if (!row?.task) return;
      row.running = undefined;
      const verb = r.stage === 'plan' && r.outcome === 'changed' ? 'would change' : r.outcome;
      row.task.title = forTerminal(`${r.host ?? 'fleet'}: ${r.phase}/${r.step} ${verb}`);
      row.task.output = forTerminal(r.detail.split('\n')[0] ?? '');
      if (r.outcome === 'failed' || r.outcome === 'rollback-failed') row.failed = forTerminal(`${r.step}: ${r.detail}`);
    } else if (e.type === 'log') {
      const row = this.rows.get(e.host ?? 'fleet');
      if (row?.task) row.task.output = forTerminal(e.line);
    }
  }

  /** Redraw each running step's title with its elapsed time: long waits (pip install, reload, health gate, carry-over) show they are alive. */
  private tick(): void {
    for (const row of this.rows.values()) {
      if (row.running && row.task) row.task.title = `${row.running.label} ... ${elapsed(this.now() - row.running.since)}`;
    }
  }

  /** End the current stage's display (before a prompt, and at the end). */
  async flush(): Promise<void> {
    this.finishStage();
    await this.running.catch(() => undefined);
  }

  private startStage(stage: string): void {
    const names = [...this.hosts, 'fleet'];
    // Rows exist before listr starts the tasks, so a stage that ends at once still resolves them.
    const rows = new Map(names.map((name) => [name, row()]));
    const listr = new Listr(
      names.map((name) => ({
        title: `${name}: ${stage}`,
        task: (_ctx: unknown, task: ListrTaskWrapper<unknown, never, never>) => {
          const r = rows.get(name)!;
          r.task = task;
          this.tick();
          return r.done;
        },
      })),
      {
        concurrent: true,
        exitOnError: false,
        registerSignalListeners: false,
        // PRESET_TIMER: each row shows how long its stage took once it ends.
        rendererOptions: { collapseErrors: false, showErrorMessage: true, timer: PRESET_TIMER },
        processOutput: new ProcessOutput(process.stderr, process.stderr),
      } as never,
    );
    this.rows = rows;
    this.running = this.running.then(() => listr.run().catch(() => undefined));
  }

  private finishStage(): void {
    clearInterval(this.ticker);
    this.ticker = undefined;
    for (const row of this.rows.values()) {
      if (row.failed) row.reject(new Error(row.failed));
      else row.resolve();
    }
    this.rows = new Map();
  }
}
