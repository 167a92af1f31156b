"""File operations on a Dashboard host, run with the host's python3 (through sudo -n when needed).

One JSON request on stdin, one JSON answer on stdout. Content travels base64-encoded inside the
JSON, never in argv. Writes are atomic (temp file in the same folder, fsync, rename) and keep the
original owner and mode; backups are mode 0600 in a 0700 folder.
"""
import base64
import hashlib
import contextlib
import json
import os
import shutil
import sys
import tempfile


def stat_of(path):
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    with open(path, "rb") as f:
        data = f.read()
    return {
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "mode": st.st_mode & 0o7777,
        "uid": st.st_uid,
        "gid": st.st_gid,
        "content": base64.b64encode(data).decode(),
    }


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


def write_atomic(path, data, mode, uid, gid):
    folder = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".sessionctl-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        if os.geteuid() == 0:
            os.chown(tmp, uid, gid)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    fsync_dir(folder)


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
    current = stat_of(path)
    current_sha = current["sha256"] if current else None
    if current_sha != req["expect"]:
        return {"error": "changed", "message": "%s changed since it was read (sha256 %s, expected %s)"
                % (path, current_sha, req["expect"])}
    data = base64.b64decode(req["content"])
    if current:
        mode, uid, gid = current["mode"], current["uid"], current["gid"]
    else:
        if req.get("parents"):
            os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
        parent = os.stat(os.path.dirname(path))
        mode, uid, gid = req.get("mode", 0o640), parent.st_uid, parent.st_gid
    write_atomic(path, data, mode, uid, gid)
    return {"sha256": hashlib.sha256(data).hexdigest()}


def op_backup(req):
    """Copy `path` (bytes, mode, owner) to `dest` (0600, folder 0700); records absence too."""
    src, dest = req["path"], req["dest"]
    private_dirs(os.path.dirname(dest))
    current = stat_of(src)
    meta = {"path": src, "exists": current is not None}
    if current:
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            with open(src, "rb") as s:
                shutil.copyfileobj(s, f)
            f.flush()
            os.fsync(f.fileno())
        meta.update({k: current[k] for k in ("sha256", "size", "mode", "uid", "gid")})
    fd = os.open(dest + ".meta.json", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(meta, f)
        f.flush()
        os.fsync(f.fileno())
    fsync_dir(os.path.dirname(dest))
    return meta


def op_restore(req):
    """Put `path` back to the backup's exact bytes, mode and owner (or remove it if it did not exist)."""
    path, backup = req["path"], req["backup"]
    with open(backup + ".meta.json") as f:
        meta = json.load(f)
    if not meta["exists"]:
        if os.path.exists(path):
            os.unlink(path)
            fsync_dir(os.path.dirname(path))
        return {"sha256": None}
    with open(backup, "rb") as f:
        data = f.read()
    if hashlib.sha256(data).hexdigest() != meta["sha256"]:
        return {"error": "corrupt", "message": "backup %s does not match its recorded sha256" % backup}
    write_atomic(path, data, meta["mode"], meta["uid"], meta["gid"])
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
    except OSError as exc:
        return {"error": "os", "message": "%s: %s" % (exc.filename or "", exc.strerror)}


def main():
    sys.stdout.write(json.dumps(answer_to(json.load(sys.stdin))))


if __name__ == "__main__":
    main()
