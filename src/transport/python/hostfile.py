"""File operations on a Dashboard host, run with the host's python3 (through sudo -n when needed).

One JSON request on stdin, one JSON answer on stdout. Content travels base64-encoded inside the
JSON, never in argv. Writes are atomic (temp file in the same folder, fsync, rename), keep the
original owner and mode, and go through a symlink to the file it names (the link stays: Kolla
config folders may hold links); backups are mode 0600 in a 0700 folder.
"""
import base64
import hashlib
import contextlib
import json
import os
import sys
import tempfile


class Refused(Exception):
    """An answer {"error": kind, "message": ...} instead of the operation."""

    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind


def read_file(path):
    """(bytes, stat) from one open file, so the bytes, the hash and the mode all describe one moment; None when absent."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        return f.read(), st


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def stat_of(path):
    found = read_file(path)
    if found is None:
        return None
    data, st = found
    return {
        "sha256": sha256(data),
        "size": len(data),
        "mode": st.st_mode & 0o7777,
        "uid": st.st_uid,
        "gid": st.st_gid,
        "content": base64.b64encode(data).decode(),
    }


def resolve(path):
    """The file a write to `path` lands in: the path itself, or the file its symlinks name."""
    real = os.path.realpath(path)
    if os.path.lexists(path) and not os.path.exists(real):
        raise Refused("dangling", "%s is a symlink to %s, which does not exist; sessionctl will not create a file through it"
                      % (path, real))
    return real


def check_unchanged(path, found, expect):
    now = sha256(found[0]) if found else None
    if now != expect:
        raise Refused("changed", "%s changed since it was read (sha256 %s, expected %s)" % (path, now, expect))


def private_dirs(path):
    """Create `path` and every missing parent with mode 0700 (makedirs' mode is subject to umask)."""
    missing = []
    while not os.path.isdir(path):
        missing.append(path)
        path = os.path.dirname(path)
    for folder in reversed(missing):
        os.mkdir(folder, 0o700)
        os.chmod(folder, 0o700)


def fsync_dir(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_checked(path, data, expect, attrs):
    """Put `data` in place of `path` (through its symlinks) if the file still hashes to `expect`
    (None: must not exist). `attrs(stat or None, folder)` gives the new file's (mode, uid, gid)."""
    real = resolve(path)
    found = read_file(real)
    check_unchanged(path, found, expect)
    folder = os.path.dirname(real)
    mode, uid, gid = attrs(found[1] if found else None, folder)
    fd, tmp = tempfile.mkstemp(prefix=".sessionctl-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        if os.geteuid() == 0:
            os.chown(tmp, uid, gid)
        if found is None:
            # link(2) fails when the name exists: a file created meanwhile is never replaced.
            try:
                os.link(tmp, real)
            except FileExistsError:
                raise Refused("changed", "%s was created since it was read; not replaced" % path) from None
            os.unlink(tmp)
        else:
            # Read again just before the rename: a change made since the first read (while the
            # temporary file was written and flushed) is refused, not overwritten. What remains is
            # the few microseconds between this read and rename(2): POSIX has no compare-and-rename,
            # and a writer that takes no lock (an editor, Ansible) cannot be held off.
            check_unchanged(path, read_file(real), expect)
            os.replace(tmp, real)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    fsync_dir(folder)


def st_attrs(st):
    return st.st_mode & 0o7777, st.st_uid, st.st_gid


def op_read(req):
    return {"files": {p: stat_of(p) for p in req["paths"]}}


def op_holders(req):
    """Names of the folders in `dir` that hold a file `name` (none when `dir` does not exist)."""
    try:
        entries = list(os.scandir(req["dir"]))
    except FileNotFoundError:
        return {"names": []}
    return {"names": sorted(e.name for e in entries
                            if e.is_dir() and os.path.isfile(os.path.join(e.path, req["name"])))}


def op_write(req):
    """Write `content` to `path` if its current sha256 is `expect` (None = must not exist)."""
    path = req["path"]

    def attrs(st, folder):
        if st:
            return st_attrs(st)
        if req.get("parents"):
            os.makedirs(folder, mode=0o755, exist_ok=True)
        parent = os.stat(folder)
        return req.get("mode", 0o640), parent.st_uid, parent.st_gid

    data = base64.b64decode(req["content"])
    replace_checked(path, data, req["expect"], attrs)
    return {"sha256": sha256(data)}


def op_backup(req):
    """Copy `path` (bytes, mode, owner; through a symlink, the file it names) to `dest` (0600,
    folder 0700); records absence too. The bytes hashed are the bytes copied (one read), checked
    again in the backup; `expect` (when given): the sha256 the file must have, as in op_write."""
    src, dest = req["path"], req["dest"]
    real = resolve(src)
    found = read_file(real)
    if "expect" in req:
        check_unchanged(src, found, req["expect"])
    private_dirs(os.path.dirname(dest))
    meta = {"path": src, "exists": found is not None}
    if real != src:
        meta["target"] = real
    if found:
        data, st = found
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        mode, uid, gid = st_attrs(st)
        meta.update(sha256=sha256(data), size=len(data), mode=mode, uid=uid, gid=gid)
        copied = read_file(dest)
        if copied is None or sha256(copied[0]) != meta["sha256"]:
            raise Refused("corrupt", "backup %s does not hold the bytes just copied into it" % dest)
    fd = os.open(dest + ".meta.json", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(meta, f)
        f.flush()
        os.fsync(f.fileno())
    fsync_dir(os.path.dirname(dest))
    return meta


def op_restore(req):
    """Put `path` back to the backup's exact bytes, mode and owner (or remove it if it did not exist),
    through a symlink as the write went, if the file still hashes to `expect` (what the undo's plan saw)."""
    path, backup = req["path"], req["backup"]
    with open(backup + ".meta.json") as f:
        meta = json.load(f)
    if not meta["exists"]:
        check_unchanged(path, read_file(path), req["expect"])
        if os.path.exists(path):
            os.unlink(path)
            fsync_dir(os.path.dirname(path))
        return {"sha256": None}
    with open(backup, "rb") as f:
        data = f.read()
    if sha256(data) != meta["sha256"]:
        return {"error": "corrupt", "message": "backup %s does not match its recorded sha256" % backup}
    replace_checked(path, data, req["expect"], lambda st, folder: (meta["mode"], meta["uid"], meta["gid"]))
    return {"sha256": meta["sha256"]}


def op_df(req):
    # The backups folder may not exist yet: measure the file system it will be created on.
    path = req["path"]
    while not os.path.exists(path) and path != os.path.dirname(path):
        path = os.path.dirname(path)
    st = os.statvfs(path)
    return {"free": st.f_bavail * st.f_frsize}


def op_lock(req):
    """Take the host lock; report the holder when someone else has it.

    The holder is written to a private temporary file first and then hard-linked into place
    (link fails when the lock exists): a lock file is never seen half-written, and a full disk
    leaves no lock behind.
    """
    path = req["path"]
    private_dirs(os.path.dirname(path))
    tmp = "%s.%d.tmp" % (path, os.getpid())
    try:
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
            json.dump(req["holder"], f)
            f.flush()
            os.fsync(f.fileno())
        os.link(tmp, path)
    except FileExistsError:
        try:
            with open(path) as f:
                return {"held": False, "holder": json.load(f)}
        except (OSError, ValueError):
            return {"held": False, "holder": {"run": "unknown (unreadable lock file %s)" % path}}
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return {"held": True}


def op_unlock(req):
    path = req["path"]
    try:
        with open(path) as f:
            holder = json.load(f)
    except FileNotFoundError:
        return {"released": False}
    if holder.get("run") != req["run"]:
        return {"released": False, "holder": holder}
    os.unlink(path)
    return {"released": True}


def op_batch(req):
    """Several operations in order in one process (one round trip), each answered on its own."""
    return {"answers": [answer_to(r) if r.get("op") != "batch" else {"error": "nested", "message": "a batch inside a batch"}
                        for r in req["ops"]]}


OPS = {"read": op_read, "holders": op_holders, "write": op_write, "backup": op_backup, "restore": op_restore,
       "df": op_df, "lock": op_lock, "unlock": op_unlock, "batch": op_batch}


def answer_to(req):
    try:
        return OPS[req["op"]](req)
    except Refused as exc:
        return {"error": exc.kind, "message": str(exc)}
    except OSError as exc:
        return {"error": "os", "message": "%s: %s" % (exc.filename or "", exc.strerror)}


def main():
    sys.stdout.write(json.dumps(answer_to(json.load(sys.stdin))))


if __name__ == "__main__":
    main()
