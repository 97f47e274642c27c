#!/usr/bin/env bash
# A private Orthanc (the Debian package, 1.10.x) for the tests and benchmarks of this repository.
#
#   tests/peers/orthanc.sh start | stop | status | restart | reset | log [N] | config
#
#   start    start it unless it already runs; waits until GET /system answers
#   stop     SIGTERM (SIGKILL after 30 s); also stops its private PostgreSQL, if any
#   status   "running pid N ..." and /statistics (exit 0), or "not running" (exit 3)
#   restart  stop, then start on the same data
#   reset    stop, delete the stored instances and index (and worklists), start empty
#   log [N]  the last N (50) lines of its log
#   config   (re)write and print its configuration
#
# Environment:
#   ORTHANC_DIR      everything of this instance lives here (default /tmp/pacs-orthanc):
#                    config/ (orthanc.json; any other *.json placed there is merged by
#                    Orthanc, which rejects a key defined twice), storage/ (files and
#                    SQLite index), worklists/, orthanc.log, console.log, orthanc.pid,
#                    bindlocal.so, pg/ (ORTHANC_DB=pg)
#   ORTHANC_HTTP     HTTP port (8042): REST API, DICOMweb under /dicom-web/
#   ORTHANC_DICOM    DICOM port (4242)
#   ORTHANC_AET      its AE title (ORTHANC)
#   ORTHANC_DB       sqlite (default) | pg: the index in a private PostgreSQL cluster in
#                    $ORTHANC_DIR/pg on 127.0.0.1:$ORTHANC_PGPORT (5433)
#   ORTHANC_MODALITIES   JSON object for "DicomModalities" (default: STORESCP :11112,
#                    PACS :11113, SCU :11114, all on 127.0.0.1)
#   ORTHANC_GDCM=0   without the GDCM decoder plugin
#   ORTHANC_PLUGIN_DIR   where the plugins are (/usr/share/orthanc/plugins): DICOMweb (required),
#                    WSI, worklists, GDCM (each when installed), PostgreSQL index (ORTHANC_DB=pg)
#   ORTHANC_VERBOSE=1    --verbose
#   ORTHANC_START_TIMEOUT    seconds to wait for the HTTP API (60)
#
# Two instances run side by side with different ORTHANC_DIR / ORTHANC_HTTP / ORTHANC_DICOM.
#
# Loopback only. Orthanc 1.10 cannot be told which address to listen on: it binds its HTTP
# and DICOM ports to every interface. The server is therefore started with a small
# LD_PRELOAD library, compiled here on first use, that turns a bind() to the wildcard
# address into a bind() to 127.0.0.1 (::1 for IPv6); after start the listening sockets
# are checked, and a server found listening beyond loopback is stopped again.
# It never uses the system service (/etc/orthanc, /var/lib/orthanc): its own config,
# storage and process only; it never signals a process it did not start (pid file + name).
# Needs: Orthanc and its plugins, curl, a C compiler, ss; PostgreSQL for ORTHANC_DB=pg
# (tests/peers/install.sh installs them).
set -euo pipefail

DIR=${ORTHANC_DIR:-/tmp/pacs-orthanc}
HTTP_PORT=${ORTHANC_HTTP:-8042}
DICOM_PORT=${ORTHANC_DICOM:-4242}
AET=${ORTHANC_AET:-ORTHANC}
INDEX=${ORTHANC_DB:-sqlite}
PG_PORT=${ORTHANC_PGPORT:-5433}
PLUGIN_DIR=${ORTHANC_PLUGIN_DIR:-/usr/share/orthanc/plugins}
WAIT_S=${ORTHANC_START_TIMEOUT:-60}
URL=http://127.0.0.1:$HTTP_PORT
PIDFILE=$DIR/orthanc.pid
SHIM=$DIR/bindlocal.so
PG=$DIR/pg

case $INDEX in sqlite | pg) ;; *) echo "ORTHANC_DB must be sqlite or pg, not '$INDEX'" >&2; exit 2 ;; esac

say() { echo "orthanc.sh: $*"; }
fail() { echo "orthanc.sh: $*" >&2; exit 1; }

