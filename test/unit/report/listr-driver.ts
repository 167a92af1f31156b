/**
 * Drives ListrProgress in a real terminal for progress.test.ts (run under `script`, a PTY): a step
 * starts applying and its elapsed time is redrawn from a fake clock (65 s a reading), then it ends.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ListrProgress } from '../../../src/report/listr.js';

let t = 0;
const progress = new ListrProgress(['dash1'], () => (t += 65_000), 20);
progress.onEvent({ type: 'stage', stage: 'apply' });
// At once: listr may not have started the row's task yet (the row must show it when it does).
progress.onEvent({ type: 'start', stage: 'apply', phase: 'prepare', step: 'install', host: 'dash1', title: 'install' });
// Until ticks have redrawn the title and listr has had time to render it (no wall-time bound).
const row = () => (progress as unknown as { rows: Map<string, { task?: { title?: string } }> }).rows.get('dash1');
while (!/install \.\.\. \d+m\d\ds$/.test(row()?.task?.title ?? '')) await sleep(50);
await sleep(500);
progress.onEvent({ type: 'step', result: { stage: 'apply', phase: 'prepare', step: 'install', host: 'dash1', outcome: 'changed', detail: 'installed django-redis', durationMs: 130_000 } });
await progress.flush();
