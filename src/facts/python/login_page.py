"""GET Horizon's login page from inside the container and print the HTTP status (Kolla's health check)."""
import json
import sys
import urllib.error
import urllib.request


def main():
    url = json.load(sys.stdin)["url"]
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            print(resp.status)
    except urllib.error.HTTPError as exc:
        print(exc.code)
    except Exception as exc:  # noqa: BLE001 - the caller only needs "not 200, and why"
        print("%s: %s" % (type(exc).__name__, exc))


if __name__ == "__main__":
    main()
