#!/bin/bash
# Prepares a Debian 12 machine for the sessionctl lab: the Docker engine, debootstrap, tmux and openssl installed,
# dockerd running. Idempotent; safe to run before every CI job.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
    echo "host-setup.sh: must run as root" >&2
    exit 1
fi

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
# ssh/ssh-keygen: not needed by the lab itself, but tests compare against the OpenSSH client.
command -v ssh >/dev/null 2>&1 || missing+=(openssh-client)
# tmux: the guided mode's scenarios drive the CLI in a real pseudo-terminal.
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
# openssl: the lab's TLS Redis gets its CA and certificates made at lab up.
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
# python3-jinja2: the unit tests render the deploy host's override with the real Jinja2 (no skip).
python3 -c 'import jinja2' >/dev/null 2>&1 || missing+=(python3-jinja2)

if [ "${#missing[@]}" -gt 0 ]; then
    # Package lists are fetched only when apt does not know the packages yet.
    for pkg in "${missing[@]}"; do
        if ! apt-cache show "$pkg" >/dev/null 2>&1; then
            apt-get update -q
            break
        fi
    done
    echo "host-setup.sh: installing ${missing[*]}" >&2
    install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"; }
    # Stale lists (404 on download) get one refresh and a second try.
    install || { apt-get update -q && install; }
fi

if ! docker info >/dev/null 2>&1; then
    if ! pidof dockerd >/dev/null 2>&1; then
        echo "host-setup.sh: starting dockerd" >&2
        setsid dockerd >/var/log/dockerd.log 2>&1 </dev/null &
    fi
    for _ in $(seq 60); do
        docker info >/dev/null 2>&1 && break
        sleep 1
    done
    if ! docker info >/dev/null 2>&1; then
        echo "host-setup.sh: dockerd did not become ready in 60 s; /var/log/dockerd.log:" >&2
        tail -n 30 /var/log/dockerd.log >&2 || true
        exit 1
    fi
fi
echo "host-setup.sh: docker $(docker version --format '{{.Server.Version}}') ready" >&2
