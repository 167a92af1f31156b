"""Talk to memcached servers from inside the horizon container with a plain socket (no client library).

Input (stdin JSON): {"servers": [[host, port], ...], "key"?: a cache key to look up}
Output: {"servers": [{"server", "ok", "version"?, "error"?, "has"?}]}
"""
import json
import socket
import sys


def ask(host, port, command):
    with socket.create_connection((host, port), timeout=5) as conn:
        conn.sendall(command)
        data = b""
        while not (data.endswith(b"END\r\n") or data.startswith(b"VERSION") and data.endswith(b"\r\n")
                   or data.startswith(b"ERROR") or data.startswith(b"CLIENT_ERROR")):
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
        return data


def main():
    req = json.load(sys.stdin)
    out = []
    for host, port in req["servers"]:
        entry = {"server": "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)}
        try:
            entry["version"] = ask(host, port, b"version\r\n").decode().split()[1]
            entry["ok"] = True
            if req.get("key"):
                entry["has"] = ask(host, port, b"get " + req["key"].encode() + b"\r\n").startswith(b"VALUE ")
        except Exception as exc:  # noqa: BLE001 - reported per server
            entry["ok"] = False
            entry["error"] = "%s: %s" % (type(exc).__name__, exc)
        out.append(entry)
    sys.stdout.write(json.dumps({"servers": out}))


if __name__ == "__main__":
    main()
