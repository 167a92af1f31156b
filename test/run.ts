/**
 * The test suite: `npm test` (everything), `npm run test:unit` (test/unit/: pure code, no Docker),
 * `npm run test:lab` (test/lab/: the real lab). For the lab it makes sure a Docker engine runs
 * (installing Debian's docker.io on a fresh machine), brings up one 3-host lab per Horizon flavour,
 * runs ava over the chosen files (the whole suite: the unit tests while the labs come up, then the
 * lab tests), and ends with the totals on one line: `N passed, N failed`.
 *
 * SESSIONCTL_LAB_FLAVOURS=zed,k2026 (the default; h25 adds Apache on Django 4.2; empty = no lab, so
 * only the unit tests); which scenario runs on which flavour is test/lab/harness.ts's MATRIX
 * (SESSIONCTL_MATRIX=full: every scenario on every flavour that can run it). The labs come up side
 * by side; their scenarios run one after the other (side by side they took as long: the CPUs, not
 * the waits, are the limit).
 * Every lab already on the engine (any name, volumes included) is removed first, so a run starts
 * as on a fresh machine but for the image cache: an interrupted run's labs restart with the engine
 * and would share the CPUs and their state. SESSIONCTL_KEEP_LAB=1 keeps and reuses them, and leaves
 * the labs running afterwards (faster reruns while developing).
 * Extra arguments go to ava (e.g. a file or --match).
 */
import { spawn, spawnSync } from 'node:child_process';
import { buildLabImages, labUp, labDown, labPurgeAll, type Flavour } from './lab/lab.js';

const [first, ...rest] = process.argv.slice(2);
const only = first === '--unit' ? 'unit' : first === '--lab' ? 'lab' : undefined;
const avaArgs = only ? rest : process.argv.slice(2);
const files = avaArgs.some((a) => a.endsWith('.ts')) ? [] : only === 'unit' ? ['test/unit/**/*.test.ts'] : only === 'lab' ? ['test/lab/**/*.test.ts'] : [];
const flavours = (only === 'unit' ? '' : (process.env.SESSIONCTL_LAB_FLAVOURS ?? 'zed,k2026'))
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean) as Flavour[];

// The whole suite (no files or options given): the unit tests run while the labs come up.
const unitWhileLabsComeUp = !only && avaArgs.length === 0 && flavours.length > 0;

const startedAt = Date.now();

/** A stage's title with the minutes since the start: where the time went, from the log alone. */
function step(title: string): void {
  process.stderr.write(`\n== ${title} (at ${((Date.now() - startedAt) / 60_000).toFixed(1)} min)\n`);
}

function sh(cmd: string, args: string[]): void {
  const res = spawnSync(cmd, args, { stdio: 'inherit' });
  if (res.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${res.status})`);
}

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

async function main(): Promise<number> {
  const started: string[] = [];
  let unit: Promise<Counts> | undefined;
  try {
    step('typecheck');
    sh('npx', ['tsc', '-p', 'tsconfig.json']);
    if (flavours.length) {
      step('build');
      sh('npx', ['tsc', '-p', 'tsconfig.build.json']);
      step('docker engine');
      sh('bash', ['test/lab/host-setup.sh']);
      if (process.env.SESSIONCTL_KEEP_LAB !== '1') {
        step('labs left by earlier runs');
        await labPurgeAll((l) => process.stderr.write(`  ${l}\n`));
      }
      step(`images (${flavours.join(', ')})`);
      const t0 = Date.now();
      await buildLabImages(flavours, (l) => process.stderr.write(`  ${l}\n`));
      process.stderr.write(`  images ready in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
      // Side by side: loading images into the hosts and the first starts overlap (one after the
      // other took 6-8 minutes for the two); the unit tests (3 minutes) fill the waits.
      step(`labs ${flavours.join(', ')}${unitWhileLabsComeUp ? ', and the unit tests meanwhile' : ''}`);
      if (unitWhileLabsComeUp) unit = runAva(['test/unit/**/*.test.ts'], process.env);
      const upFrom = Date.now();
      const up = await Promise.allSettled(
        flavours.map(async (horizon) => {
          await labUp({ name: horizon, horizon, hosts: 3, log: (l) => process.stderr.write(`  [${horizon}] ${l}\n`) });
          process.stderr.write(`  lab ${horizon} ready in ${((Date.now() - upFrom) / 1000).toFixed(0)} s\n`);
        }),
      );
      // Each lab that came up is taken down at the end, even when another failed.
      flavours.forEach((horizon, i) => up[i]!.status === 'fulfilled' && started.push(horizon));
      const failed = up.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) {
        await unit;
        throw failed.reason;
      }
    }
    step(unit ? 'lab tests' : 'tests');
    const counts = [...(unit ? [await unit] : []), await runAva(unit ? ['test/lab/**/*.test.ts'] : files, { ...process.env, SESSIONCTL_LABS: started.join(',') })];
    const sum = (k: 'passed' | 'failed' | 'skipped') => counts.reduce((n, c) => n + c[k], 0);
    process.stdout.write(`\n${sum('passed')} passed, ${sum('failed')} failed${sum('skipped') ? `, ${sum('skipped')} skipped` : ''}\n`);
    return sum('failed') === 0 ? 0 : 1;
  } finally {
    if (started.length && process.env.SESSIONCTL_KEEP_LAB !== '1') {
      step('lab down');
      for (const name of started) await labDown(name).catch((e: Error) => process.stderr.write(`  ${e.message}\n`));
    }
  }
}

/** Run ava over `files`, echo its output, and count its results (a crash counts as a failure). */
function runAva(files: string[], env: NodeJS.ProcessEnv): Promise<Counts> {
  return new Promise((resolve) => {
    const child = spawn('npx', ['ava', ...files, ...avaArgs], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    const tee = (out: NodeJS.WriteStream) => (chunk: Buffer) => {
      out.write(chunk);
      text += chunk.toString();
    };
    child.stdout.on('data', tee(process.stdout));
    child.stderr.on('data', tee(process.stderr));
    child.on('close', (code) => {
      const plain = text.replace(/\x1b\[[0-9;]*m/g, '');
      const count = (re: RegExp) => Number(re.exec(plain)?.[1] ?? 0);
      // ava prints 'N tests passed' only when nothing failed; otherwise count the ✔ lines of its result
      // list, which ends at its '─' rule (a failure's details below may quote ✔ lines from a screen).
      const results = plain.split(/^\s*─\s*$/m)[0]!;
      const passed = /(\d+) tests? passed/.test(plain) ? count(/(\d+) tests? passed/) : (results.match(/^\s*✔/gm) ?? []).length;
      let failed = count(/(\d+) tests? failed/) + count(/(\d+) uncaught exceptions?/) + count(/(\d+) tests? timed out/);
      // A non-zero exit with nothing counted (crash, no tests found) must still read as a failure.
      if (code !== 0 && failed === 0) failed = 1;
      resolve({ passed, failed, skipped: count(/(\d+) tests? skipped/) });
    });
  });
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`test run aborted: ${err.message}\n`);
    process.stdout.write('\n0 passed, 1 failed\n');
    process.exit(1);
  },
);
