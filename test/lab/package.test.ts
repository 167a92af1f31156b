/**
 * The single executable (`npm run package`) against the real lab, as on a deploy node without
 * Node.js: run from a folder with no node_modules, no NODE_PATH, it reads every Dashboard host's
 * Django over SSH and Docker with the probes embedded in it.
 */
import test from 'ava';
import { copyFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { StatusReport } from '../../src/report/types.js';
import { plainEnv, REPO, run } from '../unit/package/helpers.js';
import { djangoSettings, labsFor, scratch, skipUnlessRuns } from './harness.js';

const expectedDjango = { zed: '3.2', h25: '4.2', k2026: '4.2' } as const;
const EXECUTABLE = join(REPO, 'build', `sessionctl-${process.platform}-${process.arch}`);

/** The newest change to what goes into the executable. */
function newestSource(): number {
  const walk = (p: string): number[] => (statSync(p).isDirectory() ? readdirSync(p).flatMap((e) => walk(join(p, e))) : [statSync(p).mtimeMs]);
  return Math.max(...['src', 'playbooks', 'package.json', 'package-lock.json', 'scripts'].flatMap((p) => walk(join(REPO, p))));
}

skipUnlessRuns(test, 'package:sea');

/** Build the executable unless it is newer than all that goes into it (the unit suite's sea test builds it earlier in the same `npm test`). */
async function freshExecutable(): Promise<void> {
  let built = 0;
  try {
    built = statSync(EXECUTABLE).mtimeMs;
  } catch {
    // absent
  }
  if (built >= newestSource()) return;
  const res = await run('npm', ['run', 'package'], { cwd: REPO, timeoutMs: 300_000 });
  if (res.code !== 0) throw new Error(`npm run package failed (exit ${res.code}): ${res.stderr.slice(-2000)}`);
}

if (labsFor('package:sea').length) test.before(freshExecutable);

for (const lab of labsFor('package:sea')) {
  test(`${lab.name}: the single executable, alone in a folder, reports every Dashboard host's Django`, async (t) => {
    const dir = scratch('sessionctl-sea-');
    t.teardown(() => rmSync(dir, { recursive: true, force: true })); // a copy of the executable: 97 MiB
    const exe = join(dir, 'sessionctl');
    copyFileSync(EXECUTABLE, exe);
    await run('chmod', ['755', exe], { cwd: dir });

    const res = await run(exe, ['status', '-i', lab.inventory, '--json'], { cwd: dir, env: plainEnv({ HOME: dir }), timeoutMs: 120_000 });
    t.is(res.code, 0, res.stderr);
    const report = JSON.parse(res.stdout) as StatusReport;
    t.is(report.hosts.length, lab.hosts.length);
    for (const h of lab.hosts) {
      const row = report.hosts.find((r) => r.host === h.name);
      t.is(row?.reachable, true, `${h.name} reached`);
      t.regex(row?.django ?? '', new RegExp(`^${expectedDjango[lab.horizon].replace('.', '\\.')}(\\.|$)`), `${h.name}: Django ${row?.django}`);
      // What Django inside the container says, not through sessionctl.
      t.is(row?.django, (await djangoSettings(h.container)).django);
    }
  });
}
