/**
 * `npm run demo`: the main job on the built-in lab. Starts a Docker engine if needed, brings up a
 * 3-host Horizon lab (real sshd, Docker engines, Debian's Horizon on memcached, Redis, ...), puts it
 * back on memcached, logs 200 users in (sessions saved through Django), then runs sessionctl exactly
 * as an operator would: status, plan, apply to Redis (offline wheelhouse install), status again;
 * and reads those 200 sessions back through Django on another host: nobody was logged out.
 *
 * DEMO_HORIZON=zed|h25 picks the Horizon flavour (default zed). The lab stays up afterwards:
 * `npm run lab -- down --name demo` removes it.
 */
import { spawnSync } from 'node:child_process';
import { labReset, labUp } from './lab.js';
import { horizonSessions, labWheelhouse, redisInventory } from './harness.js';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';

function sh(cmd: string, args: string[]): void {
  process.stderr.write(`\n$ ${[cmd === process.execPath ? 'sessionctl' : cmd, ...(cmd === process.execPath ? args.slice(1) : args)].join(' ')}\n`);
  const res = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, SSH_AUTH_SOCK: '' } });
  if (res.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${res.status})`);
}

const horizon = process.env.DEMO_HORIZON === 'h25' ? 'h25' : 'zed';
sh('bash', ['test/lab/host-setup.sh']);
sh('npx', ['tsc', '-p', 'tsconfig.build.json']);
const lab = await labUp({ name: 'demo', horizon, hosts: 3, log: (l) => process.stderr.write(`  ${l}\n`) });
await labReset(lab.name);
const dir = join(lab.stateDir, 'demo');
mkdirSync(dir, { recursive: true });
const inventory = redisInventory(lab, await labWheelhouse(), { dir });
const cli = join(process.cwd(), 'dist/cli.js');
const made = await horizonSessions(lab.hosts[1]!.container, { op: 'create', n: 200, token: 'demo-user', ttl: 3600, step: 1 });
const users = made.sessions!;
process.stderr.write(`\n${users.length} users logged in through ${lab.hosts[1]!.name} (sessions saved by Django in ${made.cache})\n`);
sh(process.execPath, [cli, 'status', '-i', inventory]);
sh(process.execPath, [cli, 'plan', '-i', inventory]);
sh(process.execPath, [cli, 'apply', '-i', inventory, '--yes']);
sh(process.execPath, [cli, 'status', '-i', inventory]);
const reader = lab.hosts.at(-1)!;
const read = await horizonSessions(reader.container, { op: 'read', keys: users.map(([key]) => key) });
const still = users.filter(([key, value]) => read.found![key]![0] === value).length;
process.stderr.write(`\n${still} of ${users.length} users are still logged in: their sessions read through Django on ${reader.name}, from ${read.cache}\n`);
if (still !== users.length) process.exitCode = 1;
process.stderr.write(`\nThe lab stays up; its inventory: ${inventory}\n`);
