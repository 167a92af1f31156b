/**
 * `npm run package`: sessionctl as one self-contained executable for this machine's platform
 * (build/sessionctl-linux-x64 here), for deploy nodes without Node.js. Node's single executable
 * applications: esbuild bundles src/cli.ts and its dependencies into one CommonJS script (Node 20
 * runs nothing else as a SEA's entry), `node --experimental-sea-config` makes a blob of it and of the
 * assets (the package.json `files` folders other than dist/: the Python probes and playbooks, and
 * package.json itself), and postject injects the blob into a copy of this node binary.
 * src/util/assets.ts reads them back with node:sea's getAsset(), by the same paths as in the package.
 */
import { build, type Plugin } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'build');
const WORK = join(OUT, 'sea');
const EXECUTABLE = join(OUT, `sessionctl-${process.platform}-${process.arch}`);
/** Node's fuse for a SEA blob (the same in every Node version that has SEA). */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/**
 * Optional modules left out, so each require() of them throws and its caller does without: ssh2's
 * native parts (cpu-features, its sshcrypto.node binding: it uses its pure JavaScript crypto) and
 * debug's supports-color (not installed either). Marked external instead, a SEA's require() would
 * still be asked for them and warn on every start: it loads only built-ins.
 */
const absent: Plugin = {
  name: 'absent',
  setup(b) {
    b.onResolve({ filter: /^(cpu-features|supports-color)$|\.node$/ }, (a) => ({ path: a.path, namespace: 'absent' }));
    b.onLoad({ filter: /.*/, namespace: 'absent' }, (a) => ({ contents: `throw new Error(${JSON.stringify(`${a.path} is not in sessionctl's single executable`)});`, loader: 'js' }));
  },
};

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
}

/** What the executable reads at run time, keyed by path from the package root: what npm packs besides dist/ and the docs. */
function assets(): Record<string, string> {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { files: string[] };
  const dirs = pkg.files.filter((f) => !f.startsWith('!') && f !== 'dist' && statSync(join(ROOT, f)).isDirectory());
  const paths = ['package.json', ...dirs.flatMap((d) => files(join(ROOT, d)).map((f) => relative(ROOT, f)))];
  return Object.fromEntries(paths.sort().map((p) => [p, join(ROOT, p)]));
}

function run(cmd: string, args: string[]): void {
  const res = spawnSync(cmd, args, { stdio: 'inherit', cwd: ROOT });
  if (res.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${res.status ?? res.signal})`);
}

async function main(): Promise<void> {
  const started = Date.now();
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });

  const bundle = join(WORK, 'sessionctl.cjs');
  await build({
    entryPoints: [join(ROOT, 'src', 'cli.ts')],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    minify: true,
    // Error classes name themselves from new.target.name (src/errors.ts): keep it through minifying.
    keepNames: true,
    plugins: [absent],
    // A CommonJS bundle has no import.meta: assets.ts asks for it only outside the executable (the
    // bundle run by plain node, which then finds the package root from the bundle's own place).
    define: { 'import.meta.url': '__sessionctlModuleUrl' },
    banner: { js: 'var __sessionctlModuleUrl = require("node:url").pathToFileURL(__filename).href;' },
    logLevel: 'warning',
  });
  // The executable runs the script itself: no shell reads its #! line.
  writeFileSync(bundle, readFileSync(bundle, 'utf8').replace(/^#!.*\n/, ''));

  const blob = join(WORK, 'sessionctl.blob');
  const config = join(WORK, 'sea-config.json');
  writeFileSync(config, JSON.stringify({ main: bundle, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true, assets: assets() }, null, 2) + '\n');
  run(process.execPath, ['--experimental-sea-config', config]);

  rmSync(EXECUTABLE, { force: true });
  copyFileSync(process.execPath, EXECUTABLE);
  chmodSync(EXECUTABLE, 0o755);
  // Node's own debug symbols are an eighth of the file (97 -> 85 MiB here); binutils' strip, when present.
  if (spawnSync('strip', ['--version'], { stdio: 'ignore' }).status === 0) run('strip', [EXECUTABLE]);
  run(process.execPath, [join(ROOT, 'node_modules', 'postject', 'dist', 'cli.js'), EXECUTABLE, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE]);

  const mb = (f: string) => (statSync(f).size / 1024 / 1024).toFixed(1);
  process.stdout.write(`${relative(ROOT, EXECUTABLE)}: ${mb(EXECUTABLE)} MiB (bundle ${mb(bundle)} MiB, ${Object.keys(assets()).length} assets), built in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

main().catch((err: Error) => {
  process.stderr.write(`npm run package: ${err.message}\n`);
  process.exit(1);
});
