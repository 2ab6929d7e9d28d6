#!/usr/bin/env bash
# Start a throwaway PostgreSQL + PostGIS cluster on 127.0.0.1 for podgeo's tests and benchmarks.
#
#   eval "$(bash scripts/start-postgis.sh)"        # sets PODGEO_TEST_PG_URL and PODGEO_PG_DIR
#   bash scripts/start-postgis.sh --stop "$PODGEO_PG_DIR"
#
# Installs postgresql-15 and postgresql-15-postgis-3 from Debian's packages when they are missing
# (as root; idempotent), initdb's a cluster in a new temporary folder owned by the `postgres` user
# when run as root (the server refuses to run as root), starts it on a free port with trust auth on
# 127.0.0.1 only, creates database `podgeo` with the postgis extension, and prints shell lines:
#   PODGEO_TEST_PG_URL=postgresql://podgeo@127.0.0.1:PORT/podgeo
#   PODGEO_PG_DIR=/tmp/podgeo-pg.XXXXXX
# The URL is also written to $PODGEO_PG_DIR/url. Progress goes to stderr.
# --durable keeps fsync on (benchmarks); by default fsync is off: the cluster is thrown away.
set -euo pipefail

PG_VERSION="${PODGEO_PG_VERSION:-15}"
BIN="/usr/lib/postgresql/$PG_VERSION/bin"
say() { echo "start-postgis: $*" >&2; }

as_owner() {  # run a command as the cluster's owner
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ "${1:-}" = "--stop" ]; then
    dir="${2:?usage: start-postgis.sh --stop DIR}"
    as_owner "$BIN/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
    rm -rf "$dir"
    exit 0
fi
fsync=off
if [ "${1:-}" = "--durable" ]; then fsync=on; fi

if [ ! -x "$BIN/initdb" ] || [ ! -f "/usr/share/postgresql/$PG_VERSION/extension/postgis.control" ]; then
    if [ "$(id -u)" != 0 ]; then
        say "PostgreSQL $PG_VERSION + PostGIS are not installed: as root run apt-get install -y postgresql-$PG_VERSION postgresql-$PG_VERSION-postgis-3"
        exit 1
    fi
    say "installing postgresql-$PG_VERSION and postgresql-$PG_VERSION-postgis-3 from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -q --no-install-recommends "postgresql-$PG_VERSION" "postgresql-$PG_VERSION-postgis-3" >&2; then
        apt-get update -q >&2
        apt-get install -y -q --no-install-recommends "postgresql-$PG_VERSION" "postgresql-$PG_VERSION-postgis-3" >&2
    fi
fi

dir="$(mktemp -d "${TMPDIR:-/tmp}/podgeo-pg.XXXXXX")"
if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir "$dir" --shell /usr/sbin/nologin postgres
    chown postgres: "$dir"
fi
chmod 700 "$dir"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

as_owner "$BIN/initdb" -D "$dir/data" -U podgeo -A trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
as_owner "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c fsync=$fsync \
        -c synchronous_commit=$fsync -c full_page_writes=$fsync -c max_connections=200 -c shared_buffers=256MB" >&2 \
    || { cat "$dir/server.log" >&2; exit 1; }

psql=("$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U podgeo)
"${psql[@]}" -d postgres -c "create database podgeo" >&2
"${psql[@]}" -d podgeo -c "create extension postgis" >&2

url="postgresql://podgeo@127.0.0.1:$port/podgeo"
echo "$url" >"$dir/url"
chmod 755 "$dir"  # tests running as another user may read the url file
say "PostGIS $("${psql[@]}" -d podgeo -tAc 'select postgis_lib_version()') on $url (data in $dir; stop with: bash scripts/start-postgis.sh --stop $dir)"
echo "PODGEO_TEST_PG_URL=$url"
echo "PODGEO_PG_DIR=$dir"
