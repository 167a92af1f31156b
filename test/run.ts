/**
 * The test suite: `npm test` (everything), `npm run test:unit` (test/unit/: pure code, no Docker),
 * `npm run test:lab` (test/lab/: the real lab). For the lab it makes sure a Docker engine runs
 * (installing Debian's docker.io on a fresh machine), brings up one 3-host lab per Horizon flavour,
 * runs ava once over the chosen files, and ends with the totals on one line: `N passed, N failed`.
 *
 * SESSIONCTL_LAB_FLAVOURS=zed,k2026 (the default; h25 adds Apache on Django 4.2; empty = no lab, so
 * only the unit tests); which scenario runs on which flavour is test/lab/harness.ts's MATRIX
 * (SESSIONCTL_MATRIX=full: every scenario on every flavour that can run it). Side by side, the two
 * labs' scenarios took as long as one after the other (the CPUs, not the waits, are the limit).
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

const startedAt = Date.now();

/** A stage's title with the minutes since the start: where the time went, from the log alone. */
function step(title: string): void {
  process.stderr.write(`\n== ${title} (at ${((Date.now() - startedAt) / 60_000).toFixed(1)} min)\n`);
}

function sh(cmd: string, args: string[]): void {
  const res = spawnSync(cmd, args, { stdio: 'inherit' });
  if (res.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${res.status})`);
}

async function main(): Promise<number> {
  const started: string[] = [];
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
      for (const horizon of flavours) {
        step(`lab ${horizon}`);
        const t0 = Date.now();
        await labUp({ name: horizon, horizon, hosts: 3, log: (l) => process.stderr.write(`  ${l}\n`) });
        started.push(horizon);
        process.stderr.write(`  lab ${horizon} ready in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
      }
    }
    step('tests');
    return await runAva({ ...process.env, SESSIONCTL_LABS: started.join(',') });
  } finally {
    if (started.length && process.env.SESSIONCTL_KEEP_LAB !== '1') {
      step('lab down');
      for (const name of started) await labDown(name).catch((e: Error) => process.stderr.write(`  ${e.message}\n`));
    }
  }
}

/** Run ava, echo its output, and print its summary as `N passed, N failed`. */
function runAva(env: NodeJS.ProcessEnv): Promise<number> {
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
      const skipped = count(/(\d+) tests? skipped/);
      process.stdout.write(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
      resolve(code === 0 && failed === 0 ? 0 : 1);
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
