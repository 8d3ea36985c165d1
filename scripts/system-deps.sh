#!/usr/bin/env bash
# Install the Debian packages the test suite drives for real (idempotent, root only).
set -euo pipefail
need=()
command -v chromium >/dev/null || need+=(chromium)
command -v redis-server >/dev/null || need+=(redis-server)
[ -x /usr/lib/postgresql/15/bin/pg_ctl ] || need+=(postgresql-15)
# WeasyPrint (contribution statements as PDF): Pango with HarfBuzz, and a font with the
# French narrow no-break space; poppler-utils (pdftotext, pdftoppm) reads them back in tests.
for pkg in libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core poppler-utils; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
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
