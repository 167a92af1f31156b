"""Which web server serves Horizon in this container and where it listens (read only).

A library: prepended by runPython to probe.py. PID 1 is the web server in a Kolla container
(kolla_start execs it): Apache (mod_wsgi) up to 2025.1, uWSGI with an ini file from 2025.2 on,
listening on the host's API address and port 8080, so 127.0.0.1:80 answers nothing there.
"""
import glob
import os
import re


def _pid1_argv():
    try:
        with open("/proc/1/cmdline", "rb") as f:
            return [a.decode("utf-8", "replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def _pid1_exe():
    try:
        return os.path.basename(os.readlink("/proc/1/exe"))
    except OSError:
        return ""


def _uwsgi_options(path):
    """The [uwsgi] section of an ini file, every value of repeated keys kept in order."""
    options, section = {}, None
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for raw in f:
                line = raw.strip()
                if not line or line[0] in "#;":
                    continue
                if line.startswith("[") and line.endswith("]"):
                    section = line[1:-1].strip()
                elif section == "uwsgi" and "=" in line:
                    key, value = line.split("=", 1)
                    options.setdefault(key.strip(), []).append(value.strip())
    except OSError:
        return None
    return options


def _uwsgi(argv):
    ini = next((a for a in argv[1:] if a.endswith(".ini")), None)
    if ini is None and "--ini" in argv[:-1]:
        ini = argv[argv.index("--ini") + 1]
    options = _uwsgi_options(ini) if ini else None
    listen = []
    if options:
        for key, scheme in (("https", "https"), ("http", "http"), ("http-socket", "http")):
            for value in options.get(key, []):
                listen.append({"scheme": scheme, "address": value.split(",", 1)[0]})
    def flag(*keys):
        values = [v for k in keys for v in (options or {}).get(k, [])]
        return bool(values) and values[-1].lower() in ("", "1", "true", "yes", "on")

    # Kolla's ini logs to a file (logto2 = /var/log/kolla/horizon/horizon-uwsgi.log); without one
    # uWSGI logs to its stderr, which only Docker reads.
    logs = [v for k in ("logto", "logto2") for v in (options or {}).get(k, []) if v.startswith("/")]
    # What a graceful reload needs: a master to respawn workers, and workers that import the app
    # themselves (lazy-apps) instead of forking the master's copy with the old settings.
    return {"kind": "uwsgi", "config": ini, "listen": listen, "master": flag("master"), "lazy_apps": flag("lazy-apps", "lazy"),
            "log": logs[-1] if logs else None}


def _apache():
    listen = []
    files = ["/etc/apache2/ports.conf"] + sorted(glob.glob("/etc/apache2/sites-enabled/*")) + \
        sorted(glob.glob("/etc/apache2/conf-enabled/*"))
    for path in files:
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                for line in f:
                    m = re.match(r"\s*Listen\s+(\S+)(?:\s+(\S+))?", line, re.I)
                    if m:
                        scheme = "https" if (m.group(2) or "").lower() == "https" else "http"
                        listen.append({"scheme": scheme, "address": m.group(1)})
        except OSError:
            continue
    return {"kind": "apache", "config": "/etc/apache2", "listen": listen}


def web_server():
    """{"kind": "apache"|"uwsgi"|"unknown", "config", "listen": [{"scheme", "address"}]}."""
    argv = _pid1_argv()
    name = _pid1_exe() or (os.path.basename(argv[0]) if argv else "")
    if name.startswith("uwsgi"):
        return _uwsgi(argv)
    if name in ("apache2", "httpd"):
        return _apache()
    return {"kind": "unknown", "config": None, "listen": [], "pid1": name[:64]}
