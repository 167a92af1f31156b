"""The sessions migration (`manage.py migrate sessions`), run once per switch, before any restart.

Runs in the horizon container with Horizon's settings resolved as the next start will see them: the
patched settings file is served in place of the one Kolla copies in (overlay.py, prepended by
runPython), so nothing is written but the database table. Prints one JSON document:
{"migrated": true, "tables": [...]} or {"error": "..."}.
"""
import contextlib
import json
import os
import sys


def main():
    request = json.load(sys.stdin)
    overlay_error = overlay_kolla_files(request.get("overlay") or {})  # noqa: F821 - from overlay.py
    if overlay_error:
        print(json.dumps({"error": overlay_error}))
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "openstack_dashboard.settings")
    try:
        import django
        from django.core.management import call_command
        from django.db import connection

        with contextlib.redirect_stdout(sys.stderr):
            django.setup()
            call_command("migrate", "sessions", interactive=False, verbosity=1)
        print(json.dumps({"migrated": True, "tables": sorted(connection.introspection.table_names())}))
    except Exception as exc:  # noqa: BLE001 - reported, the caller decides
        print(json.dumps({"error": "%s: %s" % (type(exc).__name__, exc)}))


if __name__ == "__main__":
    main()
