"""Carry live Horizon sessions from the old session backend into the new one.

Needs overlay.py (prepended by runPython). Runs inside a horizon container. Django's own cache and
session classes read and write, so the data is stored exactly as Horizon will read it. The old
backend is only ever read. Session keys and contents never leave this process: the answer holds
counts, and sha256 digests of the keys written (so a later pass can undo exactly those copies).

Input (stdin JSON):
  op: "count"  - can the old backend's sessions be listed, and how many are live (plan, read-only)
      "carry"  - copy every live session into the new backend; a newer copy there wins
      "forget" - delete copies this run wrote that nobody changed since (rollback)
  old_files: {file name in the Kolla config dir: text}: Horizon's settings as before the run
  new_settings: Python code (sessionctl's managed block) defining the new SESSION_ENGINE, CACHES...
  ledger: {digest: expiry} of copies written earlier (forget; carry: to drop logged-out ones)
Output: one JSON document.

"Newer" means a later expiry: every save of a session pushes its expiry forward.
"""
import contextlib
import hashlib
import json
import os
import socket
import sys
import time

SESSION_CACHE_PREFIX = "django.contrib.sessions.cache"  # KEY_PREFIX of Django's cache session engine
NEW_DB_ALIAS = "sessionctl_new"
BATCH = 500
REFUSALS = (b"ERROR", b"CLIENT_ERROR", b"SERVER_ERROR", b"BUSY")
SAME = 2.0  # seconds: expiries this close are the same save (timeouts are whole seconds)


class Unsupported(Exception):
    """The sessions of this backend cannot be listed (or written); the message says why."""


def digest(key):
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def remaining(expiry, now):
    """Cache timeout for an absolute expiry (None = never expires)."""
    return None if expiry is None else max(1, int(round(expiry - now)))


def failure(exc):
    """An error without its arguments, which may quote session data."""
    return type(exc).__name__


# ---------------------------------------------------------------------------------------------
# Stores: the sessions of one backend, keyed by session key, with absolute expiries (epoch seconds)
# ---------------------------------------------------------------------------------------------

class CacheStore:
    """Sessions of the cache engine (memcached or Redis), through a Django cache object."""

    def __init__(self, cache):
        from django.core.cache.backends.base import default_key_func
        if getattr(cache, "key_func", default_key_func) is not default_key_func:
            raise Unsupported("the cache has a custom KEY_FUNCTION: its session keys cannot be recognised")
        self.cache = cache
        self.prefix = str(cache.make_key(SESSION_CACHE_PREFIX))
        module = type(cache).__module__
        if module.startswith("django_redis"):
            self.kind = "redis"
        elif module == "django.core.cache.backends.memcached":
            self.kind = "memcached"
        else:
            raise Unsupported("sessions in %s.%s cannot be listed" % (module, type(cache).__name__))

    def expiries(self):
        return self._redis_expiries() if self.kind == "redis" else self._memcached_expiries()

    def _redis_expiries(self):
        client = self.cache.client.get_client(write=True)
        pattern = str(self.cache.client.make_pattern(SESSION_CACHE_PREFIX + "*"))
        raw_keys = [k.decode() if isinstance(k, bytes) else k for server in masters_of(client) for k in server.scan_iter(match=pattern, count=1000)]
        found, now = {}, time.time()
        for i in range(0, len(raw_keys), 1000):
            batch = raw_keys[i:i + 1000]
            pipe = client.pipeline(transaction=False)
            for k in batch:
                pipe.pttl(k)
            for k, ms in zip(batch, pipe.execute()):
                if ms == -2:
                    continue  # gone since the scan
                found[k[len(self.prefix):]] = None if ms == -1 else now + ms / 1000.0
        return found

    def _memcached_expiries(self):
        found = {}
        for server in self.cache._servers:
            found.update(metadump(server, self.prefix))
        return found

    def read(self, keys):
        got = self.cache.get_many([SESSION_CACHE_PREFIX + k for k in keys])
        return {k[len(SESSION_CACHE_PREFIX):]: v for k, v in got.items()}

    def write(self, key, data, expiry, replace, now):
        """False when another copy appeared meanwhile (add refused): it is newer."""
        timeout = remaining(expiry, now)
        if replace:
            self.cache.set(SESSION_CACHE_PREFIX + key, data, timeout)
            return True
        return bool(self.cache.add(SESSION_CACHE_PREFIX + key, data, timeout))

    def write_batch(self, items, now):
        return one_by_one(self, items, now)

    def delete(self, key):
        self.cache.delete(SESSION_CACHE_PREFIX + key)


