"""What a Redis-protocol server says about itself (a library, prepended to scripts): which server
it is and whether it keeps data across its restart. Takes a connected redis-py client."""


def server_facts(client):
    """{"server": "redis"|"valkey", "version", "role"}: Valkey names itself (server_name, and its
    own version beside the Redis version it is compatible with)."""
    info = client.info("server")
    valkey = info.get("server_name") == "valkey" or "valkey_version" in info
    return {"server": "valkey" if valkey else "redis", "version": info.get("valkey_version") or info.get("redis_version"),
            "role": client.info("replication").get("role")}


def persistence(client):
    """AOF from INFO (any client may read it); the RDB save points from CONFIG GET, which ACLs or
    a renamed CONFIG may refuse: then "rdb" is null and "hidden" says why."""
    out = {"aof": bool(client.info("persistence").get("aof_enabled"))}
    try:
        out["rdb"] = str(client.config_get("save").get("save", ""))
    except Exception as exc:  # noqa: BLE001 - refused: said, not guessed
        out["rdb"] = None
        out["hidden"] = "%s: %s" % (type(exc).__name__, exc)
    return out


def masters_of(client):
    """The servers to ask: every master of a Redis Cluster (a key lives on one only), or the one server."""
    primaries = getattr(client, "get_primaries", None)
    return [node.redis_connection for node in primaries()] if primaries else [client]


def strength(p):
    """Order of persistence: kept (2), unknown (1), lost (0)."""
    return 2 if p["aof"] or p["rdb"] else 0 if p["rdb"] == "" else 1


def facts_of(client):
    """What the server is and whether it keeps sessions; for a cluster, its first master's facts,
    the weakest master's persistence (sessions on it are what a restart loses) and "masters"."""
    servers = masters_of(client)
    facts = [(server_facts(s), persistence(s)) for s in servers]
    out = dict(persistence=min((p for _, p in facts), key=strength), **facts[0][0])
    if servers[0] is not client:
        out["masters"] = len(servers)
    return out
