#!/usr/bin/env bash
# Install the Debian packages the test suite drives for real (idempotent, root only).
set -euo pipefail
need=()
command -v chromium >/dev/null || need+=(chromium)
command -v redis-server >/dev/null || need+=(redis-server)
[ -x /usr/lib/postgresql/15/bin/pg_ctl ] || need+=(postgresql-15)
locale -a 2>/dev/null | grep -qi '^fr_FR.utf8$' || true
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "Missing packages: ${need[*]} (run as root or install them)" >&2
    exit 1
  fi
  echo "Installing ${need[*]} (apt)…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
