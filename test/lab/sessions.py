"""Test-side log-in equivalents, written independently of sessionctl's carry.py.

Runs inside a horizon container with Horizon's own settings (whatever backend they resolve to).
Input (stdin JSON):
  {"op": "create", "n": N, "token": T, "ttl": first TTL, "step": TTL step}
      -> {"engine", "cache", "sessions": [[key, value, ttl, created]]}
  {"op": "read", "keys": [...]}
      -> {"engine", "cache", "found": {key: [value or null, remaining seconds or null]}}
  {"op": "update", "keys": [...], "value": V, "ttl": seconds}: saved again (a user active here)
  {"op": "delete", "keys": [...]}: logged out here
Remaining lifetimes come from the backend itself: Redis TTL, memcached's meta-get, the row's expire_date.
"""
import contextlib
import json
import os
import socket
import sys
import time
from importlib import import_module

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "openstack_dashboard.settings")
import django  # noqa: E402
from django.conf import settings  # noqa: E402

with contextlib.redirect_stdout(sys.stderr):
    django.setup()
from django.core.cache import caches  # noqa: E402

ENGINE = settings.SESSION_ENGINE
CACHE = caches[getattr(settings, "SESSION_CACHE_ALIAS", "default")]
STORE = import_module(ENGINE).SessionStore


def memcached_ttl(full_key):
    for server in CACHE._servers:
        host, _, port = server.rpartition(":")
        with socket.create_connection((host, int(port)), timeout=5) as conn:
            conn.sendall(b"mg " + full_key.encode() + b" t\r\n")
            answer = conn.recv(4096).decode()
        if answer.startswith("HD") or answer.startswith("VA"):
            ttl = int(answer.split(" t", 1)[1].split()[0])
            return None if ttl == -1 else ttl
    return None


def remaining(key):
    if ENGINE.endswith(".cache"):
        cache_key = "django.contrib.sessions.cache" + key
        if type(CACHE).__module__.startswith("django_redis"):
            ttl = CACHE.ttl(cache_key)
            return None if ttl is None else ttl
        return memcached_ttl(CACHE.make_key(cache_key))
    from django.contrib.sessions.models import Session
    from django.utils import timezone
    row = Session.objects.filter(session_key=key).first()
    return None if row is None else (row.expire_date - timezone.now()).total_seconds()


def main():
    req = json.load(sys.stdin)
    out = {"engine": ENGINE, "cache": settings.CACHES["default"]["BACKEND"]}
    if req["op"] == "create":
        made = []
        for i in range(req["n"]):
            store = STORE()
            value = "%s-%d" % (req["token"], i)
            ttl = req["ttl"] + i * req["step"]
            store["sessionctl_test"] = value
            store.set_expiry(ttl)
            store.save()
            made.append([store.session_key, value, ttl, time.time()])
        out["sessions"] = made
    elif req["op"] == "update":  # a user active on this host: saved again, later expiry
        for key in req["keys"]:
            store = STORE(session_key=key)
            store["sessionctl_test"] = req["value"]
            store.set_expiry(req["ttl"])
            store.save()
        out["updated"] = time.time()
    elif req["op"] == "delete":  # a user logging out on this host
        for key in req["keys"]:
            STORE(session_key=key).delete()
    else:
        found = {}
        for key in req["keys"]:
            store = STORE(session_key=key)
            value = store.get("sessionctl_test")
            found[key] = [value, remaining(key) if value is not None else None]
        out["found"] = found
    sys.stdout.write(json.dumps(out))


main()
