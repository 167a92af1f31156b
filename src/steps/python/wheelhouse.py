"""Install a client library offline from the wheels sent on stdin, out of a private folder made for this run.

Input (stdin JSON): {"wheels": {name: base64}, "pip": [pip install argv], "requirement": "django-redis>=5,<6"}
Output: {"code": pip's exit code, "output": the tail of what pip printed}.
The folder is new (mkdtemp: a name nobody could guess beforehand, mode 0700, owned by the user this
runs as, root) and removed afterwards, whatever pip does: nothing a container user prepared in /tmp
(a symlink in place of the folder, wheels of their own in it) is followed or installed.
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile


def main():
    req = json.load(sys.stdin)
    folder = tempfile.mkdtemp(prefix="sessionctl-wheelhouse-")
    try:
        for name, data in req["wheels"].items():
            fd = os.open(os.path.join(folder, os.path.basename(name)), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(base64.b64decode(data))
        argv = req["pip"] + ["--no-index", "--find-links", folder, req["requirement"]]
        res = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        return {"code": res.returncode, "output": res.stdout.decode("utf-8", "replace")[-4000:]}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.stdout.write(json.dumps(main()))
