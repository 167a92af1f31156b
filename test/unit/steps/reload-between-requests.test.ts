import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';

/**
 * reload.py's SIGHUP to a uWSGI worker waits until the worker holds no accepted connection (uWSGI
 * would drop one it accepted but has not begun to read). Against a real process: a server that
 * accepts one connection, holds it until the client closes, and exits on SIGHUP saying whether it
 * held one then.
 */
const SERVER = `
import os, signal, socket, sys, tempfile
kind = sys.argv[1]
if kind == "unix":
    addr = os.path.join(tempfile.mkdtemp(), "s.sock")
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(addr)
else:
    srv = socket.socket()
    srv.bind((kind, 0))
    addr = srv.getsockname()[1]
srv.listen(8)
held = []
def hup(*_):
    print("hup holding %d" % len(held), flush=True)
    os._exit(0)
signal.signal(signal.SIGHUP, hup)
print(addr, flush=True)
while True:
    conn, _ = srv.accept()
    held.append(conn)
    while conn.recv(100):
        pass
    held.pop().close()
`;

const DRIVER = `${readFileSync('src/steps/python/reload.py', 'utf8').replace('if __name__ == "__main__":', 'if False:')}
import json, socket, subprocess, sys, threading
kind = sys.argv[1]
# "nobody": the worker runs as another user than the root that reloads it, as in Kolla's container.
# Its Python from /usr/bin: nobody may not reach the test's own interpreter.
owner = {"user": 65534, "group": 65534} if sys.argv[3] == "nobody" else {}
child = subprocess.Popen(["/usr/bin/python3" if owner else sys.executable, "-c", sys.argv[2], kind], stdout=subprocess.PIPE, text=True, **owner)
addr = child.stdout.readline().strip()
idle = accepted_connections(child.pid)
client = socket.socket(socket.AF_UNIX) if kind == "unix" else socket.socket()
client.connect(addr if kind == "unix" else ("127.0.0.1", int(addr)))
wait_for(time.monotonic() + 5, "accept", lambda: accepted_connections(child.pid) == 1)
result = {}
hupper = threading.Thread(target=lambda: result.update(zip(("busy", "unseen"), hup_between_requests(child.pid, time.monotonic() + 10))))
hupper.start()
time.sleep(0.5)
client.close()
hupper.join()
said = child.stdout.readline().strip()
print(json.dumps({"idle": idle, "busy": result.get("busy"), "unseen": result.get("unseen"), "said": said, "exit": child.wait(5)}))
`;

const CASES: { kind: string; owner: 'same' | 'nobody'; argv0: string[] }[] = [
  ...['127.0.0.1', '0.0.0.0', 'unix'].map((kind) => ({ kind, owner: 'same' as const, argv0: ['python3'] })),
  // Docker gives a container's root no CAP_SYS_PTRACE: the links in /proc/PID/fd of a worker of
  // another user cannot be read (the folder still lists). Dropped here as Docker drops it.
  ...(process.getuid?.() === 0 && existsSync('/usr/bin/python3') ? [{ kind: '127.0.0.1', owner: 'nobody' as const, argv0: ['setpriv', '--bounding-set', '-sys_ptrace', 'python3'] }] : []),
];

for (const { kind, owner, argv0 } of CASES) {
  test(`reload.py signals a worker only between requests: a connection it accepted (${kind}${owner === 'nobody' ? ', a worker of another user, root without CAP_SYS_PTRACE' : ''}) defers the SIGHUP until it is closed`, async (t) => {
    const { stdout } = await promisify(execFile)(argv0[0]!, [...argv0.slice(1), '-c', DRIVER, kind, SERVER, owner], { timeout: 30_000 });
    const got = JSON.parse(stdout) as { idle: number; busy: number; unseen: boolean; said: string; exit: number };
    t.false(got.unseen, 'its connections were read');
    t.is(got.idle, 0, 'a server waiting in accept holds no connection');
    // Stopped every 20 ms for the 0.5 s the connection was open, then signalled.
    t.true(got.busy >= 5, `stops that found the connection held: ${got.busy}`);
    t.is(got.said, 'hup holding 0');
    t.is(got.exit, 0);
  });
}
