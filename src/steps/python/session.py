"""Prove sessions work: write and read a session through Django's own SessionStore.

Input (stdin JSON):
  {"op": "write", "token": value, "ttl": seconds, "key"?: session key to use}
  {"op": "read", "key": session key, "wait"?: seconds to wait for it to appear}
Output: {"engine": ..., "key": ..., "cache_key": ..., "value": ...}
Horizon's effective settings decide the backend, exactly as for a logged-in user. A reader can
start with a key chosen beforehand, while the writer is still starting: it polls until the session
exists. The session expires by itself after `ttl`.
"""
import contextlib
import json
import os
import sys
import time
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
        store = engine.SessionStore(session_key=req.get("key"))
        # Created empty first: touching the data of a key that does not exist yet would load it,
        # and Django then drops the key (a fixation guard) and makes up another one.
        store.save(must_create=True)
        store["sessionctl_probe"] = req["token"]
        store.set_expiry(int(req["ttl"]))
        store.save()
        out["key"] = store.session_key
    else:
        key = req["key"]
        deadline = time.monotonic() + float(req.get("wait", 0))
        while True:
            store = engine.SessionStore(session_key=key)
            value = store.get("sessionctl_probe")
            if value is not None or time.monotonic() >= deadline:
                break
            time.sleep(0.05)
        out.update(key=key, value=value)
    if hasattr(store, "cache_key"):
        from django.core.cache import caches
        out["cache_key"] = caches[getattr(settings, "SESSION_CACHE_ALIAS", "default")].make_key(store.cache_key)
    sys.stdout.write(json.dumps(out))


if __name__ == "__main__":
    main()
