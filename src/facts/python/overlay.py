"""Resolve Horizon's settings as if Kolla had copied other files in (a library, prepended to scripts).

No file is touched: reads of the overlaid destination paths are served from memory.
"""
import json
import os
import sys

KOLLA_CONFIG_DIR = "/var/lib/kolla/config_files"


def kolla_entries():
    """Kolla's config.json: file name in the config dir -> {"dest", "owner", "perm"} inside the container."""
    try:
        with open(os.path.join(KOLLA_CONFIG_DIR, "config.json")) as f:
            config = json.load(f)
    except (OSError, ValueError):
        return {}
    entries = {}
    for entry in config.get("config_files", []):
        src, dest = entry.get("source", ""), entry.get("dest", "")
        if src.startswith(KOLLA_CONFIG_DIR + "/") and "*" not in src:
            name = os.path.basename(src)
            entries[name] = {"dest": os.path.join(dest, name) if dest.endswith("/") else dest,
                             "owner": entry.get("owner") or "root", "perm": entry.get("perm")}
    return entries


def install_overlay(files):
    """Serve `files` ({real path: text}) to open(), os.walk(), os.path.exists() and imports."""
    import builtins
    import importlib.machinery
    import io

    overlay = {os.path.realpath(p): text for p, text in files.items()}
    real_open, real_walk, real_exists, real_isfile = builtins.open, os.walk, os.path.exists, os.path.isfile

    def overlay_open(file, mode="r", *args, **kwargs):
        if isinstance(file, (str, bytes, os.PathLike)) and "r" in mode and "+" not in mode:
            path = os.path.realpath(os.fsdecode(file))
            if path in overlay:
                text = overlay[path]
                return io.BytesIO(text.encode()) if "b" in mode else io.StringIO(text)
        return real_open(file, mode, *args, **kwargs)

    def overlay_walk(top, *args, **kwargs):
        for dirpath, dirnames, filenames in real_walk(top, *args, **kwargs):
            real_dir = os.path.realpath(dirpath)
            extra = [os.path.basename(p) for p in overlay if os.path.dirname(p) == real_dir]
            yield dirpath, dirnames, sorted(set(filenames) | set(extra))

    builtins.open = overlay_open
    os.walk = overlay_walk
    os.path.exists = lambda p: os.path.realpath(os.fsdecode(p)) in overlay or real_exists(p)
    os.path.isfile = lambda p: os.path.realpath(os.fsdecode(p)) in overlay or real_isfile(p)

    class OverlayLoader(importlib.machinery.SourceFileLoader):
        def get_data(self, path):
            real = os.path.realpath(path)
            if real in overlay:
                return overlay[real].encode()
            return super().get_data(path)

        def path_stats(self, path):
            # Never reuse a cached .pyc for an overlaid module.
            if os.path.realpath(path) in overlay:
                raise OSError("overlay")
            return super().path_stats(path)

    class OverlayFinder(importlib.machinery.PathFinder):
        @classmethod
        def find_spec(cls, fullname, path=None, target=None):
            spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
            if spec and spec.origin and os.path.realpath(spec.origin) in overlay:
                spec.loader = OverlayLoader(fullname, spec.origin)
            return spec

    sys.meta_path.insert(0, OverlayFinder)


def overlay_kolla_files(overlay):
    """{file name in the Kolla config dir: text} -> served at its destination; an error message or None."""
    if not overlay:
        return None
    entries = kolla_entries()
    missing = [name for name in overlay if name not in entries]
    if missing:
        return "not copied in by Kolla's config.json: " + ", ".join(missing)
    install_overlay({entries[name]["dest"]: text for name, text in overlay.items()})
    return None
