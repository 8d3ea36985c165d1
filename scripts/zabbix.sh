#!/usr/bin/env bash
# A development Zabbix 6.0 on loopback, with the demo estate provisioned in it.
#   scripts/zabbix.sh up [--no-provision]     install if needed, create the database, start, provision
#   scripts/zabbix.sh down                    stop the server and the frontend (not PostgreSQL)
#   scripts/zabbix.sh reset [--no-provision]  recreate the database from the pristine template, then up
#   scripts/zabbix.sh status                  exit 0 if the API answers
#   scripts/zabbix.sh env                     print the env file for Vigie (path on stderr)
#   scripts/zabbix.sh send HOST KEY VALUE     push a value to a trapper item (zabbix_sender)
#   scripts/zabbix.sh reload                  make the server reread its configuration now
#   scripts/zabbix.sh provision [ARGS…]       run scripts/zabbix_provision.py (e.g. --scale 300 --items 50000)
# Everything listens on 127.0.0.1: frontend/API on VIGIE_ZABBIX_PORT (8089), trapper on
# VIGIE_ZABBIX_SERVER_PORT (10151); database "zabbix" in the project's PostgreSQL (scripts/pg.sh),
# files under VIGIE_ZABBIX_DIR (/var/tmp/vigie-zabbix). Default Admin/zabbix account kept.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT="${VIGIE_ZABBIX_PORT:-8089}"
SERVER_PORT="${VIGIE_ZABBIX_SERVER_PORT:-10151}"
PGPORT="${VIGIE_PG_PORT:-54329}"
BASE="${VIGIE_ZABBIX_DIR:-/var/tmp/vigie-zabbix}"
DB=zabbix
TEMPLATE=zabbix_pristine
URL="http://127.0.0.1:$PORT/api_jsonrpc.php"
ENV_FILE="$BASE/vigie.env"
VALUES_FILE="$BASE/first-values.txt"
STAMP_FILE="$BASE/estate.stamp"  # estate_stamp of the last provisioning
SERVER_CONF="$BASE/zabbix_server.conf"
SERVER_PID="$BASE/run/zabbix_server.pid"
SERVER_LOG="$BASE/log/zabbix_server.log"
PHP_PID="$BASE/run/php.pid"
PHP_LOG="$BASE/log/php.log"
FRONTEND_CONF=/etc/zabbix/zabbix.conf.php  # Debian's frontend reads this path only
SCHEMA_DIR=/usr/share/zabbix-server-pgsql
PYTHON=.venv/bin/python
PACKAGES=(zabbix-server-pgsql zabbix-frontend-php php8.2-cli php8.2-cgi php-pgsql zabbix-agent locales)

log() { echo "zabbix: $*" >&2; }
die() { log "$*"; exit 1; }
psql_() { PGOPTIONS='-c client_min_messages=warning' psql -h 127.0.0.1 -p "$PGPORT" -U postgres -v ON_ERROR_STOP=1 -qX "$@"; }
sql() { psql_ -d postgres -tAc "$1"; }
db_exists() { [ "$(sql "SELECT 1 FROM pg_database WHERE datname='$1'")" = 1 ]; }
zabbix_version() { dpkg-query -W -f '${Version}' zabbix-server-pgsql 2>/dev/null; }

# -- packages and locale --------------------------------------------------------------------------

install_packages() {
  local missing=()
  for pkg in "${PACKAGES[@]}"; do
    dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || die "missing packages (${missing[*]}): run as root"
    log "installing ${missing[*]} (apt)…"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # php8.2-cgi satisfies php8.2's web-SAPI dependency without pulling apache2.
    apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null
  fi
  if ! locale -a 2>/dev/null | grep -qi '^en_US\.utf-\?8$'; then
    log "generating the en_US.UTF-8 locale (the frontend needs it)…"
    sed -i 's/^# *\(en_US\.UTF-8 UTF-8\)/\1/' /etc/locale.gen
    grep -q '^en_US\.UTF-8 UTF-8' /etc/locale.gen || echo 'en_US.UTF-8 UTF-8' >>/etc/locale.gen
    locale-gen >/dev/null
  fi
}

