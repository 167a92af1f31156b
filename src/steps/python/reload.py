"""Load new settings into the running Horizon without restarting its container: a graceful reload.

Copies the named files from Kolla's config dir to where config.json puts them, with its owner and
mode (what kolla_set_configs does at a start), then reloads the web server gracefully and waits
until every process that served before has been replaced (the health gate that follows waits for
the login page's 200 and reads what Django resolves):
- Apache (PID 1): SIGUSR1, a graceful restart. Children finish the request they serve; mod_wsgi's
  daemon processes are replaced too. The listening socket stays open throughout.
- uWSGI (master as PID 1, lazy-apps): SIGHUP to one worker at a time, between two requests (see
  hup_between_requests). The master respawns it and the new worker imports Django itself; the next
  worker is reloaded only once the new one has loaded the app, so one always accepts. The HTTP router and the master are left alone (a SIGHUP
  to the master re-execs everything, router included, and drops requests). A worker has loaded
  the app when uWSGI's log file says so, or (no log file: Docker has uWSGI's log) when /proc shows it.
No start hook runs, so nothing is recompressed. Runs as root (signals to PID 1, Kolla's owners).

Input: {"files": [names in the config dir], "seconds": N}.
Output: {"server", "replaced": [[old pid, new pid or null], ...], "copied": [dest], "seconds",
"ready_by": "log"|"proc", "busy": stops that found a worker in a request, "unseen": workers
signalled without seeing their connections (uWSGI)} or {"error": reason, "stage"}.
Needs overlay.py (kolla_entries) and web_server.py (prepended by runPython).
"""
import grp
import hashlib
import json
import os
import pwd
import re
import signal
import sys
import tempfile
import time


class ReloadError(Exception):
    def __init__(self, stage, reason):
        super().__init__(reason)
        self.stage = stage


def owner_ids(owner):
    user, _, group = owner.partition(":")
    uid = pwd.getpwnam(user).pw_uid
    return uid, grp.getgrnam(group).gr_gid if group else pwd.getpwnam(user).pw_gid


def copy_in(name, entry):
    """Kolla's copy of one file, made atomic: readers see the old bytes or the new, never half."""
    src = os.path.join(KOLLA_CONFIG_DIR, name)
    with open(src, "rb") as f:
        data = f.read()
    dest = entry["dest"]
    uid, gid = owner_ids(entry["owner"])
    mode = int(entry["perm"], 8) if entry.get("perm") else os.stat(src).st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(prefix=".sessionctl-", dir=os.path.dirname(dest))
    try:
        os.write(fd, data)
        os.fchown(fd, uid, gid)
        os.fchmod(fd, mode)
        os.fsync(fd)
        os.close(fd)
        fd = None
        os.replace(tmp, dest)
    finally:
        if fd is not None:
            os.close(fd)
        if os.path.exists(tmp):
            os.unlink(tmp)
    with open(dest, "rb") as f:
        if hashlib.sha256(f.read()).digest() != hashlib.sha256(data).digest():
            raise ReloadError("copy", "%s does not hold the bytes of %s after the copy" % (dest, src))
    return dest


