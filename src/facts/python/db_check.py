"""Check a session database from inside the horizon container with the container's own driver.

Input (stdin JSON): {engine: mysql|postgresql, host, port, name, user, password?, session_key?}
Output: {ok, driver, server, can_create, exists?} or {ok: true, tcp_only: true} when no driver is
importable yet (only the TCP port is tried), or {ok: false, error}.
"""
import json
import socket
import sys


def driver(engine):
    if engine == "mysql":
        try:
            import MySQLdb
            return "MySQLdb", MySQLdb
        except ImportError:
            pass
        try:
            import pymysql
            return "pymysql", pymysql
        except ImportError:
            return None, None
    try:
        import psycopg2
        return "psycopg2", psycopg2
    except ImportError:
        return None, None


def connect(req, name, mod):
    if req["engine"] == "mysql":
        kwargs = {"host": req["host"], "port": req["port"], "user": req["user"], "connect_timeout": 5}
        kwargs["db" if name == "MySQLdb" else "database"] = req["name"]
        if req.get("password"):
            kwargs["passwd" if name == "MySQLdb" else "password"] = req["password"]
        return mod.connect(**kwargs)
    return mod.connect(host=req["host"], port=req["port"], user=req["user"], dbname=req["name"],
                       password=req.get("password") or None, connect_timeout=5)


def main():
    req = json.load(sys.stdin)
    name, mod = driver(req["engine"])
    if mod is None:
        with socket.create_connection((req["host"], req["port"]), timeout=5):
            return {"ok": True, "tcp_only": True, "driver": None}
    conn = connect(req, name, mod)
    try:
        cur = conn.cursor()
        if req["engine"] == "mysql":
            cur.execute("SELECT VERSION()")
            server = "MySQL/MariaDB " + cur.fetchone()[0]
            cur.execute("SHOW GRANTS")
            grants = " ".join(row[0] for row in cur.fetchall()).upper()
            can_create = "ALL PRIVILEGES" in grants or "CREATE" in grants
        else:
            cur.execute("SELECT version()")
            server = cur.fetchone()[0].split(" on ")[0]
            cur.execute("SELECT has_schema_privilege(current_user, 'public', 'CREATE')")
            can_create = bool(cur.fetchone()[0])
        answer = {"ok": True, "driver": name, "server": server, "can_create": can_create}
        if req.get("session_key"):
            cur.execute("SELECT COUNT(*) FROM django_session WHERE session_key = %s", (req["session_key"],))
            answer["exists"] = cur.fetchone()[0] == 1
        return answer
    finally:
        conn.close()


if __name__ == "__main__":
    try:
        result = main()
    except Exception as exc:  # noqa: BLE001 - any failure is the answer
        result = {"ok": False, "error": "%s: %s" % (type(exc).__name__, exc)}
    sys.stdout.write(json.dumps(result))
