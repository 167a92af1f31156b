import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

test("reload.py reads uWSGI's log on from its end: a worker is ready once its line is whole", async (t) => {
  const log = join(mkdtempSync(join(tmpdir(), 'uwsgi-log-')), 'horizon-uwsgi.log');
  writeFileSync(log, "WSGI app 0 (mountpoint='') ready in 8 seconds on interpreter 0x7f4a0eb54610 pid: 12 (default app)\n");
  // Lines are appended between two reads, the last one cut short as a reader may find it.
  const script = `${readFileSync('src/steps/python/reload.py', 'utf8').replace('if __name__ == "__main__":', 'if False:')}
import json, sys
log = open_log(sys.argv[1])
first = sorted(log.ready_pids())
with open(sys.argv[1], "ab") as f:
    f.write(b"Respawned uWSGI worker 1 (new pid: 340)\\n[pid: 13|app: 0|req: 6/12] GET /auth/login/ => generated (HTTP/1.0 200)\\n")
    f.write(b"WSGI app 0 (mountpoint='') ready in 1 seconds on interpreter 0x7f4a0eb54610 pid: 340 (default app)\\nWSGI app 0 (mountpoint='') ready in 1 seconds on interpreter 0x7f pid: 3")
second = sorted(log.ready_pids())
with open(sys.argv[1], "ab") as f:
    f.write(b"41 (default app)\\n")
third = sorted(log.ready_pids())
print(json.dumps([first, second, third, open_log(sys.argv[1] + ".absent") is None, open_log(None) is None]))
`;
  const { stdout } = await promisify(execFile)('python3', ['-c', script, log]);
  t.deepEqual(JSON.parse(stdout), [[], [340], [340, 341], true, true]);
});