# ----------------------------------------------------------------- process
server_pid() {  # prints the pid of OUR server, fails when it is not running
  local pid
  [ -s "$PIDFILE" ] || return 1
  pid=$(cat "$PIDFILE")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  # the pid file could be stale and the number reused: it must still be an Orthanc
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = Orthanc ] || return 1
  echo "$pid"
}

port_owner() {  # PORT: prints the listener line when something listens on it
  ss -Hltnp "sport = :$1" 2>/dev/null | head -1
}

check_ports() {
  local port line
  for port in "$HTTP_PORT" "$DICOM_PORT"; do
    line=$(port_owner "$port")
    [ -z "$line" ] || fail "port $port is already in use ($line); choose ORTHANC_HTTP / ORTHANC_DICOM"
  done
}

check_loopback() {  # PID: every listening socket of PID must be on 127.0.0.1 / ::1
  local pid=$1 wide
  wide=$(ss -Hltnp 2>/dev/null | grep "pid=$pid," | awk '{print $4}' \
    | grep -v -E '^(127\.[0-9.]+|\[::1\]|\[::ffff:127\.[0-9.]+\]):[0-9]+$' || true)
  [ -z "$wide" ] && return 0
  stop_server >/dev/null
  fail "Orthanc listened beyond loopback ($(echo "$wide" | tr '\n' ' ')); stopped it"
}

