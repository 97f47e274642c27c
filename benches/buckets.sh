#!/usr/bin/env bash
# Buckets and scale-out benchmark: our `pacs` with an S3 bucket (moto 5.2.6, tests/peers/s3.sh)
# as default medium against the same server on its filesystem medium, and two nodes behind
# HAProxy (deploy/haproxy/pacs.cfg) against one, in one run.
#
#   benches/buckets.sh [DATA] [PHASES]
#     DATA    output of tests/data/make-data.sh (default /tmp/pacs-data; needs DATA/bulk-100-3-10;
#             DATA/bulk-1-1-200-big is made with tests/data/gen_bulk.py when missing)
#     PHASES  subset of: stow wado nodes slide   (default: all four)
#
#   stow   STOW-RS of the 3000-instance bulk set, 20 instances per request, 4 clients, on a
#          fresh server with the filesystem medium, then on a fresh one with the bucket (SQLite).
#   wado   WADO-RS retrieval of a 200-instance, ~100 MiB series (5 reps), filesystem vs bucket.
#   nodes  STOW-RS 20x8 of the bulk set into one node, then into two nodes behind HAProxy, each
#          on a fresh PostgreSQL database and a fresh bucket (the scale-out deployment).
#   slide  benches/pathology.sh SLIDE_MIB (2048) with the bucket as default medium: upload and
#          download of a 2 GiB slide, peak RSS of the server (target <= 64 MiB).
#
# Env: PACS_LOG (warn), NO_BUILD=1, STEP_TIMEOUT (1800 s per client step), SLIDE_MIB (2048).
# moto keeps objects in memory (a large object spills to a temporary file): it is the S3
# server of the tests, not a fast one; the figures say what our side costs against it.
# Results: /tmp/pacs-bench/<stamp>/{results.jsonl,summary.md,env.txt}.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DATA=$(cd "${1:-/tmp/pacs-data}" && pwd)
PHASES=${2:-stow wado nodes slide}
PY=${PYTHON:-python3}
TMO=${STEP_TIMEOUT:-1800}
KEY=bench-key
export PYTHONWARNINGS=ignore TCP_NODELAY=1
BD="$DATA/bulk-100-3-10"
BS="$DATA/bulk-1-1-200-big"
RES=/tmp/pacs-bench/$(date +%Y%m%d-%H%M%S)
mkdir -p "$RES"
J="$RES/results.jsonl"
BENCH_NAME=buckets
PGDB=pacs_bench_buckets_$$
[ -f "$BD/DONE" ] || { echo "missing $BD: run tests/data/make-data.sh $DATA" >&2; exit 1; }
command -v haproxy >/dev/null || { echo "haproxy is missing: run tests/peers/install.sh" >&2; exit 1; }

# Orthanc 1.10 (tests/peers/orthanc.sh) on its own ports, measured first in the stow and wado
# phases of the same run, as every benchmark here compares with it.
export ORTHANC_HTTP=${ORTHANC_HTTP:-8052} ORTHANC_DICOM=${ORTHANC_DICOM:-4252}
OHTTP=http://127.0.0.1:$ORTHANC_HTTP
ODW=$OHTTP/dicom-web
unset ORTHANC_DIR

# shellcheck source=lib.sh
. "$ROOT/benches/lib.sh"
orthanc_ports_free

ofresh() {  # NAME: a new, empty Orthanc in $RES/orthanc-NAME
  [ -n "${ORTHANC_DIR:-}" ] && osrv stop
  export ORTHANC_DIR="$RES/orthanc-$1"
  osrv reset
}