# -- database -------------------------------------------------------------------------------------

# The pristine template: the package's schema, images and data, loaded once (13-38 s), kept as a
# template database and as a dump under $BASE (restored in ~2 s if the PostgreSQL cluster is new).
ensure_template() {
  local version dump
  version="$(zabbix_version)"
  dump="$BASE/pristine-${version//[^A-Za-z0-9.+-]/_}.dump"
  if db_exists "$TEMPLATE"; then
    if [ "$(sql "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname='$TEMPLATE'")" = "$version" ]; then
      return
    fi
    log "template database built for another Zabbix version: rebuilding it"
    sql "UPDATE pg_database SET datistemplate = false WHERE datname = '$TEMPLATE'" >/dev/null
    sql "DROP DATABASE $TEMPLATE WITH (FORCE)" >/dev/null
  fi
  sql "DROP DATABASE IF EXISTS ${TEMPLATE}_loading WITH (FORCE)" >/dev/null
  sql "CREATE DATABASE ${TEMPLATE}_loading ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8' TEMPLATE template0" >/dev/null
  if [ -s "$dump" ]; then
    log "restoring the pristine Zabbix database from $dump…"
    pg_restore -h 127.0.0.1 -p "$PGPORT" -U postgres -d "${TEMPLATE}_loading" --no-owner "$dump"
  else
    log "loading Zabbix $version schema, images and data (once; about 30 s)…"
    for part in schema images data; do
      gunzip -c "$SCHEMA_DIR/$part.sql.gz" | psql_ -d "${TEMPLATE}_loading" >/dev/null
    done
    pg_dump -h 127.0.0.1 -p "$PGPORT" -U postgres -Fc -f "$dump.tmp" "${TEMPLATE}_loading"
    mv "$dump.tmp" "$dump"
  fi
  sql "ALTER DATABASE ${TEMPLATE}_loading RENAME TO $TEMPLATE" >/dev/null
  sql "COMMENT ON DATABASE $TEMPLATE IS '$version'" >/dev/null
  sql "UPDATE pg_database SET datistemplate = true WHERE datname = '$TEMPLATE'" >/dev/null
}

ensure_database() {
  scripts/pg.sh up >/dev/null
  ensure_template
  if ! db_exists "$DB"; then
    log "creating database $DB from $TEMPLATE"
    sql "CREATE DATABASE $DB TEMPLATE $TEMPLATE" >/dev/null
    rm -f "$ENV_FILE"  # its token belonged to the previous database
  fi
}

# -- configuration --------------------------------------------------------------------------------

