"""Redis Cluster for django-redis, installed into the horizon container by sessionctl.

django-redis has no cluster client; redis-py (>= 4.1) has redis.cluster.RedisCluster, which routes
every single-key command (GET, SET NX/PX, DEL, EXISTS, EXPIRE, PTTL: all Django's cache sessions
use) to the master of the key's slot. Multi-key reads that django-redis issues (get_many -> MGET)
are split by slot here, so the session carry-over works across slots too.

Settings (written by sessionctl):
    DJANGO_REDIS_CONNECTION_FACTORY = "sessionctl_redis_cluster.ClusterConnectionFactory"
    CACHES["default"]["LOCATION"] = "redis://<a node>/0" (rediss:// for TLS; a cluster has only db 0)
    CACHES["default"]["OPTIONS"]["CLUSTER_NODES"] = ["host:port", ...]  (the startup nodes)
"""
from urllib.parse import urlparse

from django.core.exceptions import ImproperlyConfigured
from django_redis.pool import ConnectionFactory

__version__ = "1.0.0"
MIN_REDIS_PY = (4, 1)


def _redis_cluster_class():
    import redis
    version = tuple(int(p) for p in redis.__version__.split(".")[:2] if p.isdigit())
    if version < MIN_REDIS_PY:
        raise ImproperlyConfigured("Redis Cluster needs redis-py >= 4.1 in the container; it has %s" % redis.__version__)
    from redis.cluster import RedisCluster

    class SessionCluster(RedisCluster):
        """RedisCluster whose MGET spans slots (one MGET per slot, answers in the keys' order)."""

        def mget(self, keys, *args):
            return self.mget_nonatomic(keys, *args)

    return SessionCluster


def _node(text):
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise ImproperlyConfigured("CLUSTER_NODES: %r is not host:port" % (text,))
    return host.strip("[]"), int(port)


class ClusterConnectionFactory(ConnectionFactory):
    """One RedisCluster per LOCATION and process (it keeps its own pool per node)."""

    _clusters = {}

    def connect(self, url):
        client = self._clusters.get(url)
        if client is None:
            client = self._clusters[url] = self._cluster(url)
        return client

    def _cluster(self, url):
        from redis.cluster import ClusterNode
        parsed = urlparse(url)
        if parsed.path not in ("", "/", "/0"):
            raise ImproperlyConfigured("a Redis Cluster has only database 0, LOCATION says %s" % url)
        nodes = self.options.get("CLUSTER_NODES") or ["%s:%s" % (parsed.hostname, parsed.port or 6379)]
        kwargs = dict(self.pool_cls_kwargs)
        if self.options.get("PASSWORD"):
            kwargs["password"] = self.options["PASSWORD"]
        for option, arg in (("SOCKET_TIMEOUT", "socket_timeout"), ("SOCKET_CONNECT_TIMEOUT", "socket_connect_timeout")):
            if self.options.get(option):
                kwargs[arg] = self.options[option]
        if parsed.scheme == "rediss":
            kwargs["ssl"] = True
        cls = _redis_cluster_class()
        return cls(startup_nodes=[ClusterNode(*_node(n)) for n in nodes], **kwargs)

    def disconnect(self, connection):
        connection.disconnect_connection_pools()