def stat_of(pid):
    """(ppid, state, cpu ticks, rss pages) of a live process, or None (gone or a zombie)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[1]), fields[0], int(fields[11]) + int(fields[12]), int(fields[21])


def children_of_pid1():
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = stat_of(int(entry))
            if st and st[0] == 1:
                found[int(entry)] = st
    return found


def wait_for(deadline, what, ready, interval=0.1):
    while True:
        answer = ready()
        if answer:
            return answer
        if time.monotonic() >= deadline:
            raise ReloadError("reload", "%s within the health timeout" % what)
        time.sleep(interval)


class UwsgiLog:
    """uWSGI's log file, read on from its end: a lazy-apps worker logs "WSGI app 0 (mountpoint='')
    ready in 1 seconds on interpreter 0x... pid: 340" once it has imported the app, uWSGI's own
    word, the moment it is said (a worker serving its first request looks busy to /proc for a
    second more)."""
    READY = re.compile(rb"WSGI app \d+ \(mountpoint='[^']*'\) ready in .* pid: (\d+)")

    def __init__(self, path):
        self.file = open(path, "rb")
        self.file.seek(0, os.SEEK_END)
        self.rest = b""
        self.ready = set()

    def ready_pids(self):
        lines = (self.rest + self.file.read()).split(b"\n")
        self.rest = lines.pop()
        for line in lines:
            m = self.READY.search(line)
            if m:
                self.ready.add(int(m.group(1)))
        return self.ready


def open_log(path):
    try:
        return UwsgiLog(path) if path else None
    except OSError:
        return None


def socket_table(pid):
    """{socket inode: (address, listening)} in the network namespace of pid: TCP as (hex ip, hex
    port), a named Unix socket as (path,)."""
    table = {}
    for name in ("tcp", "tcp6"):
        try:
            with open("/proc/%d/net/%s" % (pid, name)) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            table[int(fields[9])] = (tuple(fields[1].split(":")), fields[3] == "0A")
    try:
        with open("/proc/%d/net/unix" % pid) as f:
            rows = f.read().splitlines()[1:]
    except OSError:
        rows = []
    for row in rows:
        fields = row.split(None, 7)
        # An accepted connection carries its listener's path; an unnamed socket has none to match.
        if len(fields) == 8:
            table[int(fields[6])] = ((fields[7],), int(fields[3], 16) & 0x10000 != 0)
    return table


class as_owner_of:
    """Take the effective uid and gid of pid's owner for a moment. Reading where a process's file
    descriptors point needs ptrace access: its own user, or CAP_SYS_PTRACE, which Docker does not
    give the container's root (readlink fails, listing the folder does not)."""

    def __init__(self, pid):
        st = os.stat("/proc/%d" % pid)
        self.ids = (st.st_uid, st.st_gid) if os.geteuid() == 0 and st.st_uid != 0 else None

    def __enter__(self):
        if self.ids:
            os.setegid(self.ids[1])
            os.seteuid(self.ids[0])

    def __exit__(self, *exc):
        if self.ids:
            os.seteuid(0)
            os.setegid(0)


def socket_inodes(pid):
    """The inodes of pid's sockets. An unreadable descriptor is an error, never "no socket": a
    blind check would signal a worker holding a connection."""
    inodes = []
    with as_owner_of(pid):
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except FileNotFoundError:  # closed meanwhile
                continue
            if target.startswith("socket:["):
                inodes.append(int(target[8:-1]))
    return inodes


def accepted_connections(pid):
    """How many connections pid holds that it accepted on one of its own listening sockets."""
    inodes = socket_inodes(pid)
    table = socket_table(pid)
    mine = [table[i] for i in inodes if i in table]
    listening = {addr for addr, listens in mine if listens}

    def on_a_listener(addr):
        # A listener on any address (0.0.0.0, ::) accepts on every address of its port.
        return addr in listening or (len(addr) == 2 and ("0" * len(addr[0]), addr[1]) in listening)

    return sum(1 for addr, listens in mine if not listens and on_a_listener(addr))


def hup_between_requests(pid, deadline):
    """SIGHUP a uWSGI worker while it holds no request. uWSGI counts a request as begun only once
    it starts reading it, after accept(): a SIGHUP in between makes the worker exit at once with the
    connection it took, unanswered (a 502 at the load balancer). Stopped by SIGSTOP, a worker's
    open files show whether it holds an accepted connection; if not, the SIGHUP sent while it is
    stopped is the first thing it handles when SIGCONT lets it go on. Returns how many stops found
    it in a request, and whether its connections were unreadable (a worker that is not dumpable:
    then it is signalled unseen, as a plain SIGHUP would)."""
    busy = 0
    while True:
        os.kill(pid, signal.SIGSTOP)
        try:
            wait_for(deadline, "worker %d did not stop for its reload" % pid, lambda: (stat_of(pid) or (0, "T"))[1] in ("T", "t"), interval=0.001)
            if stat_of(pid) is None:
                raise ReloadError("reload", "worker %d exited before its reload" % pid)
            try:
                held = accepted_connections(pid)
            except PermissionError:
                held = None
            if not held:
                os.kill(pid, signal.SIGHUP)
                return busy, held is None
        finally:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        busy += 1
        if time.monotonic() >= deadline:
            raise ReloadError("reload", "worker %d was never between two requests within the health timeout" % pid)
        time.sleep(0.02)