build_shim() {
  [ -s "$SHIM" ] && return 0
  command -v cc >/dev/null || fail "no C compiler (cc): needed for the loopback-only bind library"
  mkdir -p "$DIR"
  cat >"$DIR/bindlocal.c" <<'C'
/* LD_PRELOAD: listen on loopback instead of every interface. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

typedef int (*bind_fn)(int, const struct sockaddr *, socklen_t);

int bind(int fd, const struct sockaddr *addr, socklen_t len) {
  static bind_fn next_bind;
  struct sockaddr_storage copy;
  if (!next_bind) next_bind = (bind_fn)dlsym(RTLD_NEXT, "bind");
  if (addr == NULL || len > sizeof copy) return next_bind(fd, addr, len);
  memcpy(&copy, addr, len);
  if (copy.ss_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
    struct sockaddr_in *v4 = (struct sockaddr_in *)&copy;
    if (v4->sin_addr.s_addr == htonl(INADDR_ANY)) v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  } else if (copy.ss_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&copy;
    if (IN6_IS_ADDR_UNSPECIFIED(&v6->sin6_addr)) v6->sin6_addr = in6addr_loopback;
  }
  return next_bind(fd, (const struct sockaddr *)&copy, len);
}
C
  cc -shared -fPIC -O2 -Wall -o "$SHIM.tmp" "$DIR/bindlocal.c" -ldl || fail "cannot compile $DIR/bindlocal.c"
  mv "$SHIM.tmp" "$SHIM"
}

# ----------------------------------------------------------------- private PostgreSQL (ORTHANC_DB=pg)
pg_bin() {
  local b
  b=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -n "$b" ] || fail "ORTHANC_DB=pg: no PostgreSQL server under /usr/lib/postgresql"
  echo "$b"
}
as_pg() {  # run a command as the postgres user when we are root (PostgreSQL refuses root)
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
pg_psql() { as_pg "$(pg_bin)/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -qtAX -c "$1"; }

pg_up() {
  local bin; bin=$(pg_bin)
  mkdir -p "$PG"
  [ "$(id -u)" = 0 ] && chown postgres: "$PG"
  if [ ! -f "$PG/data/PG_VERSION" ]; then
    as_pg "$bin/initdb" -D "$PG/data" -U postgres -A trust >"$PG/initdb.log" 2>&1 \
      || fail "initdb failed: $PG/initdb.log"
  fi
  if ! as_pg "$bin/pg_ctl" -D "$PG/data" status >/dev/null 2>&1; then
    as_pg "$bin/pg_ctl" -D "$PG/data" -l "$PG/server.log" -w -t 60 start \
      -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG" >/dev/null \
      || fail "PostgreSQL did not start: $PG/server.log"
  fi
  [ "$(pg_psql "select count(*) from pg_database where datname = 'orthanc'")" = 1 ] \
    || pg_psql "create database orthanc"
}

pg_down() {
  [ -f "$PG/data/postmaster.pid" ] || return 0
  as_pg "$(pg_bin)/pg_ctl" -D "$PG/data" -w -t 60 -m fast stop >/dev/null 2>&1 || true
}

# ----------------------------------------------------------------- configuration
plugin_list() {
  local names=(libOrthancDicomWeb.so libOrthancWSI.so libModalityWorklists.so) n out=""
  [ "${ORTHANC_GDCM:-1}" = 0 ] || names+=(libOrthancGdcm.so)
  [ "$INDEX" = pg ] && names+=(libOrthancPostgreSQLIndex.so)
  [ -f "$PLUGIN_DIR/libOrthancDicomWeb.so" ] || fail "missing $PLUGIN_DIR/libOrthancDicomWeb.so (orthanc-dicomweb)"
  [ "$INDEX" = sqlite ] || [ -f "$PLUGIN_DIR/libOrthancPostgreSQLIndex.so" ] \
    || fail "ORTHANC_DB=pg: missing $PLUGIN_DIR/libOrthancPostgreSQLIndex.so (orthanc-postgresql)"
  for n in "${names[@]}"; do
    [ -f "$PLUGIN_DIR/$n" ] && out+="${out:+, }\"$PLUGIN_DIR/$n\""
  done
  echo "$out"
}

write_config() {
  local modalities plugins index_cfg=""
  plugins=$(plugin_list)
  mkdir -p "$DIR/config" "$DIR/storage" "$DIR/worklists"
  modalities=${ORTHANC_MODALITIES:-'{
    "storescp" : [ "STORESCP", "127.0.0.1", 11112 ],
    "pacs"     : [ "PACS",     "127.0.0.1", 11113 ],
    "scu"      : [ "TESTSCU",  "127.0.0.1", 11114 ]
  }'}
  if [ "$INDEX" = pg ]; then
    index_cfg=',
  "PostgreSQL" : {
    "EnableIndex" : true, "EnableStorage" : false, "Lock" : false,
    "Host" : "127.0.0.1", "Port" : '"$PG_PORT"', "Database" : "orthanc",
    "Username" : "postgres", "Password" : ""
  }'
  fi
  cat >"$DIR/config/orthanc.json.tmp" <<JSON
{
  "Name" : "PACS-TEST-ORTHANC",
  "StorageDirectory" : "$DIR/storage",
  "IndexDirectory" : "$DIR/storage",
  "StorageCompression" : false,
  "Plugins" : [ $plugins ],

  "HttpServerEnabled" : true,
  "HttpPort" : $HTTP_PORT,
  "RemoteAccessAllowed" : false,
  "AuthenticationEnabled" : false,
  "HttpThreadsCount" : 50,
  "HttpCompressionEnabled" : false,
  "KeepAlive" : true,
  "TcpNoDelay" : true,

  "DicomServerEnabled" : true,
  "DicomAet" : "$AET",
  "DicomPort" : $DICOM_PORT,
  "DicomThreadsCount" : 4,
  "DicomCheckCalledAet" : false,
  "DicomAlwaysAllowEcho" : true,
  "DicomAlwaysAllowStore" : true,
  "DicomAlwaysAllowFind" : true,
  "DicomAlwaysAllowFindWorklist" : true,
  "DicomAlwaysAllowGet" : true,
  "DicomAlwaysAllowMove" : true,
  "UnknownSopClassAccepted" : true,
  "DicomModalities" : $modalities,
  "OrthancPeers" : {},

  "OverwriteInstances" : false,
  "StableAge" : 60,
  "SaveJobs" : false,
  "LimitFindResults" : 0,
  "LimitFindInstances" : 0,
  "MetricsEnabled" : true,

  "DicomWeb" : {
    "Enable" : true,
    "Root" : "/dicom-web/",
    "EnableWado" : true,
    "WadoRoot" : "/wado",
    "Host" : "127.0.0.1:$HTTP_PORT",
    "Ssl" : false,
    "StudiesMetadata" : "Full",
    "SeriesMetadata" : "Full"
  },
  "Worklists" : { "Enable" : true, "Database" : "$DIR/worklists" }$index_cfg
}
JSON
  mv "$DIR/config/orthanc.json.tmp" "$DIR/config/orthanc.json"
}

# ----------------------------------------------------------------- commands
start_server() {
  local pid waited=0 flags=()
  if pid=$(server_pid); then say "already running (pid $pid) at $URL, dir $DIR"; return 0; fi
  rm -f "$PIDFILE"
  command -v Orthanc >/dev/null || fail "Orthanc is not installed: run tests/peers/install.sh"
  command -v curl >/dev/null || fail "curl is not installed"
  check_ports
  build_shim
  [ "$INDEX" = pg ] && pg_up
  write_config
  [ "${ORTHANC_VERBOSE:-0}" = 1 ] && flags+=(--verbose)
  # New session, no terminal; the child writes its own pid before it becomes Orthanc.
  # TCP_NODELAY=1 switches Nagle off in Orthanc's DCMTK; MALLOC_ARENA_MAX as Orthanc's
  # own packaging recommends.
  setsid sh -c 'echo $$ >"$0"; exec "$@"' "$PIDFILE" \
    env LD_PRELOAD="$SHIM" MALLOC_ARENA_MAX=5 TCP_NODELAY=1 \
    Orthanc "${flags[@]}" --logfile="$DIR/orthanc.log" "$DIR/config" \
    >"$DIR/console.log" 2>&1 </dev/null &
  while :; do
    if pid=$(server_pid) && curl -fsS -m 5 -o /dev/null "$URL/system" 2>/dev/null; then
      check_loopback "$pid"
      say "ready: pid $pid, http $URL (DICOMweb $URL/dicom-web), dicom $AET@127.0.0.1:$DICOM_PORT, index $INDEX, dir $DIR"
      return 0
    fi
    if [ "$waited" -ge $((WAIT_S * 5)) ]; then break; fi
    # gone already? (the pid file is written before exec: allow it a moment)
    if [ "$waited" -ge 10 ] && ! server_pid >/dev/null; then break; fi
    sleep 0.2; waited=$((waited + 1))
  done
  if server_pid >/dev/null; then
    echo "orthanc.sh: Orthanc did not answer at $URL within ${WAIT_S} s; last log lines:" >&2
  else
    echo "orthanc.sh: Orthanc exited while starting; last log lines:" >&2
  fi
  tail -n 15 "$DIR/console.log" "$DIR/orthanc.log" >&2 2>/dev/null || true
  stop_server >/dev/null
  exit 1
}

stop_server() {
  local pid
  if pid=$(server_pid); then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do  # <= 30 s
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "orthanc.sh: pid $pid ignored SIGTERM for 30 s: SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
    say "stopped (pid $pid)"
  else
    say "not running"
  fi
  rm -f "$PIDFILE"
  pg_down
}

reset_server() {
  stop_server
  rm -rf "$DIR/storage" "$DIR/worklists" "$DIR/orthanc.log" "$DIR/console.log"
  if [ "$INDEX" = pg ]; then
    pg_up
    pg_psql "drop database if exists orthanc" && pg_psql "create database orthanc"
  fi
  start_server
}

show_status() {
  local pid
  if pid=$(server_pid); then
    echo "running pid $pid, http $URL, dicom $AET@127.0.0.1:$DICOM_PORT, index $INDEX, dir $DIR"
    curl -fsS -m 10 "$URL/statistics" || echo "(no answer from $URL/statistics)"
    echo
  else
    echo "not running (dir $DIR)"
    exit 3
  fi
}

case "${1:-}" in
  start) start_server ;;
  stop) stop_server ;;
  restart) stop_server; start_server ;;
  reset) reset_server ;;
  status) show_status ;;
  log)
    [ -f "$DIR/orthanc.log" ] || fail "no log yet: $DIR/orthanc.log"
    tail -n "${2:-50}" "$DIR/orthanc.log" ;;
  config) mkdir -p "$DIR"; write_config; cat "$DIR/config/orthanc.json" ;;
  *) echo "usage: $0 start|stop|status|restart|reset|log [N]|config" >&2; exit 2 ;;
esac
