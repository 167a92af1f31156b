"""Where the client libraries of Horizon's session backends live in the container. Reads only.

Input (stdin JSON): {"modules": ["django_redis", "pymysql", ...]}
Output (one JSON document): for each module name either
  {"version", "path", "dist": null | {"name", "version", "path"}, "ctime"}
or {"error": "<why it does not import>"}.
`path` is the package's directory (or the module's file). `dist` is the installed distribution that
owns the module in the same directory: its .dist-info or .egg-info (Debian's packages have the
latter), the name pip knows it by and the version installed. `ctime`: the latest change time of
the module's own file (`__init__.py` of a package) and of its distribution's metadata file, files
and not folders (importing writes `__pycache__` into folders). The caller compares it with the
container's creation time: a file of an image layer changed last when the layer was unpacked, before
the container existed; what pip or apt wrote into the container layer changed after.
"""
import contextlib
import importlib
import json
import os
import re
import sys


def module_path(mod):
    locations = list(getattr(mod, "__path__", None) or [])
    if locations:
        return locations[0]
    return getattr(mod, "__file__", None)


def normalise(name):
    return re.sub(r"[-_.]+", "_", name).lower()


def dir_name(dist):
    """The project name in a .dist-info/.egg-info directory's own name (no file read)."""
    path = getattr(dist, "_path", None)
    return normalise(os.path.basename(str(path)).split("-", 1)[0].rsplit(".", 1)[0]) if path else ""


def top_level(dist):
    try:
        return (dist.read_text("top_level.txt") or "").split()
    except Exception:  # noqa: BLE001 - unreadable metadata: not the owner as far as we can tell
        return []


def has_file(dist, name):
    try:
        files = dist.files or []
    except Exception:  # noqa: BLE001
        return False
    return any(str(f).split("/", 1)[0] in (name, name + ".py") for f in files)


def owner(name, site_dir):
    """The distribution in `site_dir` that installed `name`: by its directory's name first (no
    read), then its top_level.txt (one small file), then its file list (RECORD), which costs more.
    Runs in the facts probe's process, so every file read adds to each host's facts."""
    try:
        from importlib import metadata
    except ImportError:  # Python < 3.8: no metadata API
        return None
    try:
        dists = list(metadata.distributions(path=[site_dir]))
    except Exception:  # noqa: BLE001
        return None
    found = next((d for d in dists if dir_name(d) == normalise(name)), None)
    found = found or next((d for d in dists if name in top_level(d)), None)
    found = found or next((d for d in dists if has_file(d, name)), None)
    if found is None:
        return None
    path = getattr(found, "_path", None)
    return {
        "name": found.metadata["Name"],
        "version": found.version,
        "path": str(path) if path else None,
    }


def ctime_of(path, dist):
    files = []
    if path:
        files.append(os.path.join(path, "__init__.py") if os.path.isdir(path) else path)
    dist_path = dist and dist.get("path")
    if dist_path:
        if os.path.isdir(dist_path):
            files += [os.path.join(dist_path, "METADATA"), os.path.join(dist_path, "PKG-INFO")]
        else:
            files.append(dist_path)
    times = []
    for f in files:
        try:
            times.append(os.stat(f).st_ctime)
        except OSError:
            pass
    return max(times) if times else None


def describe(name):
    try:
        with contextlib.redirect_stdout(sys.stderr):
            mod = importlib.import_module(name)
    except Exception as exc:  # noqa: BLE001 - any failure means "not usable"
        return {"error": "%s: %s" % (type(exc).__name__, exc)}
    path = module_path(mod)
    # PyMySQL's __version__ imitates mysqlclient's; VERSION_STRING is its own.
    version = str(getattr(mod, "VERSION_STRING", "") or getattr(mod, "__version__", "") or "present")
    dist = owner(name, os.path.dirname(os.path.realpath(path))) if path else None
    return {
        "version": version,
        "path": path,
        "dist": dist,
        "ctime": ctime_of(path, dist),
    }


def main():
    request = json.load(sys.stdin)
    sys.stdout.write(json.dumps({name: describe(name) for name in request["modules"]}, sort_keys=True))


if __name__ == "__main__":
    main()
