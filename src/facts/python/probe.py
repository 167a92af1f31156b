"""Read what Horizon really uses, from inside the horizon container.

Runs with the container's own Python (Kolla venv when present), imports Horizon's settings the way
mod_wsgi does, and prints one JSON document after a marker line. Reads nothing secret into the
output: SECRET_KEY only as a truncated sha256, passwords in cache URLs masked.

Needs overlay.py, http_status.py and web_server.py (prepended by runPython).

Input (stdin JSON, optional):
  {"overlay": {"<file name in the Kolla config dir>": "<new text>"}} resolves settings as if Kolla
  had already copied those files in (what the next restart will see), without touching a file:
  reads of the destination path are served from the overlay.
  {"also": [{"name", "source", "input"}]} runs other shipped scripts (the backend's read-only check)
  in this interpreter after the facts, each as if started on its own with its input on stdin:
  "also" in the output maps each name to {"stdout"} or {"error"}. One process start instead of two.
  {"wait": {"url": "<login page>", "seconds": N}} is for a container just restarted: wait until the
  login page answers 200 (Kolla has copied the settings in and Apache serves them), then read the
  facts in this same process. Output has "login_page": {"status", "seconds"}, and the facts only
  after a 200.
  The facts that cost the settings import and the client libraries' imports are under "costly".
  {"fingerprint": true} adds "fingerprint": what the costly facts are a function of; with
  "cached": "<fingerprint>" as well, while it is still the same, "costly" is left out and "cached":
  true says so (the caller kept it from a run before). Never with an overlay.
  {"current_redis": true} (status) adds "current_redis" when Django's cache is Redis or Valkey:
  redis_info.py's server facts and persistence, or {"error"}. Needs redis_info.py (prepended).
"""
import contextlib
import hashlib
import io
import importlib
import importlib.util
import json
import os
import platform
import re
import sys
import threading
import time
from urllib.parse import unquote_plus

MARKER = "SESSIONCTL-FACTS "
SETTINGS_DIRS = ["/etc/openstack-dashboard"]
# sessionctl_redis_cluster: sessionctl's own module for Redis Cluster (src/backends/python/).
MODULES = ["django_redis", "redis", "pymemcache", "memcache", "MySQLdb", "pymysql", "psycopg2", "psycopg", "sessionctl_redis_cluster"]
SECURITY = [
    "SESSION_TIMEOUT", "SESSION_REFRESH", "SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE", "CSRF_COOKIE_SECURE", "SESSION_SERIALIZER",
]


# What the costly facts (horizon, modules, pip, settings) are a function of: the settings files
# (Kolla's copies, Debian's secret key file), the packages Python finds (each sys.path folder's
# entries with size and mtime: pip and apt change them, and the code of the two packages whose
# settings these are), the interpreter and its environment.
SETTINGS_TREES = ["/etc/openstack-dashboard"]
# Where Debian's local_settings keeps a generated SECRET_KEY (and an older name for it).
SETTINGS_FILES = ["/var/lib/openstack-dashboard/secret-key/.secret_key_store", "/var/lib/openstack-dashboard/secret_key"]
SETTINGS_PACKAGES = ["openstack_dashboard", "horizon"]


def fingerprint():
    """Equal fingerprints, equal costly facts. Reads names, sizes, mtimes and the settings' bytes;
    skips __pycache__, which imports write (compiled copies of sources counted here)."""
    h = hashlib.sha256()

    def add(*parts):
        for part in parts:
            h.update(os.fsencode(str(part)) + b"\0")

    def add_file(path):
        try:
            with open(path, "rb") as f:
                add(path, hashlib.sha256(f.read()).hexdigest())
        except OSError as exc:
            add(path, type(exc).__name__)

    def add_stats(folder):
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            add(folder, type(exc).__name__)
            return
        for e in entries:
            if e.name == "__pycache__":
                continue
            try:
                st = e.stat()
                add(e.path, st.st_size, st.st_mtime_ns)
            except OSError:
                add(e.path, "gone")

    add(sys.version, sys.executable, *sorted("%s=%s" % kv for kv in os.environ.items()))
    for top in SETTINGS_TREES:
        for root, dirs, files in os.walk(top, followlinks=True):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            add(root)
            for name in sorted(files):
                add_file(os.path.join(root, name))
    for path in SETTINGS_FILES:
        add_file(path)
    for folder in sys.path:
        if folder and os.path.isdir(folder):
            add_stats(folder)
            for package in SETTINGS_PACKAGES:
                if os.path.isdir(os.path.join(folder, package)):
                    add_stats(os.path.join(folder, package))
            # Horizon's own default place for a generated SECRET_KEY.
            add_file(os.path.join(folder, "openstack_dashboard", "local", ".secret_key_store"))
    return h.hexdigest()


# redis-py takes query parameters as connection arguments (redis://h/0?password=...), names unquoted.
QUERY_PARAM = re.compile(r"([?&])([^=&]*)=([^&]*)")
SECRET_NAME = re.compile(r"pass|pwd|secret|token", re.I)


