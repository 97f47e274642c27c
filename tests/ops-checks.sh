#!/usr/bin/env bash
# Operations checks, run by .ci/run after the tests (tests/run.sh builds the binary):
#
#  1. the systemd unit: `systemd-analyze verify` and `systemd-analyze security
#     --offline=true` (exposure must stay at or below 2.0; docs/operations.md
#     states the score), also with the low-port drop-in;
#  2. the OpenAPI document against the running server: schemathesis on every
#     JSON operation: no 5xx, answers match their schemas, status codes and
#     content types are documented.
#
# Installs what is missing: systemd's tools (apt `systemd`), schemathesis (PyPI).
#   tests/ops-checks.sh            both checks
#   tests/ops-checks.sh unit       only the unit
#   tests/ops-checks.sh api        only schemathesis
# Env: PACS_BIN (default: the workspace's target/debug/pacs), SCHEMATHESIS_EXAMPLES
# (test cases per operation, default 40).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
log() { printf '[ops-checks] %s\n' "$*"; }
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
WHAT=${1:-all}
SCHEMATHESIS_VERSION=4.32.5

WORK=$(mktemp -d)
PID=""
cleanup() {
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then kill -TERM "$PID"; wait "$PID" || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ -n "${PACS_BIN:-}" ]; then
  BIN=$PACS_BIN
else
  TARGET=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
  BIN=$TARGET/debug/pacs
fi
[ -x "$BIN" ] || { echo "ops-checks: $BIN is missing: run cargo build -p pacs-api first" >&2; exit 1; }

check_unit() {
  if ! command -v systemd-analyze >/dev/null; then
    log "apt: systemd (for systemd-analyze)"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
    $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends systemd >"$WORK/apt.log" 2>&1 \
      || { tail -30 "$WORK/apt.log"; exit 1; }
  fi
  log "$(systemd-analyze --version | head -1)"
  # The unit as shipped, with ExecStart pointing at the binary just built
  # (verify checks that the command exists and is executable).
  sed "s#/usr/local/bin/pacs#$BIN#g" deploy/systemd/pacs.service >"$WORK/pacs.service"
  systemd-analyze verify "$WORK/pacs.service"
  log "systemd-analyze verify: no problem"
  systemd-analyze security --offline=true --threshold=20 "$WORK/pacs.service" >"$WORK/security.txt" \
    || { cat "$WORK/security.txt"; echo "ops-checks: exposure above 2.0" >&2; exit 1; }
  log "pacs.service: $(tail -1 "$WORK/security.txt")"
  # With the drop-in for a DICOM port below 1024 (CAP_NET_BIND_SERVICE only).
  mkdir -p "$WORK/low"
  cat "$WORK/pacs.service" deploy/systemd/pacs-low-port.conf >"$WORK/low/pacs.service"
  systemd-analyze verify "$WORK/low/pacs.service"
  systemd-analyze security --offline=true --threshold=25 "$WORK/low/pacs.service" >"$WORK/security-low.txt" \
    || { cat "$WORK/security-low.txt"; echo "ops-checks: exposure with the low-port drop-in above 2.5" >&2; exit 1; }
  log "with pacs-low-port.conf: $(tail -1 "$WORK/security-low.txt")"
}

check_api() {
  if ! python3 -c "import schemathesis, sys; sys.exit(schemathesis.__version__ != '$SCHEMATHESIS_VERSION')" 2>/dev/null; then
    log "pip: schemathesis==$SCHEMATHESIS_VERSION"
    python3 -m pip install -q "schemathesis==$SCHEMATHESIS_VERSION" >"$WORK/pip.log" 2>&1 \
      || { tail -30 "$WORK/pip.log"; exit 1; }
  fi
  local key=ops-check-key-0123456789
  cat >"$WORK/pacs.toml" <<EOF
[server]
bind = "127.0.0.1:0"
data_dir = "$WORK/data"
[database]
url = "sqlite://$WORK/pacs.sqlite"
[storage]
fsync = false
[[storage.media]]
name = "local"
path = "$WORK/archive"
[[tenants]]
name = "default"
ae_title = "PACS"
api_key = "$key"
EOF
  : >"$WORK/stdout"
  RUST_LOG=warn "$BIN" serve --config "$WORK/pacs.toml" >"$WORK/stdout" 2>"$WORK/server.log" &
  PID=$!
  local base=""
  for _ in $(seq 1 300); do
    base=$(sed -n 's/^pacs ready: listening on //p' "$WORK/stdout" | head -1 || true)
    [ -n "$base" ] && break
    kill -0 "$PID" 2>/dev/null || { cat "$WORK/server.log"; exit 1; }
    sleep 0.1
  done
  [ -n "$base" ] || { echo "ops-checks: pacs did not become ready" >&2; cat "$WORK/server.log"; exit 1; }
  log "pacs serves on $base"
  # Some real data, so that searches, metadata and events answer with content.
  local data=${PACS_TEST_DATA:-/tmp/pacs-data}/real
  local stored=0
  for f in CT_small.dcm MR_small.dcm JPEG2000.dcm; do
    [ -f "$data/$f" ] || continue
    python3 - "$base" "$key" "$data/$f" <<'PY' && stored=$((stored + 1))
import sys, urllib.request
base, key, path = sys.argv[1:]
b = "ops-check-boundary"
body = (f"--{b}\r\nContent-Type: application/dicom\r\n\r\n".encode() + open(path, "rb").read()
        + f"\r\n--{b}--\r\n".encode())
req = urllib.request.Request(f"{base}/o3-dpacs-wado/stowRsListener/OPSCHECK/studies", data=body, method="POST",
    headers={"Authorization": key, "Content-Type": f'multipart/related; type="application/dicom"; boundary={b}'})
urllib.request.urlopen(req).read()
PY
  done
  log "stored $stored instance(s) of the test data"
  # Every operation that answers JSON (multipart, DICOM, JPEG and text ones
  # excluded). One worker: hypothesis' source parsing is not thread-safe on
  # CPython 3.11 ("AST constructor recursion depth mismatch").
  local checks=not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance
  # The document needs the key like every route (server.public_api_docs off).
  curl -fsS -H "Authorization: $key" "$base/o3-dpacs-wado/openapi.json" >"$WORK/openapi.json"
  local st=(schemathesis run "$WORK/openapi.json"
    --url "$base"
    --header "Authorization: $key"
    --checks "$checks"
    --exclude-operation-id-regex '^((dicomweb)?([sS]tow.*|[wW]ado(Study|Series|Instance|Frames|Uri|Bulkdata)|[rR]endered.*|[tT]humbnail.*)|preview|generateKos|metrics|swaggerUi)$'
    --phases examples,coverage,fuzzing
    --max-examples "${SCHEMATHESIS_EXAMPLES:-40}"
    --seed 20261125
    --workers 1
    --request-timeout 30
    --suppress-health-check all
    --report junit --report-dir "$WORK/report")
  log "${st[*]}"
  # From the work directory: schemathesis keeps a cache in the current one.
  if ! (cd "$WORK" && NO_COLOR=1 "${st[@]}"); then
    echo "ops-checks: schemathesis found problems (above); server log:" >&2
    tail -50 "$WORK/server.log" >&2
    exit 1
  fi
  kill -TERM "$PID"
  wait "$PID"
  PID=""
  log "schemathesis: no failure; pacs stopped cleanly"
}

case "$WHAT" in
  unit) check_unit ;;
  api) check_api ;;
  all) check_unit; check_api ;;
  *) echo "usage: $0 [unit|api|all]" >&2; exit 2 ;;
esac
