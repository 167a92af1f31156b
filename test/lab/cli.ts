/**
 * npm run lab -- up [--hosts N] [--horizon zed|h25|k2026] [--layout d|legacy] [--name NAME]
 * npm run lab -- down [--name NAME] [--purge]
 * npm run lab -- status [--name NAME]
 * npm run lab -- reset [--name NAME]
 *
 * Progress goes to stderr; the path of the lab's JSON state and a short summary to stdout.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { labDown, labReset, labStatus, labUp, type LabInfo, type LabUpOptions } from './lab.js';

const USAGE = `usage: lab up [--hosts N] [--horizon zed|h25|k2026] [--layout d|legacy] [--name NAME]
       lab down [--name NAME] [--purge]
       lab status [--name NAME]
       lab reset [--name NAME]`;

const t0 = Date.now();
const log = (line: string) => process.stderr.write(`[lab ${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${line}\n`);

function summary(info: LabInfo): string {
  const lines = [
    join(info.stateDir, 'lab.json'),
    `lab ${info.name}: horizon ${info.horizon}, layout ${info.layout}, subnet ${info.subnet}`,
    ...info.hosts.map((h) => `  ${h.name.padEnd(6)} ssh -p ${h.sshPort} root@127.0.0.1   (${h.ip})`),
    `  ${'jump'.padEnd(6)} ssh -p ${info.jump.sshPort} root@127.0.0.1   (${info.jump.ip})`,
    `  identity    ${info.identity}`,
    `  known_hosts ${info.knownHosts}`,
    `  inventory   ${info.inventory}`,
  ];
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      hosts: { type: 'string' },
      horizon: { type: 'string' },
      layout: { type: 'string' },
      purge: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, ...extra] = positionals;
  if (values.help || !command || extra.length) {
    process.stderr.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const name = values.name ?? 'lab';
  switch (command) {
    case 'up': {
      const opts: LabUpOptions = { name, log };
      if (values.hosts !== undefined) opts.hosts = Number(values.hosts);
      if (values.horizon !== undefined) opts.horizon = values.horizon as LabUpOptions['horizon'];
      if (values.layout !== undefined) opts.layout = values.layout as LabUpOptions['layout'];
      const info = await labUp(opts);
      log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      process.stdout.write(summary(info));
      return 0;
    }
    case 'down':
      await labDown(name, { purge: values.purge ?? false, log });
      process.stdout.write(`lab ${name} is down${values.purge ? ' (purged)' : ''}\n`);
      return 0;
    case 'reset': {
      const info = await labReset(name, { log });
      process.stdout.write(summary(info));
      return 0;
    }
    case 'status': {
      const st = await labStatus(name);
      if (st.info) process.stdout.write(`${join(st.info.stateDir, 'lab.json')}\n`);
      process.stdout.write(`lab ${name}: ${st.state}\n`);
      for (const c of st.containers) process.stdout.write(`  ${c.name.padEnd(28)} ${c.state}\n`);
      for (const h of st.hosts) process.stdout.write(`  ${h.name.padEnd(6)} ssh ${h.ssh ? 'ok' : 'down'}, horizon ${h.horizon}\n`);
      return st.state === 'up' ? 0 : 1;
    }
    default:
      process.stderr.write(`unknown command ${command}\n${USAGE}\n`);
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    log(e instanceof Error ? e.message : String(e));
    process.exit(1);
  },
);