def mask_url(value):
    """Hide the passwords of a cache URL: in its user part (redis://user:pass@host) and in its
    query (redis://h/0?password=..., unix:///run/redis.sock?password=...).

    A user part without a colon is a user name to redis-py (an ACL user, as sessionctl writes it):
    kept, so the location compares with the one asked for.
    """
    if not isinstance(value, str) or "://" not in value:
        return value
    # To the next '&' (a '#' too): what a parser leaves out of the password still shows nothing of it.
    value = QUERY_PARAM.sub(lambda m: "%s%s=***" % (m.group(1), m.group(2)) if SECRET_NAME.search(unquote_plus(m.group(2))) else m.group(0), value)
    if "@" not in value:
        return value
    scheme, rest = value.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    if ":" not in creds:
        return value
    user = creds.split(":", 1)[0]
    return "%s://%s***@%s" % (scheme, user + ":" if user else "", host)


def jsonable(value):
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return repr(value)


def module_versions():
    found = {}
    for name in MODULES:
        try:
            with contextlib.redirect_stdout(sys.stderr):
                mod = importlib.import_module(name)
            # PyMySQL's __version__ imitates mysqlclient's; VERSION_STRING is its own.
            found[name] = str(getattr(mod, "VERSION_STRING", "") or getattr(mod, "__version__", "") or "present")
        except Exception:  # noqa: BLE001 - any failure means "not usable"
            found[name] = None
    return found


def package_version(name):
    try:
        from importlib import metadata
        return metadata.version(name)
    except Exception:  # noqa: BLE001
        return None


def externally_managed():
    """PEP 668: pip refuses to install into this interpreter without --break-system-packages."""
    import sysconfig
    if sys.prefix != sys.base_prefix:
        return False
    return os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED"))


def listing(path):
    try:
        return sorted(os.listdir(path))
    except OSError:
        return None


# Client libraries Horizon's settings import anyway, the bulk of their import time. Imported while
# Apache starts, so the facts follow the 200 sooner. Library code only: with DJANGO_SETTINGS_MODULE
# unset, a module that tried to read Django's settings would fail here instead of reading files
# Kolla may still be copying (and is imported again, for real, by the settings).
PRELOAD = ["openstack_dashboard.exceptions", "django.urls"]


def preload():
    saved = os.environ.pop("DJANGO_SETTINGS_MODULE", None)
    try:
        for name in PRELOAD:
            try:
                with contextlib.redirect_stdout(sys.stderr):
                    importlib.import_module(name)
            except Exception:  # noqa: BLE001 - only a head start; the settings import reports errors
                pass
    finally:
        if saved is not None:
            os.environ["DJANGO_SETTINGS_MODULE"] = saved


def wait_for_login_page(url, seconds):
    """Ask every 0.1 s until 200 or `seconds` passed; the preload runs meanwhile (in this thread:
    eventlet, which Horizon's clients import, does not finish importing in another one)."""
    answer = {}

    def poll():
        t0 = time.monotonic()
        while True:
            left = seconds - (time.monotonic() - t0)
            status = http_status(url, timeout=max(1, min(10, left)))
            if status == "200" or left <= 0:
                break
            time.sleep(0.1)
        answer.update(status=status, seconds=round(time.monotonic() - t0, 2))

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    preload()
    poller.join()
    return answer


def effective_settings():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "openstack_dashboard.settings")
    import django
    from django.conf import settings

    # Horizon's settings print and log while importing; keep stdout for our JSON.
    with contextlib.redirect_stdout(sys.stderr):
        settings._setup()
    default_cache = settings.CACHES.get("default", {})
    options = default_cache.get("OPTIONS", {}) or {}
    location = default_cache.get("LOCATION")
    db = settings.DATABASES.get("default", {}) if hasattr(settings, "DATABASES") else {}
    # django-redis takes the connection factory from the cache's OPTIONS (Kolla renders it there)
    # before the global setting (sessionctl's block sets that one).
    factory = options.get("CONNECTION_FACTORY") or getattr(settings, "DJANGO_REDIS_CONNECTION_FACTORY", None)
    return {
        "django": django.get_version(),
        "session_engine": settings.SESSION_ENGINE,
        "cache": {
            "backend": default_cache.get("BACKEND"),
            "location": jsonable([mask_url(x) for x in location] if isinstance(location, (list, tuple)) else mask_url(location)),
            "options": sorted(str(k) for k in options),
            # Only options that name where and how to connect, never credentials.
            "client_class": jsonable(options.get("CLIENT_CLASS")),
            "sentinels": jsonable(options.get("SENTINELS")),
            "connection_factory": jsonable(factory),
        },
        "webroot": jsonable(getattr(settings, "WEBROOT", None)),
        "database": {"engine": db.get("ENGINE"), "name": db.get("NAME"), "host": db.get("HOST")} if db else None,
        "security": {name: jsonable(getattr(settings, name, None)) for name in SECURITY},
        "secret_key_sha256": hashlib.sha256(str(settings.SECRET_KEY).encode()).hexdigest()[:16]
        if getattr(settings, "SECRET_KEY", "") else None,
    }


