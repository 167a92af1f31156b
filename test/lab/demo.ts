/**
 * `npm run demo`: the main job on the built-in lab. Starts a Docker engine if needed, brings up a
 * 3-host Horizon lab (real sshd, Docker engines, Debian's Horizon, memcached/Redis/...), then runs
 * sessionctl against it exactly as an operator would.
 *
 * DEMO_HORIZON=zed|h25 picks the Horizon flavour (default zed); the lab stays up afterwards
 * (`npm run lab -- down --name demo` removes it).
 */
import { spawnSync } from 'node:child_process';
import { labUp } from './lab.js';

function sh(cmd: string, args: string[], ok: number[] = [0]): number {
  process.stderr.write(`\n$ ${[cmd, ...args].join(' ')}\n`);
  const res = spawnSync(cmd, args, { stdio: 'inherit' });
  if (!ok.includes(res.status ?? -1)) throw new Error(`${cmd} failed (exit ${res.status})`);
  return res.status ?? 0;
}

const horizon = process.env.DEMO_HORIZON === 'h25' ? 'h25' : 'zed';
sh('bash', ['test/lab/host-setup.sh']);
sh('npx', ['tsc', '-p', 'tsconfig.build.json']);
const lab = await labUp({ name: 'demo', horizon, hosts: 3, log: (l) => process.stderr.write(`  ${l}\n`) });
sh(process.execPath, ['dist/cli.js', 'status', '-i', lab.inventory]);
