/**
 * `sessionctl completion bash|zsh`: the script the real CLI prints, run by the real shells. Bash
 * completes by calling the function as readline would (COMP_WORDS/COMP_CWORD); zsh checks syntax
 * and that compinit registers it (skipped where zsh is not installed).
 */
import test from 'ava';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { completionScript } from '../../../src/commands/completion.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'sessionctl-completion-'));

function sessionctl(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli.ts'), ...args], { cwd: ROOT, timeout: 60_000 }, (err, stdout, stderr) =>
      done({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });
}

let bashScript: Promise<string> | undefined;
async function bashFile(): Promise<string> {
  bashScript ??= sessionctl(['completion', 'bash']).then(({ code, stdout, stderr }) => {
    if (code !== 0) throw new Error(`completion bash: exit ${code}: ${stderr}`);
    const file = join(dir, 'sessionctl.bash');
    writeFileSync(file, stdout);
    return file;
  });
  return bashScript;
}

/** What bash offers for the words typed so far (the last one being completed). */
async function complete(...words: string[]): Promise<string[]> {
  const file = await bashFile();
  const quoted = words.map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ');
  const out = execFileSync('bash', ['--norc', '--noprofile', '-c', `source '${file}'; cd '${dir}'; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _sessionctl; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l !== '');
}

test('bash: commands, options of the command typed, global options, --backend values', async (t) => {
  t.deepEqual(await complete('sessionctl', 'ap'), ['apply']);
  t.deepEqual(await complete('sessionctl', 'apply', '--ba'), ['--backend']);
  t.deepEqual(await complete('sessionctl', 'apply', '--backend', 're'), ['redis']);
  t.deepEqual(await complete('sessionctl', 'plan', '--install-method', ''), ['pip', 'wheelhouse', 'distro']);
  t.deepEqual(await complete('sessionctl', 'status', '--li'), ['--limit'], 'a global option after the command');
  t.deepEqual(await complete('sessionctl', 'status', '--vers'), [], '--version is the program\'s only');
  t.deepEqual(await complete('sessionctl', 'rollback', '--fo'), ['--force']);
  t.deepEqual(await complete('sessionctl', 'status', '--fo'), [], "rollback's --force is not status's");
  t.deepEqual(await complete('sessionctl', 'help', 'ro'), ['rollback']);
  t.deepEqual(await complete('sessionctl', 'completion', ''), ['bash', 'zsh']);
});

test('bash: an option\'s value is not taken for the command; -i completes files', async (t) => {
  writeFileSync(join(dir, 'inventory-a.yaml'), '');
  writeFileSync(join(dir, 'inventory-b.yaml'), '');
  t.deepEqual(await complete('sessionctl', '-i', 'inv.yaml', 'st'), ['status']);
  t.deepEqual(await complete('sessionctl', '--limit', 'status', 'hi'), ['history'], "'status' there is --limit's value");
  t.deepEqual((await complete('sessionctl', 'status', '-i', 'inventory-')).sort(), ['inventory-a.yaml', 'inventory-b.yaml']);
  t.deepEqual(await complete('sessionctl', 'apply', '--redis-url', 're'), [], 'a free value: nothing offered');
});

test('completion without a shell or with another one is bad input (exit 5); the scripts end with a newline', async (t) => {
  t.is((await sessionctl(['completion', 'fish'])).code, 5);
  t.is((await sessionctl(['completion'])).code, 5);
  t.true((await sessionctl(['completion', 'zsh'])).stdout.endsWith('fi\n'));
});

test('the script follows the program tree: a new option and its values appear', (t) => {
  const program = new Command('tool').option('--json', 'json');
  program.command('paint').option('--colour <name>', 'which colour').option('--into <dir>', 'where');
  const script = completionScript(program, 'bash', { '--colour': ['red', 'blue'] });
  t.regex(script, /--colour\) COMPREPLY=\(\$\(compgen -W "red blue" -- "\$cur"\)\); return ;;/);
  t.regex(script, /--into\) compopt -o filenames 2>\/dev\/null; COMPREPLY=\(\$\(compgen -d/);
  t.regex(script, /paint\) COMPREPLY=\(\$\(compgen -W "--colour --into --json -h --help"/);
  t.throws(() => completionScript(program, 'bash', { '--colour': ['$(reboot)'] }), { message: /is not a plain word/ });
});

const zsh = (() => {
  try {
    execFileSync('zsh', ['--version']);
    return true;
  } catch {
    return false;
  }
})();

(zsh ? test : test.skip)('zsh: the script parses (zsh -n) and compinit registers _sessionctl for sessionctl', async (t) => {
  const { code, stdout } = await sessionctl(['completion', 'zsh']);
  t.is(code, 0);
  const file = join(dir, '_sessionctl');
  writeFileSync(file, stdout);
  execFileSync('zsh', ['-n', file]);
  const out = execFileSync('zsh', ['-f', '-c', `autoload -Uz compinit && compinit -u -d '${join(dir, 'zcompdump')}' && source '${file}' && print -r -- $_comps[sessionctl]`], { encoding: 'utf8' });
  t.is(out.trim(), '_sessionctl');
});