def memcached_ask(server, command, done):
    """One command on a raw socket (the client libraries have no metadump)."""
    if server.startswith("unix:") or server.startswith("/"):
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.settimeout(30)
        conn.connect(server[5:] if server.startswith("unix:") else server)
    else:
        host, _, port = server.rpartition(":")
        conn = socket.create_connection((host.strip("[]") or "127.0.0.1", int(port or 11211)), timeout=30)
    with conn:
        conn.sendall(command)
        data = b""
        while not done(data):
            chunk = conn.recv(1 << 20)
            if not chunk:
                break
            data += chunk
        return data


def metadump_done(data):
    """The whole answer is in: the dump's END, or a one-line refusal (key lines end in a bare \\n)."""
    if data.endswith(b"END\r\n"):
        return True
    first, sep, _ = data.partition(b"\r\n")
    return bool(sep) and first.startswith(REFUSALS)


def metadump(server, prefix):
    """{session key: expiry} of one memcached server, from `lru_crawler metadump all` (>= 1.4.31)."""
    from urllib.parse import unquote

    stats = memcached_ask(server, b"stats\r\n", lambda d: d.endswith(b"END\r\n") or d.startswith(b"ERROR"))
    server_now = next((int(line.split()[2]) for line in stats.decode().splitlines() if line.startswith("STAT time ")), None)
    for attempt in range(20):
        data = memcached_ask(server, b"lru_crawler metadump all\r\n", metadump_done)
        if not data.startswith(b"BUSY"):
            break
        time.sleep(0.1 * (attempt + 1))  # another crawl is running on that server
    first = data.split(b"\n", 1)[0].strip()
    if first.startswith(REFUSALS):
        raise Unsupported("memcached %s cannot list its keys (lru_crawler metadump: %s)" % (server, first[:80].decode(errors="replace")))
    skew = (time.time() - server_now) if server_now else 0.0
    found = {}
    for line in data.decode(errors="replace").splitlines():
        if not line.startswith("key="):
            continue
        fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
        key = unquote(fields["key"])
        if key.startswith(prefix):
            exp = int(fields.get("exp", "-1"))
            found[key[len(prefix):]] = None if exp == -1 else exp + skew
    return found


class DbStore:
    """Sessions of the db and cached_db engines: rows of django_session in one database alias."""

    def __init__(self, alias):
        from django.contrib.sessions.backends.db import SessionStore
        from django.contrib.sessions.models import Session
        self.alias, self.model, self.codec = alias, Session, SessionStore()

    def rows(self):
        return self.model.objects.using(self.alias)

    def expiries(self):
        return {k: e.timestamp() for k, e in self.rows().values_list("session_key", "expire_date").iterator()}

    def read(self, keys):
        out = {}
        for key, data in self.rows().filter(session_key__in=keys).values_list("session_key", "session_data"):
            out[key] = self.codec.decode(data)
        return out

    @staticmethod
    def expire_date(expiry, now):
        from datetime import timedelta

        from django.utils import timezone
        return timezone.now() + timedelta(seconds=remaining(expiry, now) or 14 * 86400)

    def write_batch(self, items, now):
        """New rows in one INSERT (a row created meanwhile: one by one, so that one is kept)."""
        from django.db import IntegrityError, transaction

        adds = [item for item in items if not item[3]]
        results = one_by_one(self, [item for item in items if item[3]], now)
        try:
            rows = [self.model(session_key=k, session_data=self.codec.encode(d), expire_date=self.expire_date(e, now))
                    for k, d, e, _ in adds]
            with transaction.atomic(using=self.alias):
                self.rows().bulk_create(rows)
            results.update((k, True) for k, _, _, _ in adds)
        except IntegrityError:
            results.update(one_by_one(self, adds, now))
        return results

    def write(self, key, data, expiry, replace, now):
        from django.db import IntegrityError, transaction

        expire = self.expire_date(expiry, now)
        encoded = self.codec.encode(data)
        if replace:
            # Conditional on the row still being older: a save meanwhile wins.
            return self.rows().filter(session_key=key, expire_date__lt=expire).update(session_data=encoded, expire_date=expire) == 1
        try:
            with transaction.atomic(using=self.alias):
                self.rows().create(session_key=key, session_data=encoded, expire_date=expire)
            return True
        except IntegrityError:
            return False  # created meanwhile: newer

    def delete(self, key):
        self.rows().filter(session_key=key).delete()


def one_by_one(store, items, now):
    """{key: True (written) | False (a newer copy is there) | exception name}."""
    results = {}
    for key, data, expiry, replace in items:
        try:
            results[key] = store.write(key, data, expiry, replace, now)
        except Exception as exc:  # noqa: BLE001 - counted, never quoted
            results[key] = failure(exc)
    return results


