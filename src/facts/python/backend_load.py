"""Load Django's own session backend for the resolved settings, the way a Horizon worker will.

Runs in the settings probe's process (an `also` script), after the probe resolved Horizon's settings
with the new settings file overlaid, so what loads here is what the next start loads. Reads only:
nothing is written, no query is sent. The database: Django's connection handler builds the default
connection's backend, importing the driver and running Django's version check (the MySQL backend
raises ImproperlyConfigured for a MySQLdb, or PyMySQL standing in for it, below its floor). The
cache: the cache backend class with its client (django-redis's client class and connection factory,
redis-py, pymemcache), built but not asked anything (sessionctl's Redis Cluster client meets its
nodes while it is built).

Input (stdin JSON): {"database": bool, "cache": bool}
Output: {"database": {"ok", "engine", "versions", "error"?}, "cache": {...}} for what was asked.
"""
import contextlib
import json
import sys

DRIVERS = ("MySQLdb", "pymysql", "psycopg2", "psycopg")
CLIENTS = ("django_redis", "redis", "pymemcache")


def versions(names):
    """The versions of these client libraries, if this process imported them, by their own account."""
    out = {}
    for name in names:
        mod = sys.modules.get(name)
        if mod is not None:
            # PyMySQL's __version__ imitates mysqlclient's; VERSION_STRING is its own.
            own = getattr(mod, "VERSION_STRING", None) if name == "pymysql" else None
            out[name] = str(own or getattr(mod, "__version__", "") or "present")
    return out


def failure(exc):
    return "%s: %s" % (type(exc).__name__, exc)


def database():
    from django.conf import settings
    from django.db.utils import ConnectionHandler

    engine = settings.DATABASES.get("default", {}).get("ENGINE")
    try:
        with contextlib.redirect_stdout(sys.stderr):
            handler = ConnectionHandler()
            handler["default"]
        return {"ok": True, "engine": engine, "versions": versions(DRIVERS)}
    except Exception as exc:  # noqa: BLE001 - Django's own message is the answer
        return {"ok": False, "engine": engine, "versions": versions(DRIVERS), "error": failure(exc)}


def cache():
    from django.conf import settings

    backend = settings.CACHES.get("default", {}).get("BACKEND")
    try:
        with contextlib.redirect_stdout(sys.stderr):
            try:
                from django.core.cache import CacheHandler
                made = CacheHandler(settings.CACHES).create_connection("default")
            except ImportError:  # Django < 3.2: no CacheHandler.create_connection
                from django.core.cache import caches
                made = caches["default"]
            if hasattr(made, "client") and hasattr(made.client, "get_client"):
                made.client.get_client(write=True)  # django-redis: client class, factory, redis-py's pool
            elif hasattr(made, "_cache"):
                made._cache  # noqa: B018 - Django's own backends build their client here (pymemcache, redis-py)
        return {"ok": True, "backend": backend, "versions": versions(CLIENTS)}
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "backend": backend, "versions": versions(CLIENTS), "error": failure(exc)}


def main():
    request = json.load(sys.stdin)
    answer = {}
    if request.get("database"):
        answer["database"] = database()
    if request.get("cache"):
        answer["cache"] = cache()
    sys.stdout.write(json.dumps(answer, sort_keys=True))


if __name__ == "__main__":
    main()