def reload_uwsgi(deadline, log):
    """SIGHUP each worker in turn, between two of its requests; wait for its replacement to have loaded the app: uWSGI's log
    says so, or /proc shows it (its memory near the old worker's, and it sits in accept: its CPU
    time settled, or asleep between requests)."""
    children = children_of_pid1()
    if not children:
        raise ReloadError("reload", "the uWSGI master (PID 1) has no worker processes")
    largest = max(st[3] for st in children.values())
    # The HTTP router is a child of the master too, a few MB against the workers' loaded Django.
    workers = sorted(pid for pid, st in children.items() if st[3] * 2 >= largest)
    known = set(children)
    replaced = []
    busy = unseen = 0
    for old in workers:
        old_rss = children[old][3]
        waits, blind = hup_between_requests(old, deadline)
        busy += waits
        unseen += blind
        wait_for(deadline, "worker %d did not finish its requests and exit" % old, lambda: stat_of(old) is None, interval=0.05)

        def respawned():
            fresh = [pid for pid in children_of_pid1() if pid not in known]
            return fresh[0] if fresh else None

        new = wait_for(deadline, "the uWSGI master did not respawn worker %d" % old, respawned, interval=0.05)
        known.add(new)
        samples = []

        def loaded():
            st = stat_of(new)
            if st is None:
                raise ReloadError("reload", "the new worker %d (for %d) died while loading Horizon: see the container's log" % (new, old))
            if log is not None and new in log.ready_pids():
                return True
            if samples and time.monotonic() - samples[-1][0] < 0.095:
                return False
            samples.append((time.monotonic(),) + st)
            if st[3] * 2 < old_rss or len(samples) < 4:
                return False
            last = samples[-4:]
            # In uWSGI's accept loop: idle (its CPU time settled), or, under load, asleep between
            # requests (S) in 3 of 4 samples 0.1 s apart. Importing Horizon runs or waits on the
            # disk (R, D): it is seldom asleep, least of all in most of 0.3 s once its memory nears
            # the old worker's.
            return last[0][3] == last[-1][3] or sum(x[2] == "S" for x in last) >= 3

        wait_for(deadline, "the new worker %d did not load Horizon" % new, loaded, interval=0.05)
        replaced.append([old, new])
    return replaced, busy, unseen


def reload_apache(deadline):
    """SIGUSR1 to the parent: a graceful restart. Every child of the moment must go."""
    old = set(children_of_pid1())
    os.kill(1, signal.SIGUSR1)

    def all_replaced():
        now = children_of_pid1()
        return now if now and not old & set(now) else None

    new = wait_for(deadline, "Apache's old processes did not all finish their requests and exit", all_replaced)
    return [[pid, None] for pid in sorted(old)] + [[None, pid] for pid in sorted(new)]


def main():
    request = json.load(sys.stdin)
    t0 = time.monotonic()
    deadline = t0 + float(request["seconds"])
    server = web_server()
    out = {"server": server["kind"]}
    try:
        if server["kind"] not in ("apache", "uwsgi"):
            raise ReloadError("check", "PID 1 is not Apache or uWSGI (%s)" % server.get("pid1", "?"))
        entries = kolla_entries()
        missing = [name for name in request["files"] if name not in entries]
        if missing:
            raise ReloadError("check", "Kolla's config.json does not copy %s into the container" % ", ".join(missing))
        out["copied"] = [copy_in(name, entries[name]) for name in request["files"]]
        if server["kind"] == "uwsgi":
            log = open_log(server.get("log"))
            out["ready_by"] = "log" if log else "proc"
            out["replaced"], out["busy"], out["unseen"] = reload_uwsgi(deadline, log)
        else:
            out["replaced"] = reload_apache(deadline)
    except ReloadError as exc:
        out.update(error=str(exc), stage=exc.stage)
    except OSError as exc:
        out.update(error="%s: %s" % (type(exc).__name__, exc), stage="copy" if "copied" not in out else "reload")
    out["seconds"] = round(time.monotonic() - t0, 2)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
