#!/usr/bin/env bash
# The project's private Redis: loopback only, its own port and data directory.
#   scripts/redis.sh up | down | url
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${VIGIE_REDIS_PORT:-63790}"
BASE="${VIGIE_REDIS_DIR:-/var/tmp/vigie-redis-$(echo "$PWD" | md5sum | cut -c1-8)}"

up() {
  if ! command -v redis-server >/dev/null; then
    echo "Installing redis-server (apt)…"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends redis-server >/dev/null
  fi
  mkdir -p "$BASE"
  if redis-cli -p "$PORT" ping >/dev/null 2>&1; then
    echo "Redis already up on 127.0.0.1:$PORT"; return
  fi
  redis-server --bind 127.0.0.1 --port "$PORT" --dir "$BASE" --daemonize yes \
    --pidfile "$BASE/redis.pid" --logfile "$BASE/redis.log" --save "" --appendonly no \
    --protected-mode yes >/dev/null
  for _ in $(seq 50); do
    redis-cli -p "$PORT" ping >/dev/null 2>&1 && { echo "Redis ready on 127.0.0.1:$PORT"; return; }
    sleep 0.1
  done
  echo "Redis did not start; see $BASE/redis.log" >&2; exit 1
}

down() {
  if redis-cli -p "$PORT" ping >/dev/null 2>&1; then
    redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true
    echo "Redis stopped."
  fi
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  url) echo "redis://127.0.0.1:$PORT" ;;
  *) echo "usage: $0 up|down|url" >&2; exit 2 ;;
esac
