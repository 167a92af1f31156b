/**
 * `npm run package` makes one executable that runs on a machine without Node.js or node_modules:
 * the CLI, its dependencies and its assets (Python probes, playbooks, package.json) are inside it.
 */
import test from 'ava';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { checkInstalled, plainEnv, REPO, run, sshServerInventory, tempDir, unreachableInventory } from './helpers.js';

const EXECUTABLE = join(REPO, 'build', `sessionctl-${process.platform}-${process.arch}`);

test('npm run package builds an executable that runs from a folder without node_modules', async (t) => {
  t.timeout(400_000);
  const built = await run('npm', ['run', 'package'], { cwd: REPO, timeoutMs: 300_000 });
  t.is(built.code, 0, built.stderr);

  // Alone in a folder of its own, as on a deploy node: nothing to resolve a module from.
  const tmp = tempDir(t, 'sessionctl-sea-');
  const exe = join(tmp, 'sessionctl');
  copyFileSync(EXECUTABLE, exe);
  await run('chmod', ['755', exe], { cwd: tmp });
  const home = join(tmp, 'home');
  mkdirSync(home);
  await checkInstalled(t, exe, home);

  // A plan reads its playbook: from inside the executable, as every probe and step script.
  const playbook = parse(readFileSync(join(REPO, 'playbooks', 'redis.yaml'), 'utf8')) as { phases: Array<{ steps: string[] }> };
  const plan = await run(exe, ['plan', '-i', unreachableInventory(home), '--backend', 'redis', '--redis-url', 'redis://127.0.0.1:6379/0', '--json'], {
    cwd: home,
    env: plainEnv({ HOME: home, XDG_STATE_HOME: join(home, 'state') }),
  });
  t.is(plan.code, 4, plan.stderr);
  const report = JSON.parse(plan.stdout) as { playbook: string; hosts: Array<{ steps: Array<{ step: string }> }> };
  t.is(report.playbook, `${exe}:playbooks/redis.yaml`);
  t.is(report.hosts[0]?.steps[0]?.step, playbook.phases[0]?.steps[0]);

  // SSH without ssh2's native parts: a full handshake (chacha20-poly1305 on its JavaScript and
  // WebAssembly path) up to the Docker socket, which this server refuses (exit 2, the host reached).
  const ssh = await run(exe, ['status', '-i', await sshServerInventory(t, home), '--json'], { cwd: home, env: plainEnv({ HOME: home, XDG_STATE_HOME: join(home, 'state') }) });
  t.is(ssh.code, 2, ssh.stderr);
  const row = (JSON.parse(ssh.stdout) as { hosts: Array<{ host: string; reachable: boolean; error?: string }> }).hosts[0];
  t.is(row?.host, 'dash-ssh-only');
  t.true(row?.reachable, row?.error);
  t.regex(row?.error ?? '', /docker\.sock/);
});
