"""Connect to Redis from inside the horizon container with the container's redis-py: PING (and AUTH).

Input (stdin JSON): {url, password?, tls_ca?, sentinel?: {service, hosts: [[host, port]], password?},
                    exists?: a key to look up}
Output: {"ok": true, "server": "redis"|"valkey", "version": "7.0.15", "role": "master",
         "persistence": {"aof": bool, "rdb": "<save points>" ("": none) | null, "hidden"?: why null}}
or {"ok": false, "error": "..."}. The server says which it is: Valkey reports server_name (and its
own version beside the Redis version it is compatible with).
"""
import json
import sys


def persistence(client):
    """Whether sessions outlive a restart of the server: AOF from INFO (any client may read it), the
    RDB save points from CONFIG GET, which ACLs or a renamed CONFIG may refuse."""
    out = {"aof": bool(client.info("persistence").get("aof_enabled"))}
    try:
        out["rdb"] = str(client.config_get("save").get("save", ""))
    except Exception as exc:  # noqa: BLE001 - refused: said, not guessed
        out["rdb"] = None
        out["hidden"] = "%s: %s" % (type(exc).__name__, exc)
    return out


def main():
    req = json.load(sys.stdin)
    try:
        import redis
    except ImportError as exc:
        return {"ok": False, "error": "redis-py is not importable in the container: %s" % exc}
    common = {"socket_connect_timeout": 5, "socket_timeout": 5}
    if req.get("password"):
        common["password"] = req["password"]
    if req.get("tls_ca"):
        common["ssl_ca_certs"] = req["tls_ca"]
    try:
        if req.get("sentinel"):
            from redis.sentinel import Sentinel
            s = req["sentinel"]
            sentinel_kwargs = {"socket_connect_timeout": 5, "socket_timeout": 5}
            if s.get("password"):
                sentinel_kwargs["password"] = s["password"]
            db = int((req["url"].rsplit("/", 1)[-1] or "0")) if req["url"].count("/") >= 3 else 0
            sentinel = Sentinel([tuple(h) for h in s["hosts"]], sentinel_kwargs=sentinel_kwargs, **common)
            client = sentinel.master_for(s["service"], db=db, **common)
        else:
            client = redis.Redis.from_url(req["url"], **common)
        client.ping()
        info = client.info("server")
        role = client.info("replication").get("role")
        valkey = info.get("server_name") == "valkey" or "valkey_version" in info
        answer = {"ok": True, "server": "valkey" if valkey else "redis", "role": role,
                  "version": info.get("valkey_version") or info.get("redis_version"),
                  "persistence": persistence(client)}
        if req.get("exists"):
            answer["exists"] = bool(client.exists(req["exists"]))
        return answer
    except Exception as exc:  # noqa: BLE001 - any failure is the answer
        return {"ok": False, "error": "%s: %s" % (type(exc).__name__, exc)}


if __name__ == "__main__":
    sys.stdout.write(json.dumps(main()))
