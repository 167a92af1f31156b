"""Prove sessions work: write and read a session through Django's own SessionStore.

Input (stdin JSON):
  {"op": "write", "token": value, "ttl": seconds, "key"?: session key to use}
  {"op": "read", "key": session key, "wait"?: seconds to wait for it to appear}
  {"op": "served", "url": login page, "ttl": seconds}: have the web server make a session (see
  served_session) and read it back here; it then expires after `ttl`
Output: {"engine": ..., "key": ..., "cache_key": ..., "value": ...}
Horizon's effective settings decide the backend, exactly as for a logged-in user. A reader can
start with a key chosen beforehand, while the writer is still starting: it polls until the session
exists. The session expires by itself after `ttl`.
"""
import contextlib
import http.client
import json
import os
import re
import sys
import time
import urllib.parse
from importlib import import_module


def request(url, method="GET", body=None, cookies=None):
    """One HTTP request, cookies handed back by hand: a client's cookie jar would withhold Secure
    cookies over the plain HTTP a backend behind a TLS-terminating load balancer speaks."""
    parts = urllib.parse.urlsplit(url)
    conn_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = conn_class(parts.netloc, timeout=15)
    headers = {"Referer": url}
    if cookies:
        headers["Cookie"] = "; ".join("%s=%s" % kv for kv in cookies.items())
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, parts.path or "/", body=body, headers=headers)
    resp = conn.getresponse()
    text = resp.read().decode("utf-8", "replace")
    set_cookies = {}
    for header in resp.headers.get_all("Set-Cookie") or []:
        name, _, rest = header.partition("=")
        set_cookies[name.strip()] = rest.split(";", 1)[0]
    conn.close()
    return resp.status, text, set_cookies


def served_session(url, cookie_name):
    """Have the serving processes write a session: Horizon's login view stores the form's auth_type
    in the session on every POST. Without a user name and password the form does not ask Keystone."""
    status, page, cookies = request(url)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if status != 200 or not token:
        return {"error": "the login page answered %s%s" % (status, "" if token else " without a login form")}
    body = urllib.parse.urlencode({"csrfmiddlewaretoken": token.group(1), "auth_type": "credentials"})
    status, _, set_cookies = request(url, "POST", body, cookies)
    if cookie_name not in set_cookies:
        return {"error": "the login form's answer (%s) set no %s cookie" % (status, cookie_name)}
    return {"key": urllib.parse.unquote(set_cookies[cookie_name].strip('"'))}


def main():
    req = json.load(sys.stdin)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "openstack_dashboard.settings")
    import django
    from django.conf import settings

    with contextlib.redirect_stdout(sys.stderr):
        django.setup()
    engine = import_module(settings.SESSION_ENGINE)
    out = {"engine": settings.SESSION_ENGINE}
    if req["op"] == "served":
        made = served_session(req["url"], settings.SESSION_COOKIE_NAME)
        if "error" in made:
            sys.stdout.write(json.dumps(dict(out, **made)))
            return
        store = engine.SessionStore(session_key=made["key"])
        out.update(key=made["key"], value=store.get("auth_type"))
        if out["value"] is not None:
            store.set_expiry(int(req["ttl"]))
            store.save()
    elif req["op"] == "write":
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
