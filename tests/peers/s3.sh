#!/usr/bin/env bash
# A private S3-compatible server (moto_server, moto 5.2.6 from PyPI) for the storage tests.
#
#   tests/peers/s3.sh start      start it unless it already runs; prints its endpoint
#                                (http://127.0.0.1:PORT) once it answers
#   tests/peers/s3.sh stop       SIGTERM (SIGKILL after 10 s)
#   tests/peers/s3.sh status     "running pid N at ENDPOINT" (exit 0), or "not running" (exit 3)
#   tests/peers/s3.sh endpoint   the endpoint of the running server (exit 3 when none)
#   tests/peers/s3.sh log [N]    the last N (50) lines of its log
#
# Environment:
#   PACS_S3_DIR       its pid file, endpoint and log (default /tmp/pacs-s3); two servers
#                     run side by side with two directories
#   PACS_S3_PORT      the port (default: a free one, chosen at start)
#   PACS_S3_PARENT    a pid: the server stops soon after that process ends (the test
#                     binaries pass their own, so no server outlives its tests)
#   PACS_S3_VENV      where tests/peers/install.sh put moto
#                     (default ~/.local/share/pacs-peers/moto-5.2.6)
#   PACS_S3_START_TIMEOUT  seconds to wait for the server to answer (30)
#
# Loopback only. moto accepts any access key and secret and checks no signature;
# buckets are created by the clients and live in the server's memory (objects over a
# few MB spill to temporary files), so they go with the server. It never signals a
# process it did not start (pid file + command line).
# Needs: moto[server] in PACS_S3_VENV (tests/peers/install.sh --s3 installs it).
set -euo pipefail

DIR=${PACS_S3_DIR:-/tmp/pacs-s3}
VENV=${PACS_S3_VENV:-${XDG_DATA_HOME:-$HOME/.local/share}/pacs-peers/moto-5.2.6}
WAIT_S=${PACS_S3_START_TIMEOUT:-30}
PARENT=${PACS_S3_PARENT:-}
PIDFILE=$DIR/moto.pid
ENDPOINT_FILE=$DIR/endpoint
LOG=$DIR/moto.log
PY=$VENV/bin/python

fail() { echo "s3.sh: $*" >&2; exit 1; }

server_pid() {  # prints the pid of OUR server, fails when it is not running
  local pid
  [ -s "$PIDFILE" ] || return 1
  pid=$(cat "$PIDFILE")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  # the pid file could be stale and the number reused: it must still be moto_server
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q moto_server || return 1
  echo "$pid"
}

answers() {  # ENDPOINT: succeeds when the server answers HTTP (any status)
  "$PY" - "$1" <<'EOF' >/dev/null 2>&1
import sys, urllib.error, urllib.request
try:
    urllib.request.urlopen(sys.argv[1] + "/", timeout=2)
except urllib.error.HTTPError:
    pass
EOF
}

free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
  if server_pid >/dev/null; then
    cat "$ENDPOINT_FILE"
    return 0
  fi
  [ -x "$VENV/bin/moto_server" ] ||
    fail "moto_server is not installed in $VENV: run tests/peers/install.sh --s3"
  mkdir -p "$DIR"
  local port=${PACS_S3_PORT:-$(free_port)} pid endpoint
  endpoint=http://127.0.0.1:$port
  # Its own session, stdio on files: whoever runs this script (a test binary
  # reading our output) is not held by the server's inherited descriptors.
  setsid "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" </dev/null >"$LOG" 2>&1 &
  pid=$!
  echo "$pid" >"$PIDFILE"
  echo "$endpoint" >"$ENDPOINT_FILE"
  local waited=0
  until answers "$endpoint"; do
    kill -0 "$pid" 2>/dev/null || { tail -n 20 "$LOG" >&2; rm -f "$PIDFILE"; fail "moto_server exited (log: $LOG)"; }
    ((waited < WAIT_S * 10)) || { kill "$pid" 2>/dev/null || true; rm -f "$PIDFILE"; fail "moto_server did not answer within ${WAIT_S}s on $endpoint"; }
    sleep 0.1
    waited=$((waited + 1))
  done
  if [ -n "$PARENT" ]; then
    # Stops the server once PARENT is gone (checked every second).
    setsid bash -c '
      while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done
      kill "$2" 2>/dev/null || true
    ' s3-watch "$PARENT" "$pid" </dev/null >/dev/null 2>&1 &
  fi
  echo "$endpoint"
}

stop() {
  local pid
  pid=$(server_pid) || { rm -f "$PIDFILE"; return 0; }
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  rm -f "$PIDFILE"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status)
    if pid=$(server_pid); then echo "running pid $pid at $(cat "$ENDPOINT_FILE")"; else echo "not running"; exit 3; fi ;;
  endpoint)
    server_pid >/dev/null || exit 3
    cat "$ENDPOINT_FILE" ;;
  log) tail -n "${2:-50}" "$LOG" ;;
  -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' ;;
  *) echo "usage: $0 start|stop|status|endpoint|log [N]" >&2; exit 2 ;;
esac