def store_for(engine, cache=None, db_alias="default"):
    name = engine.rsplit(".", 1)[-1]
    if name == "cache":
        return CacheStore(cache)
    if name in ("db", "cached_db"):
        return DbStore(db_alias)
    if name == "signed_cookies":
        raise Unsupported("signed-cookie sessions live in the browsers")
    raise Unsupported("sessions of %s cannot be listed" % engine)


# ---------------------------------------------------------------------------------------------
# Settings: the old backend as Horizon resolves it, the new one from our managed block
# ---------------------------------------------------------------------------------------------

def build_cache(settings, conf, connection_factory=None):
    """A Django cache object from a CACHES entry, as django.core.cache does."""
    from django.utils.module_loading import import_string
    params = dict(conf)
    backend = import_string(params.pop("BACKEND"))
    cache = backend(params.pop("LOCATION", ""), params)
    if connection_factory:
        # django-redis < 7 reads DJANGO_REDIS_CONNECTION_FACTORY (Sentinel) only from the settings,
        # once, when a cache makes its client: set it for this cache only (the old one has its own).
        missing = object()
        had = getattr(settings, "DJANGO_REDIS_CONNECTION_FACTORY", missing)
        settings.DJANGO_REDIS_CONNECTION_FACTORY = connection_factory
        try:
            cache.client  # noqa: B018 - made now, with the new factory
        finally:
            if had is missing:
                del settings.DJANGO_REDIS_CONNECTION_FACTORY
            else:
                settings.DJANGO_REDIS_CONNECTION_FACTORY = had
    return cache


def load(req):
    error = overlay_kolla_files(req.get("old_files") or {})  # noqa: F821 - from overlay.py
    if error:
        raise Unsupported(error)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "openstack_dashboard.settings")
    import django
    from django.conf import settings

    with contextlib.redirect_stdout(sys.stderr):
        settings._setup()
    new = {}
    if req.get("new_settings"):
        exec(compile(req["new_settings"], "<sessionctl managed block>", "exec"), new)  # our own block
    new_engine = new.get("SESSION_ENGINE", settings.SESSION_ENGINE)
    if "DATABASES" in new:
        # A second connection alias for the new database; registered before Django opens any.
        # Django insists on a 'default' one; Horizon without database sessions has none.
        settings.DATABASES.setdefault("default", {"ENGINE": "django.db.backends.dummy"})
        settings.DATABASES[NEW_DB_ALIAS] = new["DATABASES"]["default"]
    with contextlib.redirect_stdout(sys.stderr):
        django.setup()
    return settings, new, new_engine


def same_backend(settings, new, new_engine):
    old_engine = settings.SESSION_ENGINE.rsplit(".", 1)[-1]
    kind = new_engine.rsplit(".", 1)[-1]
    if old_engine == "cache" and kind == "cache" and "CACHES" in new:
        old = settings.CACHES[getattr(settings, "SESSION_CACHE_ALIAS", "default")]
        nc = new["CACHES"][new.get("SESSION_CACHE_ALIAS", "default")]
        return all(old.get(k) == nc.get(k) for k in ("BACKEND", "LOCATION", "KEY_PREFIX"))
    if old_engine in ("db", "cached_db") and kind in ("db", "cached_db"):
        if "DATABASES" not in new:
            return True
        old, nd = settings.DATABASES["default"], new["DATABASES"]["default"]
        return all(old.get(k) == nd.get(k) for k in ("ENGINE", "NAME", "HOST", "PORT"))
    return False


def old_store(settings):
    from django.core.cache import caches
    alias = getattr(settings, "SESSION_CACHE_ALIAS", "default")
    engine = settings.SESSION_ENGINE
    return store_for(engine, caches[alias] if engine.endswith(".cache") else None)


def refuse_cookie_target(new_engine):
    if new_engine.endswith(".signed_cookies"):
        raise Unsupported("signed-cookie sessions live in the browsers: nothing can be written for them")


def new_store(settings, new, new_engine):
    refuse_cookie_target(new_engine)
    if new_engine.endswith(".cache"):
        caches = new.get("CACHES", settings.CACHES)
        conf = caches[new.get("SESSION_CACHE_ALIAS", getattr(settings, "SESSION_CACHE_ALIAS", "default"))]
        return store_for(new_engine, build_cache(settings, conf, new.get("DJANGO_REDIS_CONNECTION_FACTORY")))
    if "SESSION_SERIALIZER" in new:
        settings.SESSION_SERIALIZER = new["SESSION_SERIALIZER"]  # how the new rows are encoded
    return store_for(new_engine, db_alias=NEW_DB_ALIAS if "DATABASES" in new else "default")


