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
