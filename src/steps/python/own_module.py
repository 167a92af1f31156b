"""Install one of sessionctl's own modules into the interpreter Horizon runs on, the way pip installs a wheel.

Input (stdin JSON): {module, version, source, break_system_packages}
Output: {"version": "..."} or {"error": "..."}.
The wheel (the module and its dist-info) is made in a private temporary folder, and pip installs it
offline without dependencies: pip records it, so `pip show` and `pip uninstall` know it.
"""
import base64
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile


def record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (name, digest, len(data))


def wheel_files(module, version, source):
    info = "%s-%s.dist-info" % (module, version)
    files = {
        module + ".py": source,
        info + "/METADATA": ("Metadata-Version: 2.1\nName: %s\nVersion: %s\nSummary: installed by sessionctl\n" % (module, version)).encode(),
        info + "/WHEEL": b"Wheel-Version: 1.0\nGenerator: sessionctl\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    lines = [record_line(name, data) for name, data in files.items()] + [info + "/RECORD,,"]
    files[info + "/RECORD"] = ("\n".join(lines) + "\n").encode()
    return files


def main():
    req = json.load(sys.stdin)
    module, version = req["module"], req["version"]
    with tempfile.TemporaryDirectory(prefix="sessionctl-") as tmp:
        wheel = os.path.join(tmp, "%s-%s-py3-none-any.whl" % (module, version))
        with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in wheel_files(module, version, req["source"].encode()).items():
                z.writestr(name, data)
        argv = [sys.executable, "-m", "pip", "install", "--no-input", "--disable-pip-version-check",
                "--no-index", "--no-deps", "--force-reinstall", wheel]
        if req.get("break_system_packages"):
            argv.append("--break-system-packages")
        res = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if res.returncode != 0:
            return {"error": "pip install of %s failed (exit %d): %s" % (module, res.returncode, res.stdout.decode("utf-8", "replace")[-2000:])}
    import importlib
    importlib.invalidate_caches()
    try:
        mod = importlib.import_module(module)
    except Exception as exc:  # noqa: BLE001 - the answer says why
        return {"error": "%s does not import after its install: %s: %s" % (module, type(exc).__name__, exc)}
    return {"version": getattr(mod, "__version__", "")}


if __name__ == "__main__":
    sys.stdout.write(json.dumps(main()))