# ---------------------------------------------------------------------------------------------
# Operations
# ---------------------------------------------------------------------------------------------

def count(settings, new, new_engine):
    if settings.SESSION_ENGINE.endswith(".signed_cookies"):
        return {"supported": True, "cookies": True, "live": 0}
    if same_backend(settings, new, new_engine):
        return {"supported": True, "same": True, "live": 0}
    refuse_cookie_target(new_engine)
    now = time.time()
    found = old_store(settings).expiries()
    return {"supported": True, "live": sum(1 for e in found.values() if e is None or e > now)}


def carry(settings, new, new_engine, ledger):
    started = time.time()
    old = old_store(settings)
    old_found = old.expiries()
    target = new_store(settings, new, new_engine)
    try:
        there = target.expiries()
    except Unsupported:
        there = None  # cannot look: only add where absent, never overwrite
    now = time.time()
    out = {"supported": True, "live": 0, "carried": 0, "unchanged": 0, "newer": 0, "expired": 0, "failed": 0,
           "forgotten": 0, "errors": {}, "ledger": {}}
    live = {k: e for k, e in old_found.items() if e is None or e > now + 1}
    out["live"] = len(live)
    out["expired"] = len(old_found) - len(live)
    todo = []
    for key, expiry in live.items():
        current = there.get(key, False) if there is not None else False
        if current is False:
            todo.append((key, expiry, False))
        elif current is None or expiry is not None and current > expiry + SAME:
            out["newer"] += 1
        elif expiry is not None and abs(current - expiry) <= SAME:
            out["unchanged"] += 1
        else:
            todo.append((key, expiry, True))
    for i in range(0, len(todo), BATCH):
        batch = todo[i:i + BATCH]
        try:
            values = old.read([k for k, _, _ in batch])
        except Exception as exc:  # noqa: BLE001 - counted, never quoted
            out["failed"] += len(batch)
            out["errors"][failure(exc)] = out["errors"].get(failure(exc), 0) + len(batch)
            continue
        items = [(key, values[key], expiry, replace) for key, expiry, replace in batch if values.get(key) is not None]
        out["expired"] += len(batch) - len(items)  # gone between the listing and the read
        expiries = {key: expiry for key, _, expiry, _ in items}
        for key, result in target.write_batch(items, time.time()).items():
            if result is True:
                out["carried"] += 1
                out["ledger"][digest(key)] = expiries[key]
            elif result is False:
                out["newer"] += 1
            else:
                out["failed"] += 1
                out["errors"][result] = out["errors"].get(result, 0) + 1
    if ledger and there is not None:
        # Copied earlier, logged out of the old backend since: drop the copy (if untouched).
        out["forgotten"], _ = drop_copies(target, there, ledger, keep=old_found)
    out["seconds"] = round(time.time() - started, 3)
    return out


def same_expiry(a, b):
    return a is None and b is None or a is not None and b is not None and abs(a - b) <= SAME


def drop_copies(target, there, ledger, keep=()):
    """Delete the copies in `ledger` still exactly as written, except keys in `keep`: (dropped, kept)."""
    dropped = kept = 0
    for key, expiry in there.items():
        d = digest(key)
        if d not in ledger or key in keep:
            continue
        if same_expiry(expiry, ledger[d]):
            target.delete(key)
            dropped += 1
        else:
            kept += 1  # saved again since: someone is using it
    return dropped, kept


def forget(settings, new, new_engine, ledger):
    """A rollback's undo: delete the copies this run wrote that nobody changed since."""
    target = new_store(settings, new, new_engine)
    forgotten, kept = drop_copies(target, target.expiries(), ledger)
    return {"supported": True, "forgotten": forgotten, "kept": kept}


def main():
    req = json.load(sys.stdin)
    op = req["op"]
    try:
        settings, new, new_engine = load(req)
        if op == "count":
            out = count(settings, new, new_engine)
        elif op == "carry":
            out = carry(settings, new, new_engine, req.get("ledger") or {})
        else:
            out = forget(settings, new, new_engine, req.get("ledger") or {})
    except Unsupported as exc:
        out = {"supported": False, "why": str(exc)}
    except Exception as exc:  # noqa: BLE001
        if op != "count":
            raise
        # The plan only listed keys (no session was read): say why, the switch can go on without.
        out = {"supported": False, "why": "%s: %s" % (type(exc).__name__, exc)}
    sys.stdout.write(json.dumps(out))


if __name__ == "__main__":
    main()