export PACS_S3_DIR="$RES/s3" PACS_S3_PARENT=$$
S3=$("$ROOT/tests/peers/s3.sh" start | tail -1)
HAPROXY_PID="" NODE2_PID=""
cleanup() {
  pacs_stop
  if [ -n "${ORTHANC_DIR:-}" ]; then osrv stop || true; fi
  [ -n "$NODE2_PID" ] && kill "$NODE2_PID" 2>/dev/null || true
  [ -n "$HAPROXY_PID" ] && kill "$HAPROXY_PID" 2>/dev/null || true
  "$ROOT/tests/peers/s3.sh" stop || true
  pg_drop "$PGDB" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

new_bucket() {  # NAME: creates it on moto; sets PACS_EXTRA_TOML and the default medium
  curl -fsS -X PUT "$S3/$1" >/dev/null
  export PACS_EXTRA_TOML="[[storage.buckets]]
name = \"bench-bucket\"
endpoint = \"$S3\"
region = \"us-east-1\"
bucket = \"$1\"
access_key = \"bench\"
secret_key = \"bench-secret\"
path_style = true"
  export PACS__STORAGE__DEFAULT_MEDIUM=bench-bucket
}
on_filesystem() { unset PACS_EXTRA_TOML PACS__STORAGE__DEFAULT_MEDIUM; }

pclient() {  # SERVER-LABEL WHAT BASE ARGS...: pacs_bench.py against our API at BASE
  local srv=$1 what=$2 base=$3 out rc=0; shift 3
  out=$(timeout "$TMO" "$PY" "$ROOT/benches/pacs_bench.py" --server "$srv" --auth "$KEY" \
    --stow-base "$base/stowRsListener/BENCH" --qido-base "$base/qido/PACS" --wado-base "$base/wado-rs/PACS" \
    "$@" 2>>"$RES/client-stderr.log") || rc=$?
  [ -n "$out" ] && echo "$out" | tee -a "$J"
  if [ "$rc" != 0 ]; then err "$srv" "$what" "client exit $rc; see client-stderr.log"; fi
  return 0
}

# A second node on the running node's configuration, with its own data_dir; sets NODE2.
start_node2() {
  local d="$RES/pacs-node2"
  mkdir -p "$d/data"
  sed "s#^data_dir = .*#data_dir = \"$d/data\"#" "$PACS_DIR/pacs.toml" >"$d/pacs.toml"
  RUST_LOG=${PACS_LOG:-warn} setsid "$BIN" serve --config "$d/pacs.toml" >"$d/stdout.log" 2>"$d/server.log" </dev/null &
  NODE2_PID=$!
  for _ in $(seq 600); do
    NODE2=$(sed -n 's/^pacs ready: listening on //p' "$d/stdout.log" | head -1)
    NODE2=${NODE2#http://}
    [ -n "$NODE2" ] && return 0
    sleep 0.1
  done
  echo "node 2 did not start: $(tail -3 "$d/server.log")" >&2; return 1
}

bench_build
{
  bench_env_common "sqlite or pg as stated per phase, fsync=true"
  echo "s3: moto 5.2.6 at $S3 (tests/peers/s3.sh), path style"
  echo "proxy: $(haproxy -v | head -1)"
  echo "phases: $PHASES"
} >"$RES/env.txt"
cat "$RES/env.txt"

for phase in $PHASES; do
  echo "=== phase $phase"; loadavg "$phase"
  case $phase in
  stow)
    ofresh stow && client orthanc stow-20x4 stow "$BD" --batch 20 --conc 4 --label stow-20x4
    osrv stop
    on_filesystem
    pacs_start stow-fs && { pclient pacs-fs stow-fs "$P" stow "$BD" --batch 20 --conc 4 --label stow-20x4; pacs_done stow-fs; }
    new_bucket stow-$$
    pacs_start stow-bucket && { pclient pacs-bucket stow-bucket "$P" stow "$BD" --batch 20 --conc 4 --label stow-20x4; pacs_done stow-bucket; }
    ;;
  wado)
    [ -f "$BS/DONE" ] || timeout "$TMO" "$PY" "$ROOT/tests/data/gen_bulk.py" 1 1 200 "$BS" --seed bigseries \
      --template "$("$PY" -c 'import data_store,os;print(os.path.dirname(data_store.__file__))')/data/693_UNCR.dcm"
    read -r bst bse _ < <(first_series "$BS/manifest.csv")
    if ofresh wado; then
      client orthanc wado-load stow "$BS" --batch 20 --conc 2 --label wado-load
      client orthanc wado-big wado --study "$bst" --series "$bse" --reps 5 --label "200 x CT 512x512, ~100 MiB"
    fi
    osrv stop
    for where in fs bucket; do
      if [ "$where" = fs ]; then on_filesystem; else new_bucket wado-$$; fi
      pacs_start "wado-$where" || continue
      pclient "pacs-$where" wado-load "$P" stow "$BS" --batch 20 --conc 2 --label wado-load
      pclient "pacs-$where" wado-big "$P" wado --study "$bst" --series "$bse" --reps 5 --label "200 x CT 512x512, ~100 MiB"
      pacs_done "wado-$where"
    done
    ;;
  nodes)
    pg_create "$PGDB"; new_bucket nodes1-$$
    PACS_DB_URL="postgres://postgres@127.0.0.1:5432/$PGDB" pacs_start nodes-one \
      && { pclient pacs-1node stow-1node "$P" stow "$BD" --batch 20 --conc 8 --label stow-20x8; pacs_done nodes-one; }
    pg_create "$PGDB"; new_bucket nodes2-$$
    if PACS_DB_URL="postgres://postgres@127.0.0.1:5432/$PGDB" pacs_start nodes-two && start_node2; then
      port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
      NODE1=${P#http://}; NODE1=${NODE1%%/*}
      PACS_PROXY_BIND=127.0.0.1:$port PACS_NODE1=$NODE1 PACS_NODE2=$NODE2 \
        haproxy -db -f "$ROOT/deploy/haproxy/pacs.cfg" >"$RES/haproxy.log" 2>&1 &
      HAPROXY_PID=$!
      for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
      sleep 3   # both nodes through their health checks (rise 2, inter 1 s)
      pclient pacs-2nodes stow-2nodes "http://127.0.0.1:$port/o3-dpacs-wado" stow "$BD" --batch 20 --conc 8 --label stow-20x8
      kill "$HAPROXY_PID"; HAPROXY_PID=""
      kill "$NODE2_PID"; NODE2_PID=""
      pacs_done nodes-two
    fi
    pg_drop "$PGDB"
    ;;
  slide)
    new_bucket slide-$$
    # pathology.sh starts its own server; it inherits the bucket settings from the environment.
    NO_BUILD=1 "$ROOT/benches/pathology.sh" "${SLIDE_MIB:-2048}" 2>&1 | tee "$RES/slide.log" | tail -25
    on_filesystem
    ;;
  *) echo "unknown phase $phase" >&2; exit 2 ;;
  esac
