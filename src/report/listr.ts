import { Listr, ProcessOutput, type ListrTaskWrapper } from 'listr2';
import type { RunEvent } from '../runner/runner.js';
import { forTerminal } from '../util/terminal.js';

interface Row {
  done: Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
  task?: ListrTaskWrapper<unknown, never, never>;
  failed?: string;
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

  constructor(private readonly hosts: string[]) {}

  onEvent(e: RunEvent): void {
    if (e.type === 'stage') {
      this.finishStage();
      this.startStage(e.stage);
      return;
    }
    if (e.type === 'step') {
      const r = e.result;
      const row = this.rows.get(r.host ?? 'fleet');
      if (!row?.task) return;
      const verb = r.stage === 'plan' && r.outcome === 'changed' ? 'would change' : r.outcome;
      row.task.title = forTerminal(`${r.host ?? 'fleet'}: ${r.phase}/${r.step} ${verb}`);
      row.task.output = forTerminal(r.detail.split('\n')[0] ?? '');
      if (r.outcome === 'failed' || r.outcome === 'rollback-failed') row.failed = forTerminal(`${r.step}: ${r.detail}`);
    } else if (e.type === 'log') {
      const row = this.rows.get(e.host ?? 'fleet');
      if (row?.task) row.task.output = forTerminal(e.line);
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
          return r.done;
        },
      })),
      {
        concurrent: true,
        exitOnError: false,
        registerSignalListeners: false,
        rendererOptions: { collapseErrors: false, showErrorMessage: true },
        processOutput: new ProcessOutput(process.stderr, process.stderr),
      } as never,
    );
    this.rows = rows;
    this.running = this.running.then(() => listr.run().catch(() => undefined));
  }

  private finishStage(): void {
    for (const row of this.rows.values()) {
      if (row.failed) row.reject(new Error(row.failed));
      else row.resolve();
    }
    this.rows = new Map();
  }
}
