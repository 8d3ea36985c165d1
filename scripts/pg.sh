#!/usr/bin/env bash
# The project's private PostgreSQL 15: a data directory under .cache/, loopback only.
#   scripts/pg.sh up     install if needed, init once, start, create the databases
#   scripts/pg.sh down   stop
#   scripts/pg.sh url    print the URL of the test database
set -euo pipefail
cd "$(dirname "$0")/.."
PGPORT="${VIGIE_PG_PORT:-54329}"
BASE="${VIGIE_PG_DIR:-/var/tmp/vigie-pg-$(echo "$PWD" | md5sum | cut -c1-8)}"
DATA="$BASE/data"
BIN=/usr/lib/postgresql/15/bin
LOG="$BASE/server.log"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

install() {
  if [ ! -x "$BIN/pg_ctl" ]; then
    echo "Installing PostgreSQL 15 (apt)…"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null
  fi
}

up() {
  install
  mkdir -p "$BASE"
  [ "$(id -u)" = 0 ] && chown postgres: "$BASE"
  if [ ! -f "$DATA/PG_VERSION" ]; then
    as_pg "$BIN/initdb" -D "$DATA" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  if ! as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    as_pg "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 start \
      -o "-c listen_addresses=127.0.0.1 -p $PGPORT -c unix_socket_directories=$BASE -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >/dev/null
  fi
  for db in vigie vigie_test; do
    if ! psql -h 127.0.0.1 -p "$PGPORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$db'" | grep -q 1; then
      psql -h 127.0.0.1 -p "$PGPORT" -U postgres -qc "CREATE DATABASE $db" >/dev/null
    fi
  done
  echo "PostgreSQL 15 ready on 127.0.0.1:$PGPORT (data: $DATA)"
}

down() {
  if [ -f "$DATA/PG_VERSION" ] && as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    as_pg "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
    echo "PostgreSQL stopped."
  fi
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  url) echo "postgresql://postgres@127.0.0.1:$PGPORT/vigie_test" ;;
  *) echo "usage: $0 up|down|url" >&2; exit 2 ;;
esac
