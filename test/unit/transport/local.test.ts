/** This machine as a Shell (the local Kolla deploy host): argv, never a shell line; stdin; the stdout cap; failures like SSH's. */
import test from 'ava';
import { CommandError, HostUnreachableError } from '../../../src/errors.js';
import { LocalShell } from '../../../src/transport/local.js';
import { Fleet } from '../../../src/transport/fleet.js';
import { HostFiles } from '../../../src/transport/hostfs.js';
import { Secret } from '../../../src/util/secret.js';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const here = new LocalShell({ name: 'localhost', become: false, commandTimeout: 30 });

test('argv is passed as it is: no shell reads a ; or $() in it; stdin reaches the command', async (t) => {
  const res = await here.run(['printf', '%s|', 'a b; echo no', '$(id)', "'q'"]);
  t.is(res.stdout.toString(), "a b; echo no|$(id)|'q'|");
  t.is((await here.run(['cat'], { stdin: 'from stdin' })).stdout.toString(), 'from stdin');
});

test('a secret in argv reaches the command but the display masks it', async (t) => {
  const res = await here.run(['printf', '%s', new Secret('local-s3cret-value')]);
  t.is(res.stdout.toString(), 'local-s3cret-value');
  t.false(res.display.includes('local-s3cret-value'));
});

test('a failing command is a CommandError with its exit code and stderr tail; a missing program is this host unreachable', async (t) => {
  const err = await t.throwsAsync(here.run(['sh', '-c', 'echo oops >&2; exit 3']), { instanceOf: CommandError });
  t.is((err as CommandError).code, 3);
  t.regex(err!.message, /oops/);
  await t.throwsAsync(here.run(['/nonexistent/sessionctl-no-such-program']), { instanceOf: HostUnreachableError });
});

test('stdout past the cap stops the command and fails it', async (t) => {
  const err = await t.throwsAsync(here.exec(['head', '-c', '1000000', '/dev/zero'], { maxStdoutBytes: 1000 }), { instanceOf: CommandError });
  t.regex(err!.message, /passed the cap of 1000 bytes/);
});

test('sudo -n goes in front only when the host has become and the caller asks', async (t) => {
  const becomes = new LocalShell({ name: 'localhost', become: true, commandTimeout: 30 });
  t.is((await here.exec(['true'], { sudo: true })).display, 'true');
  t.is((await becomes.exec(['true'])).display, 'true');
  // Where sudo exists it runs (display names it); where it does not, this machine cannot run sudo.
  const sudo = await becomes.exec(['true'], { sudo: true }).then((r) => r.display, (e: Error) => e.message);
  t.regex(sudo, /^(sudo -n -- true|localhost: cannot run sudo here: .*)$/);
});

test("the fleet gives a local host this machine's shell: no SSH, no key or known_hosts read; hostfile.py works through it", async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'local-'));
  const local = { name: 'localhost', address: '127.0.0.1', port: 22, user: 'op', knownHosts: '/nonexistent/known_hosts', become: false, connectTimeout: 1, commandTimeout: 30, local: true };
  const fleet = new Fleet([local], { acceptNewHostKeys: false });
  await fleet.readLocalFiles([local]);
  const files = new HostFiles(await fleet.ssh(local));
  const file = path.join(dir, 'x.py');
  writeFileSync(file, 'before\n');
  const snap = await files.read(file);
  t.is(snap?.content.toString(), 'before\n');
  await files.write(file, Buffer.from('after\n'), snap!.sha256);
  t.is(readFileSync(file, 'utf8'), 'after\n');
  await fleet.close();
});
