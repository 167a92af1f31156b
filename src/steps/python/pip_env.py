"""Run pip with settings that must not be on any command line.

Input (stdin JSON): {"PIP_INDEX_URL": "...", "PIP_PROXY": "..."}, pip's own environment variables.
Arguments: pip's arguments (install ...). A mirror URL or proxy may carry credentials: given as
arguments they would show in `ps` and in sudo's log; in the environment only this process and
root see them.
"""
import json
import os
import sys

os.environ.update(json.load(sys.stdin))
os.execv(sys.executable, [sys.executable, "-m", "pip"] + sys.argv[1:])
