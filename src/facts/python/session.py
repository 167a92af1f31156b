"""Prove sessions work: write, read and delete a session through Django's own SessionStore.

Input (stdin JSON): {"op": "write"|"read"|"delete", "key"?: session key, "token"?: value}
Output: {"key": ..., "cache_key": ..., "value": ..., "exists": bool}
Horizon's effective settings decide the backend, exactly as for a logged-in user.
"""
import contextlib
import json
import os
import sys
from importlib import import_module


def main():
    req = json.load(sys.stdin)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "openstack_dashboard.settings")
    import django
    from django.conf import settings

    with contextlib.redirect_stdout(sys.stderr):
        django.setup()
    engine = import_module(settings.SESSION_ENGINE)
    out = {"engine": settings.SESSION_ENGINE}
    if req["op"] == "write":
        store = engine.SessionStore()
        store["sessionctl_probe"] = req["token"]
        store.save()
        out["key"] = store.session_key
    else:
        store = engine.SessionStore(session_key=req["key"])
        out["key"] = req["key"]
        if req["op"] == "read":
            out["value"] = store.get("sessionctl_probe")
            out["exists"] = store.exists(req["key"])
        elif req["op"] == "delete":
            store.delete(req["key"])
            out["exists"] = store.exists(req["key"])
    if hasattr(store, "cache_key"):
        from django.core.cache import caches
        out["cache_key"] = caches[getattr(settings, "SESSION_CACHE_ALIAS", "default")].make_key(store.cache_key)
    sys.stdout.write(json.dumps(out))


if __name__ == "__main__":
    main()