# Write $2 to $1 only when it changed (returns 1 when unchanged).
write_if_changed() {
  if [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; then return 1; fi
  printf '%s\n' "$2" >"$1.tmp" && mv "$1.tmp" "$1"
}

write_configs() {
  mkdir -p "$BASE/run" "$BASE/log" "$BASE/tmp"
  chown zabbix: "$BASE/run" "$BASE/log" "$BASE/tmp"
  write_if_changed "$SERVER_CONF" "# Written by scripts/zabbix.sh: development server, loopback only.
ListenIP=127.0.0.1
ListenPort=$SERVER_PORT
LogFile=$SERVER_LOG
LogFileSize=10
PidFile=$SERVER_PID
SocketDir=$BASE/run
TmpDir=$BASE/tmp
DBHost=127.0.0.1
DBPort=$PGPORT
DBName=$DB
DBUser=postgres
AllowUnsupportedDBVersions=1
CacheSize=128M
HistoryIndexCacheSize=64M
CacheUpdateFrequency=10
StartTrappers=10
StartPollers=2
StartPollersUnreachable=1
StartPingers=1
StartDiscoverers=1
StartHTTPPollers=1
StartDBSyncers=2
Timeout=4
FpingLocation=/usr/bin/fping" || true
  chmod 0644 "$SERVER_CONF"
  mkdir -p "$(dirname "$FRONTEND_CONF")"
  write_if_changed "$FRONTEND_CONF" "<?php
// Written by scripts/zabbix.sh (Vigie development Zabbix); rewritten by each 'up'.
\$DB['TYPE'] = 'POSTGRESQL';
\$DB['SERVER'] = '127.0.0.1';
\$DB['PORT'] = '$PGPORT';
\$DB['DATABASE'] = '$DB';
\$DB['USER'] = 'postgres';
\$DB['PASSWORD'] = '';
\$DB['SCHEMA'] = '';
\$DB['ENCRYPTION'] = false;
\$DB['KEY_FILE'] = '';
\$DB['CERT_FILE'] = '';
\$DB['CA_FILE'] = '';
\$DB['VERIFY_HOST'] = false;
\$DB['CIPHER_LIST'] = '';
\$DB['VAULT_URL'] = '';
\$DB['VAULT_DB_PATH'] = '';
\$DB['VAULT_TOKEN'] = '';
\$DB['DOUBLE_IEEE754'] = true;
\$ZBX_SERVER = '127.0.0.1';
\$ZBX_SERVER_PORT = '$SERVER_PORT';
\$ZBX_SERVER_NAME = 'Vigie (développement)';
\$IMAGE_FORMAT_DEFAULT = IMAGE_FORMAT_PNG;" || true
  chmod 0644 "$FRONTEND_CONF"
}

# -- processes ------------------------------------------------------------------------------------

# PID of a running process recorded in $1 whose command name starts with $2, else nothing.
running_pid() {
  local pid
  [ -s "$1" ] || return 1
  pid="$(cat "$1")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  grep -q "^$2" "/proc/$pid/comm" 2>/dev/null || return 1
  echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_server() {
  if running_pid "$SERVER_PID" zabbix_server >/dev/null; then return; fi
  port_open "$SERVER_PORT" && die "port $SERVER_PORT is taken by another program (VIGIE_ZABBIX_SERVER_PORT)"
  log "starting zabbix_server (trapper on 127.0.0.1:$SERVER_PORT)"
  # zabbix_server daemonises itself in a new session and drops to user 'zabbix'.
  zabbix_server -c "$SERVER_CONF"
}

start_frontend() {
  if running_pid "$PHP_PID" php >/dev/null; then return; fi
  port_open "$PORT" && die "port $PORT is taken by another program (VIGIE_ZABBIX_PORT)"
  log "starting the frontend/API (php -S 127.0.0.1:$PORT)"
  local as_zabbix=()
  [ "$(id -u)" = 0 ] && as_zabbix=(setpriv --reuid=zabbix --regid=zabbix --init-groups)
  # setsid: the pid written is the process group of php and of its workers (stopped together).
  # shellcheck disable=SC2016  # $$ and $0 belong to the inner shell
  PHP_CLI_SERVER_WORKERS=4 setsid bash -c 'echo $$ >"$0"; exec "$@"' "$PHP_PID" \
    "${as_zabbix[@]}" php -d memory_limit=512M -d post_max_size=16M -d upload_max_filesize=2M \
    -d max_execution_time=300 -d max_input_time=300 -d date.timezone=Europe/Paris \
    -d display_errors=0 -d log_errors=1 -d error_log="$BASE/log/php-errors.log" \
    -S "127.0.0.1:$PORT" -t /usr/share/zabbix </dev/null >"$PHP_LOG" 2>&1 &
  for _ in $(seq 50); do [ -s "$PHP_PID" ] && break; sleep 0.1; done
}

# Stop the process group of the process recorded in $1 (TERM, then KILL after $3 seconds).
stop_group() {
  local pid pgid
  pid="$(running_pid "$1" "$2")" || { rm -f "$1"; return 0; }
  pgid="$(ps -o pgid= -p "$pid" | tr -d ' ')"
  # Never signal our own group (it would only happen if the pid file were wrong).
  if [ -z "$pgid" ] || [ "$pgid" = "$(ps -o pgid= -p $$ | tr -d ' ')" ]; then pgid=""; fi
  if [ -n "$pgid" ]; then kill -TERM -- "-$pgid" 2>/dev/null || true; else kill -TERM "$pid" || true; fi
  for _ in $(seq $(($3 * 10))); do
    if [ -n "$pgid" ]; then kill -0 -- "-$pgid" 2>/dev/null || break; else kill -0 "$pid" 2>/dev/null || break; fi
    sleep 0.1
  done
  if [ -n "$pgid" ]; then kill -KILL -- "-$pgid" 2>/dev/null || true; else kill -KILL "$pid" 2>/dev/null || true; fi
  rm -f "$1"
  log "$2 stopped"
}

api_version() {
  curl -sf -m 5 -H 'Content-Type: application/json-rpc' \
    -d '{"jsonrpc":"2.0","method":"apiinfo.version","params":{},"id":1}' "$URL" 2>/dev/null |
    sed -n 's/.*"result":"\([^"]*\)".*/\1/p'
}

show_logs() {
  log "--- tail of $PHP_LOG"; tail -n 20 "$PHP_LOG" >&2 2>/dev/null || true
  log "--- tail of $BASE/log/php-errors.log"; tail -n 20 "$BASE/log/php-errors.log" >&2 2>/dev/null || true
  log "--- tail of $SERVER_LOG"; tail -n 30 "$SERVER_LOG" >&2 2>/dev/null || true
}

wait_ready() {
  local version=""
  for _ in $(seq 120); do
    version="$(api_version)" && [ -n "$version" ] && break
    sleep 0.5
  done
  [ -n "$version" ] || { show_logs; die "no answer to apiinfo.version on $URL after 60 s"; }
  for _ in $(seq 120); do port_open "$SERVER_PORT" && break; sleep 0.5; done
  port_open "$SERVER_PORT" || { show_logs; die "zabbix_server does not listen on 127.0.0.1:$SERVER_PORT after 60 s"; }
  echo "$version"
}

# True when the env file's token still reads the member groups (the database was not replaced).
token_valid() {
  local token
  [ -s "$ENV_FILE" ] || return 1
  token="$(sed -n 's/^VIGIE_ZABBIX_TOKEN=//p' "$ENV_FILE")"
  [ -n "$token" ] || return 1
  curl -sf -m 5 -H 'Content-Type: application/json-rpc' \
    -d "{\"jsonrpc\":\"2.0\",\"method\":\"hostgroup.get\",\"params\":{\"countOutput\":true,\"search\":{\"name\":\"Membres/\"},\"startSearch\":true},\"auth\":\"$token\",\"id\":1}" \
    "$URL" 2>/dev/null | grep -q '"result":"[1-9]'
}

# What the estate is made from: the provisioning script, the demo estate and the arguments.
# A checkout whose demo changed (new names, new hosts) re-provisions a warm Zabbix on `up`.
estate_stamp() {
  { cat scripts/zabbix_provision.py; find webapp/sources -path '*demo*' -name '*.py' | sort | xargs cat
    echo "args: $*"; } | sha256sum | cut -c1-16
}

provision() {
  [ -x "$PYTHON" ] || die "$PYTHON is missing: run 'make venv' first"
  rm -f "$STAMP_FILE"
  "$PYTHON" scripts/zabbix_provision.py --url "$URL" --env-file "$ENV_FILE" \
    --values-file "$VALUES_FILE" "$@"
  reload_config
  send_first_values
  estate_stamp "$@" >"$STAMP_FILE"
}

reload_config() {
  # A new item is unknown to the trapper until the configuration cache is refreshed.
  zabbix_server -c "$SERVER_CONF" -R config_cache_reload >/dev/null 2>&1 ||
    log "config_cache_reload failed (is zabbix_server running?)"
}

# Send the provisioning's first values, retrying while the configuration cache is reloading.
send_first_values() {
  local out failed
  [ -s "$VALUES_FILE" ] || return 0
  for _ in $(seq 30); do
    out="$(zabbix_sender -z 127.0.0.1 -p "$SERVER_PORT" -i "$VALUES_FILE" 2>&1 || true)"
    failed="$(sed -n 's/.*failed: \([0-9]*\).*/\1/p' <<<"$out" | awk '{s+=$1} END {print s+0}')"
    if [ "$failed" = 0 ] && grep -q "processed: [1-9]" <<<"$out"; then
      log "first values sent ($(wc -l <"$VALUES_FILE") values)"
      return 0
    fi
    sleep 1
  done
  log "some first values were refused: $(tail -n 1 <<<"$out")"
}

# -- commands -------------------------------------------------------------------------------------

up() {
  local started=$SECONDS version do_provision=1
  [ "${1:-}" = --no-provision ] && do_provision=0
  install_packages
  mkdir -p "$BASE"
  ensure_database
  write_configs
  start_server
  start_frontend
  version="$(wait_ready)"
  if [ "$do_provision" = 1 ] && { ! token_valid || [ "$(cat "$STAMP_FILE" 2>/dev/null)" != "$(estate_stamp)" ]; }; then
    provision
  fi
  echo "Zabbix $version ready in $((SECONDS - started)) s"
  echo "  API:      $URL   (frontend http://127.0.0.1:$PORT/, Admin / zabbix)"
  echo "  trapper:  127.0.0.1:$SERVER_PORT   (scripts/zabbix.sh send HOST KEY VALUE)"
  if [ -s "$ENV_FILE" ]; then
    echo "  Vigie:    $ENV_FILE   (set -a; . $ENV_FILE; set +a)"
  fi
}

down() {
  stop_group "$PHP_PID" php 10
  stop_group "$SERVER_PID" zabbix_server 30
}

reset() {
  # The frontend keeps no database connection: only the server has to stop.
  stop_group "$SERVER_PID" zabbix_server 30
  mkdir -p "$BASE"
  scripts/pg.sh up >/dev/null
  ensure_template
  log "recreating database $DB from $TEMPLATE"
  sql "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
  sql "CREATE DATABASE $DB TEMPLATE $TEMPLATE" >/dev/null
  rm -f "$ENV_FILE"
  up "$@"
}

status() {
  local version
  version="$(api_version)"
  if [ -z "$version" ]; then
    echo "Zabbix API: no answer on $URL"
    return 1
  fi
  echo "Zabbix API $version on $URL"
  if running_pid "$SERVER_PID" zabbix_server >/dev/null; then
    echo "zabbix_server running (trapper 127.0.0.1:$SERVER_PORT)"
  else
    echo "zabbix_server NOT running"
  fi
}

send() {
  [ $# = 3 ] || { echo "usage: $0 send HOST KEY VALUE" >&2; exit 2; }
  zabbix_sender -z 127.0.0.1 -p "$SERVER_PORT" -s "$1" -k "$2" -o "$3"
}

cmd="${1:-}"
[ $# -gt 0 ] && shift
case "$cmd" in
  up) up "$@" ;;
  down) down ;;
  reset) reset "$@" ;;
  status) status ;;
  env-file) echo "$ENV_FILE" ;;
  env)
    [ -s "$ENV_FILE" ] || die "no $ENV_FILE: run 'make zabbix-up' first"
    echo "# $ENV_FILE" >&2
    cat "$ENV_FILE"
    ;;
  send) send "$@" ;;
  reload) reload_config ;;
  provision) provision "$@" ;;
  *) echo "usage: $0 up|down|reset|status|env|send HOST KEY VALUE|reload|provision [ARGS]" >&2; exit 2 ;;
esac
