#!/bin/bash
# usage: verify.sh OUTDIR IMAGE
# Installs build.sh's wheels for real inside IMAGE (Debian's Horizon): from the PEP 503 index
# served over HTTP on the docker bridge, and from the wheelhouse with --no-index.
# pip ignores a plain-HTTP index unless it is on loopback or named by --trusted-host.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 OUTDIR IMAGE" >&2; exit 2; }
out=$(cd "$1" && pwd); img=$2
srv=$(docker run -d --rm -v "$out:/srv:ro" --entrypoint python3 "$img" -m http.server -d /srv 8000)
trap 'docker rm -f "$srv" >/dev/null' EXIT
ip=$(docker inspect -f '{{.NetworkSettings.IPAddress}}' "$srv")

docker run --rm -i -v "$out/wheels:/wheels:ro" -e INDEX="http://$ip:8000/simple/" \
  -e HOST="$ip" --entrypoint bash "$img" -s <<'EOF'
set -euo pipefail
# Debian's Horizon image has no pip; Kolla's has one, so bring Debian's.
python3 -m pip --version >/dev/null 2>&1 ||
  { apt-get -qq update && apt-get -qq install -y python3-pip >/dev/null; }
pip() { echo "+ pip $*" >&2; python3 -m pip --disable-pip-version-check --no-cache-dir "$@"; }
py() { python3 -c "$1"; }
for i in $(seq 50); do py "import urllib.request as u; u.urlopen('$INDEX')" 2>/dev/null && break; sleep 0.1; done
echo "python $(py 'import sys; print(sys.version.split()[0])'), Django $(py 'import django; print(django.__version__)'), redis $(py 'import redis; print(redis.__version__)')"

check() {  # DIST MODULE [VERSION]: module's VERSION = pip's metadata (= VERSION), clean uninstall
  local v shown; v=$(py "import $2; print('.'.join(map(str, $2.VERSION[:3])))"); shown=$(pip show "$1")
  grep -E '^(Name|Version|Location|Requires):' <<<"$shown"
  grep -qx "Version: $v" <<<"$shown" || { echo "FAIL: $2 $v, pip disagrees"; exit 1; }
  [ "$v" = "${3:-$v}" ] || { echo "FAIL: $2 imports as $v, expected $3"; exit 1; }
  pip uninstall --break-system-packages -y "$1"
  ! py "import $2" 2>/dev/null || { echo "FAIL: $2 still importable"; exit 1; }
  echo "OK $1 $v"
}

pip install --break-system-packages --index-url "$INDEX" --trusted-host "$HOST" 'django-redis>=5,<6'
best=$(py 'import django_redis; print(django_redis.__version__)')
check django-redis django_redis
pip install --break-system-packages --index-url "$INDEX" --trusted-host "$HOST" django-redis  # resolver must skip 7.x
check django-redis django_redis "$best"
pip install --break-system-packages --no-index --find-links /wheels django-redis==5.2.0
check django-redis django_redis 5.2.0

pip install --break-system-packages --index-url "$INDEX" --trusted-host "$HOST" PyMySQL
py 'import pymysql; pymysql.install_as_MySQLdb(); import MySQLdb; print("MySQLdb is", MySQLdb.__name__)'
check PyMySQL pymysql
pip install --break-system-packages --no-index --find-links /wheels PyMySQL==1.0.2
check PyMySQL pymysql 1.0.2
EOF
