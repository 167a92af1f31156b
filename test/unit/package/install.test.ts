/**
 * `npm pack` from a clean checkout makes a package that installs a working `sessionctl`: built on
 * the way (prepack/prepare), with the Python probes and playbooks it reads at run time.
 */
import test from 'ava';
import { join } from 'node:path';
import { checkInstalled, cleanCopy, plainEnv, run, tempDir, VERSION } from './helpers.js';

test('npm pack from a clean checkout, installed into a fresh prefix, gives a working sessionctl', async (t) => {
  t.timeout(300_000);
  const tmp = tempDir(t, 'sessionctl-pack-');
  const src = cleanCopy(join(tmp, 'src'));

  const pack = await run('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: src, timeoutMs: 180_000 });
  t.is(pack.code, 0, pack.stderr);
  const [packed] = JSON.parse(pack.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const files = packed!.files.map((f) => f.path);
  for (const f of ['dist/cli.js', 'dist/util/assets.js', 'src/facts/python/probe.py', 'src/transport/python/hostfile.py', 'playbooks/redis.yaml', 'package.json']) {
    t.true(files.includes(f), `${f} is in the package`);
  }
  t.false(files.some((f) => f.startsWith('test/') || f.endsWith('.ts') || f.endsWith('.map')), 'no tests, TypeScript sources or source maps');

  // The dependencies' own install scripts (ssh2's optional native crypto, cpu-features) are left
  // out: ssh2 runs without them, npm 11 skips them for global installs anyway, and a compiler would set this test's time.
  const prefix = join(tmp, 'prefix');
  const install = await run('npm', ['i', '-g', '--prefix', prefix, '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', join(tmp, packed!.filename)], {
    cwd: tmp,
    env: plainEnv(),
    timeoutMs: 180_000,
  });
  t.is(install.code, 0, install.stderr);

  const home = join(tmp, 'home');
  await run('mkdir', [home], { cwd: tmp });
  await checkInstalled(t, join(prefix, 'bin', 'sessionctl'), home);
  t.log(`sessionctl ${VERSION}: ${files.length} files packed`);
});