def current_redis(settings):
    """The server behind Django's default cache when it is Redis or Valkey (status asks): which it
    is and whether it keeps the sessions across its restart, through the client Django has (its
    password, Sentinel, TLS). None for another cache; a server that does not answer within 10 s is
    an error, not a hang."""
    if "redis" not in str(settings["cache"]["backend"]).lower():
        return None
    answer = {"error": "TimeoutError: no answer within 10 s"}

    def ask():
        from django.core.cache import caches
        cache = caches["default"]
        try:
            with contextlib.redirect_stdout(sys.stderr):
                if hasattr(getattr(cache, "client", None), "get_client"):  # django-redis
                    client = cache.client.get_client(write=True)
                else:  # Django's own RedisCache
                    client = cache._cache.get_client(None, write=True)
                answer.clear()
                answer.update(facts_of(client))
        except Exception as exc:  # noqa: BLE001 - reported, not a crash
            answer.clear()
            answer["error"] = "%s: %s" % (type(exc).__name__, exc)

    worker = threading.Thread(target=ask, daemon=True)
    worker.start()
    worker.join(10)
    # A copy: a late answer must not change the dict while it is being printed.
    return dict(answer)


def run_scripts(scripts):
    answers = {}
    for item in scripts:
        out = io.StringIO()
        saved = sys.stdin
        sys.stdin = io.StringIO(json.dumps(item["input"]))
        try:
            with contextlib.redirect_stdout(out):
                exec(compile(item["source"], item["name"], "exec"), {"__name__": "__main__"})
            answers[item["name"]] = {"stdout": out.getvalue()}
        except BaseException as exc:  # noqa: BLE001 - SystemExit included: reported, the caller decides
            answers[item["name"]] = {"error": "%s: %s" % (type(exc).__name__, exc)}
        finally:
            sys.stdin = saved
    return answers


def database_tables():
    """The tables the (overlaid) settings' database holds: read only (the migration is steps/python/migrate.py)."""
    import django
    from django.db import connection

    out = {}
    try:
        with contextlib.redirect_stdout(sys.stderr):
            django.setup()
        out["tables"] = sorted(connection.introspection.table_names())
    except Exception as exc:  # noqa: BLE001 - reported, the caller decides
        out["database_error"] = "%s: %s" % (type(exc).__name__, exc)
    return out


def main():
    request = {}
    raw = sys.stdin.read() if not sys.stdin.isatty() else ""
    if raw.strip():
        request = json.loads(raw)
    # Before anything is read: files that change meanwhile change the fingerprint, not only the facts.
    fp = fingerprint() if request.get("fingerprint") else None
    hit = fp is not None and fp == request.get("cached") and not request.get("overlay")
    waited = None
    if request.get("wait"):
        waited = wait_for_login_page(request["wait"]["url"], float(request["wait"]["seconds"]))
        if waited["status"] != "200":
            sys.stdout.write("\n" + MARKER + json.dumps({"login_page": waited}) + "\n")
            return
    overlay_error = overlay_kolla_files(request.get("overlay") or {})
    if overlay_error:
        sys.stdout.write("\n" + MARKER + json.dumps({"overlay_error": overlay_error}) + "\n")
        return
    facts = {
        "python": platform.python_version(),
        "executable": sys.executable,
        "kolla_config_files": listing(KOLLA_CONFIG_DIR),
        "kolla_entries": kolla_entries(),
        "settings_d": listing("/etc/openstack-dashboard/local_settings.d"),
        "settings_dir": listing("/etc/openstack-dashboard"),
        "externally_managed": externally_managed(),
        "manage_py": next((p for p in ("/var/lib/kolla/venv/bin/manage.py", "/usr/share/openstack-dashboard/manage.py")
                           if os.path.exists(p)), None),
        "web_server": web_server(),
    }
    if fp is not None:
        facts["fingerprint"] = fp
    if hit:
        facts["cached"] = True
    else:
        costly = facts["costly"] = {
            "horizon": package_version("horizon"),
            "modules": module_versions(),
            # Whether pip can install here, without starting pip (its import alone costs a third of a second).
            "pip": package_version("pip") if importlib.util.find_spec("pip") else None,
        }
        try:
            costly["settings"] = effective_settings()
        except Exception as exc:  # noqa: BLE001 - reported as a fact, not a crash
            facts["settings_error"] = "%s: %s" % (type(exc).__name__, exc)
        if request.get("current_redis") and "settings" in costly:
            facts["current_redis"] = current_redis(costly["settings"])
    if waited:
        facts["login_page"] = waited
    if request.get("also"):
        facts["also"] = run_scripts(request["also"])
    if request.get("tables"):
        facts.update(database_tables())
    sys.stdout.write("\n" + MARKER + json.dumps(facts, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
