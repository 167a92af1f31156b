// `prepare`: build dist/ (npm ci, npm install, npm pack, npm i -g <git url>).
// npm i -g <git url> runs prepare in its clone without the devDependencies (npm/cli#8440, open):
// the clone's nested `npm install` inherits the global flags, installs nothing there and links the
// clone into the global prefix in place of the folder the real install extracts into. Then put the
// folder back and install them here, as a local install, before building.
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, readFileSync, realpathSync, unlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(`${process.cwd()}/package.json`);

function run(cmd, args, env = process.env) {
  const res = spawnSync(cmd, args, { stdio: 'inherit', env });
  if (res.status !== 0) process.exit(res.status ?? 1);
}

function has(module) {
  try {
    require.resolve(module);
    return true;
  } catch {
    return false;
  }
}

if (!has('typescript/bin/tsc')) {
  const prefix = process.env.npm_config_prefix;
  if (process.env.npm_config_global === 'true' && prefix) {
    const { name } = JSON.parse(readFileSync('package.json', 'utf8'));
    const link = join(prefix, 'lib', 'node_modules', name);
    try {
      if (lstatSync(link).isSymbolicLink() && realpathSync(link) === realpathSync('.')) {
        unlinkSync(link);
        mkdirSync(link);
      }
    } catch {
      // no link: nothing to undo
    }
  }
  const local = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_config_(global|prefix|location|omit|include|only|production)$/i.test(k)));
  run('npm', ['install', '--no-save', '--include=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--location=project'], { ...local, NODE_ENV: '' });
}
run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json']);
