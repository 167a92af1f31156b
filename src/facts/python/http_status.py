"""GET a URL (Horizon's login page, as Kolla's health check does) and say what it answered.

A library: prepended by runPython to login_page.py and probe.py.
"""


def http_status(url, timeout=10):
    """"200", another status code, or "<exception>: <message>": the caller only needs "not 200, and why"."""
    # Imported here: a tenth of a second of every probe that asks no page (a re-run's facts).
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return str(resp.status)
    except urllib.error.HTTPError as exc:
        return str(exc.code)
    except Exception as exc:  # noqa: BLE001
        return "%s: %s" % (type(exc).__name__, exc)
