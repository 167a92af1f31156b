"""Connect to Redis from inside the horizon container with the container's redis-py: PING (and AUTH).

Input (stdin JSON): {url, password?, tls?: redis-py's ssl_* arguments, sentinel?: {service, hosts: [[host, port]], password?},
                    exists?: a key to look up}
Output: {"ok": true, "server": "redis"|"valkey", "version": "7.0.15", "role": "master",
         "persistence": {"aof": bool, "rdb": "<save points>" ("": none) | null, "hidden"?: why null}}
or {"ok": false, "error": "..."}. Needs redis_info.py (prepended).
"""
import json
import sys


def main():
    req = json.load(sys.stdin)
    try:
        import redis
    except ImportError as exc:
        return {"ok": False, "error": "redis-py is not importable in the container: %s" % exc}
    common = {"socket_connect_timeout": 5, "socket_timeout": 5}
    if req.get("password"):
        common["password"] = req["password"]
    # Exactly the arguments the settings give django-redis, so the check proves what Horizon will do.
    common.update(req.get("tls") or {})
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
        answer = dict(ok=True, persistence=persistence(client), **server_facts(client))
        if req.get("exists"):
            answer["exists"] = bool(client.exists(req["exists"]))
        return answer
    except Exception as exc:  # noqa: BLE001 - any failure is the answer
        return {"ok": False, "error": "%s: %s" % (type(exc).__name__, exc)}


if __name__ == "__main__":
    sys.stdout.write(json.dumps(main()))