done

echo "=== summary"
jq -rs '
  def row(s; l): (map(select(.server == s and .test == "stow-rs" and .label == l)) | last);
  def wado(s): (map(select(.server == s and .test == "wado-rs" and .what == "series-retrieve")) | last);
  ["| measure | A | B | B/A |", "|---|---|---|---|",
   (row("pacs-fs"; "stow-20x4") as $a | row("pacs-bucket"; "stow-20x4") as $b
    | "| STOW-RS 20x4, inst/s (A filesystem, B bucket) | \($a.inst_per_s) | \($b.inst_per_s) | \(($b.inst_per_s / $a.inst_per_s * 100 | round) / 100) |"),
   (wado("pacs-fs") as $a | wado("pacs-bucket") as $b
    | "| WADO-RS ~100 MiB series, p50 ms (A filesystem, B bucket) | \($a.p50_ms) | \($b.p50_ms) | \(($b.p50_ms / $a.p50_ms * 100 | round) / 100) |"),
   (row("pacs-1node"; "stow-20x8") as $a | row("pacs-2nodes"; "stow-20x8") as $b
    | "| STOW-RS 20x8 on PostgreSQL + bucket, inst/s (A one node, B two behind HAProxy) | \($a.inst_per_s) | \($b.inst_per_s) | \(($b.inst_per_s / $a.inst_per_s * 100 | round) / 100) |")
  ] | .[]' "$J" 2>/dev/null | tee "$RES/summary.md" || echo "(summary incomplete: see $J)"
echo "=== results: $J, $RES/summary.md"
