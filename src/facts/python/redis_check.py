"""Connect to Redis from inside the horizon container with the container's redis-py: PING (and AUTH).

Input (stdin JSON): {url, password?, tls?: redis-py's ssl_* arguments (rediss:// only), sentinel?: {service, hosts: [[host, port]], password?},
                    cluster?: {nodes: [[host, port]]}, exists?: a key to look up}
A cluster answers for its masters together: each must say cluster_state ok with all 16384 slots
served, and the persistence reported is the weakest master's.
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
            if req["url"].startswith("rediss:"):
                # As the settings say it: TLS to the sentinels, and to the master they name.
                sentinel_kwargs.update(req["tls"], ssl=True)
                common["ssl"] = True
            db = int((req["url"].rsplit("/", 1)[-1] or "0")) if req["url"].count("/") >= 3 else 0
            sentinel = Sentinel([tuple(h) for h in s["hosts"]], sentinel_kwargs=sentinel_kwargs, **common)
            client = sentinel.master_for(s["service"], db=db, **common)
        elif req.get("cluster"):
            client = cluster_client(req, common)
            problem = cluster_problem(client)
            if problem:
                return {"ok": False, "error": problem}
        else:
            client = redis.Redis.from_url(req["url"], **common)
        client.ping()
        answer = dict(ok=True, **facts_of(client))
        if req.get("exists"):
            answer["exists"] = bool(client.exists(req["exists"]))
        return answer
    except Exception as exc:  # noqa: BLE001 - any failure is the answer
        return {"ok": False, "error": "%s: %s" % (type(exc).__name__, exc)}


ALL_SLOTS = 16384


def cluster_client(req, common):
    from redis.cluster import ClusterNode, RedisCluster
    if req["url"].startswith("rediss:"):
        common["ssl"] = True
    return RedisCluster(startup_nodes=[ClusterNode(h, p) for h, p in req["cluster"]["nodes"]], **common)


def cluster_problem(client):
    """Why the cluster cannot take sessions (a master not ok, or slots not served), or None."""
    for node in client.get_primaries():
        fields = node.redis_connection.execute_command("CLUSTER INFO")
        if not isinstance(fields, dict):  # redis-py parses it; a raw answer is "name:value" lines
            text = fields.decode() if isinstance(fields, bytes) else fields
            fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        if fields.get("cluster_state") != "ok" or int(fields.get("cluster_slots_ok", 0)) != ALL_SLOTS:
            return "cluster node %s:%s says cluster_state %s with %s of %d slots ok" % (
                node.host, node.port, fields.get("cluster_state"), fields.get("cluster_slots_ok"), ALL_SLOTS)
    return None


if __name__ == "__main__":
    sys.stdout.write(json.dumps(main()))
