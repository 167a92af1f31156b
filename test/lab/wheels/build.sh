#!/bin/bash
# usage: build.sh OUTDIR
# Wheels repacked from Debian's .debs (no PyPI here) + a PEP 503 index:
#   OUTDIR/wheels/*.whl   (pip --no-index --find-links OUTDIR/wheels)
#   OUTDIR/simple/        (python3 -m http.server -d OUTDIR; pip --index-url http://HOST:PORT/simple/)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
mkdir -p "$1"; out=$(cd "$1" && pwd)

# package/suite; sid carries the newest django-redis, so pip has a version to reject; bullseye's
# redis-py 3.5 is older than the Redis Cluster client needs (>= 4.1), for the plan to refuse
debs="python3-django-redis/bookworm python3-django-redis/trixie python3-django-redis/sid
      python3-pymysql/bookworm python3-pymysql/trixie python3-redis/bullseye"
key=$(echo $debs | cat - "$here/build.sh" "$here/repack.py" | sha256sum | cut -c1-16)
stamp=$out/.stamp
if [ "$(head -1 "$stamp" 2>/dev/null)" = "$key" ] &&
   (cd "$out" && tail -n +2 .stamp | sha256sum --check --quiet --strict >/dev/null 2>&1); then
  echo "wheels: cached in $out"; exit 0
fi

start=$SECONDS
# Any trixie base the lab already made will do (tags are content hashes); else debootstrap one.
base=${WHEELS_BASE_IMAGE:-$(docker images -q --filter 'reference=sessionctl-lab/base:trixie*' | head -1)}
base=${base:-sessionctl-wheels/base:trixie}
if ! docker image inspect "$base" >/dev/null 2>&1; then
  root=$(mktemp -d)
  debootstrap --variant=minbase trixie "$root" http://deb.debian.org/debian >/dev/null
  tar -C "$root" -c . | docker import - "$base" >/dev/null
  rm -rf "$root"
fi

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/debs"
# .debs are Architecture: all, so one trixie container fetches every suite's build.
# Check-Valid-Until=false: the mirror may serve a frozen sid whose Release file has expired.
docker run --rm -v "$tmp/debs:/debs" -w /debs "$base" sh -ec "
  rm -f /etc/apt/sources.list.d/*
  printf 'deb http://deb.debian.org/debian %s main\n' bullseye bookworm trixie sid > /etc/apt/sources.list
  apt-get -qq -o Acquire::Check-Valid-Until=false update
  apt-get -qq -o APT::Sandbox::User=root download $(echo $debs)"
python3 "$here/repack.py" "$tmp/out" "$tmp"/debs/*.deb

rm -rf "$out/wheels" "$out/simple"
mv "$tmp/out/wheels" "$tmp/out/simple" "$out/"
{ echo "$key"; cd "$out" && find wheels simple -type f | sort | xargs sha256sum; } > "$stamp"
echo "wheels: built in $out ($((SECONDS - start)) s)"
