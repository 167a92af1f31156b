"""GET Horizon's login page from inside the container and print the HTTP status (Kolla's health check).

Needs http_status.py (prepended by runPython).
"""
import json
import sys


def main():
    print(http_status(json.load(sys.stdin)["url"]))


if __name__ == "__main__":
    main()
