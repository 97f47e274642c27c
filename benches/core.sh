#!/usr/bin/env bash
# Core archive benchmark: our `pacs` server and Orthanc 1.10 (tests/peers/orthanc.sh), side by side
# in one run.
#
#   benches/core.sh [DATA] [PHASES]
#     DATA    output of tests/data/make-data.sh (default /tmp/pacs-data; needs
#             DATA/bulk-100-3-10 and DATA/wsi/dicom-small; DATA/bulk-10000-1-1 and
#             DATA/bulk-1-1-200-big are made here with tests/data/gen_bulk.py when missing)
#     PHASES  space-separated subset of: stow qido wado   (default: all three)
#
# Env: DB=sqlite|pg (our index; pg = throwaway database pacs_bench_<pid> on
#      127.0.0.1:5432 as user postgres, dropped at the end), REPS (20, QIDO reps),
#      STOW_BATCH (20), STOW_CONC (4), STEP_TIMEOUT (1800 s per client step),
#      PACS_LOG (warn; RUST_LOG of our server), KEEP=1 keeps the archives (and leaves the
#      scratch filesystem mounted), SCRATCH=0 keeps the archives on the results directory's
#      own filesystem instead of a fresh one (see below), SCRATCH_SIZE (24G, sparse),
#      ORTHANC_HTTP / ORTHANC_DICOM (8052 / 4252: the private Orthanc's ports),
#      NO_BUILD=1 skips `cargo build` (uses the existing target/release/pacs),
#      REV=<commit> builds and measures that commit from a `git archive` snapshot (REV_SRC,
#      default /tmp/pacs-bench/rev-src-core; REV_TARGET, default /tmp/pacs-bench/rev-target-core)
#      instead of the working tree (see benches/lib.sh), OSRV_TIMEOUT (600 s per orthanc.sh call).
#
# Each measured step starts both servers from EMPTY state: a new Orthanc (orthanc.sh with a
# new ORTHANC_DIR), a new dir + database + process for ours (fsync on). Orthanc is measured
# first, stopped, then ours runs alone. Both servers' files live on one fresh ext4 made for
# the run (benches/lib.sh scratch_fs, same features as the disk's) and nothing is deleted
# before the end: on this VM's journal-less root, files freed in the last minutes make every
# new file's inode search slower, which made STOW results depend on the previous run.
# Clients: benches/bench_client.py through benches/pacs_bench.py (adds our Authorization
# header and per-service base URLs); Orthanc's QIDO set is loaded by dcmtk's storescu.
# Peers and data: tests/peers/install.sh (Orthanc, dcmtk, Python clients) and
# tests/data/make-data.sh, once.
# Results: /tmp/pacs-bench/<stamp>/{results.jsonl,summary.md,env.txt,pacs-*/}.
# Everything talks to 127.0.0.1 only; every loop and wait is bounded.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DATA=$(cd "${1:-/tmp/pacs-data}" && pwd)
PHASES=${2:-stow qido wado}
PY=${PYTHON:-python3}
DB=${DB:-sqlite}
REPS=${REPS:-20}
BATCH=${STOW_BATCH:-20}; CONC=${STOW_CONC:-4}
TMO=${STEP_TIMEOUT:-1800}
KEY=bench-key
export PYTHONWARNINGS=ignore
export TCP_NODELAY=${TCP_NODELAY:-1}   # dcmtk leaves Nagle on without it (Orthanc's C-STORE load)
BD="$DATA/bulk-100-3-10"
QD="$DATA/bulk-10000-1-1"
BS="$DATA/bulk-1-1-200-big"
# A private Orthanc per measured step (tests/peers/orthanc.sh with ORTHANC_DIR in the run's
# storage), on its own ports: never an Orthanc running on the default :8042.
export ORTHANC_HTTP=${ORTHANC_HTTP:-8052} ORTHANC_DICOM=${ORTHANC_DICOM:-4252}
OHTTP=http://127.0.0.1:$ORTHANC_HTTP
ODW=$OHTTP/dicom-web
RES=/tmp/pacs-bench/$(date +%Y%m%d-%H%M%S)
mkdir -p "$RES"
J="$RES/results.jsonl"
PGDB=pacs_bench_$$
BENCH_NAME=core
OSRV_TIMEOUT=${OSRV_TIMEOUT:-600}   # orthanc.sh reset with ORTHANC_DB=pg waits for pg_ctl too
[ -f "$BD/DONE" ] || { echo "missing $BD: run tests/data/make-data.sh $DATA" >&2; exit 1; }
case $DB in sqlite | pg) ;; *) echo "DB must be sqlite or pg" >&2; exit 2 ;; esac

unset ORTHANC_DIR   # set by ofresh only: cleanup stops the Orthanc it started, no other

# lib.sh: bench_build, pacs_start/stop/done, pg_*, now, record, err, loadavg, osrv, ostat, client
pacs_error() { err pacs "$1" "$2"; }
# shellcheck source=lib.sh
. "$ROOT/benches/lib.sh"
orthanc_ports_free

# ----------------------------------------------------------------- our server
if [ "$DB" = pg ]; then PACS_DB_URL="postgres://postgres@127.0.0.1:5432/$PGDB"; fi

pacs_fresh() {  # NAME: pacs_start from empty state (DB=pg: the database created anew first)
  if [ "$DB" = pg ]; then pg_create "$PGDB" || { err pacs "$1" "cannot create database $PGDB"; return 1; }; fi
  pacs_start "$1"
}

pacs_count() {  # LEVEL -> {"count":N,"status":S}
  timeout 600 "$PY" "$ROOT/benches/pacs_bench.py" count --qido-base "$P/qido/PACS" --auth "$KEY" --level "$1" 2>>"$RES/client-stderr.log" \
    || echo '{"count":-1,"status":"client failed"}'
}

# ofresh NAME: a new, empty Orthanc in $STORE/orthanc-NAME (nothing deleted: see scratch_fs)
ofresh() {
  [ -n "${ORTHANC_DIR:-}" ] && osrv stop
  export ORTHANC_DIR="${STORE:-$RES}/orthanc-$1"
  osrv reset
}

cleanup() {
  pacs_stop
  if [ "$DB" = pg ]; then pg_drop "$PGDB" || true; fi
  if [ -n "${ORTHANC_DIR:-}" ]; then osrv stop || true; fi
  scratch_fs_remove
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Orthanc's C-STORE load for the QIDO set: one storescu association per sending-AET folder.
cstore_dir() {
  timeout "$TMO" /usr/bin/storescu -q -aet "$2" -aec ORTHANC +sd +r +sp '*.dcm' 127.0.0.1 "${ORTHANC_DICOM:-4242}" "$1" \
    2>>"$RES/storescu.log" || echo "storescu $1 rc=$?" >>"$RES/storescu.log"
}
cstore_par() {
  local pids=() d
  for d in "$1"/MOD*; do cstore_dir "$d" "$(basename "$d")" & pids+=($!); done
  wait "${pids[@]}" || true
}

# ----------------------------------------------------------------- build + env
bench_build
SCRATCH_NOTE="on the results directory's filesystem (SCRATCH=0)"
if [ "${SCRATCH:-1}" != 0 ]; then scratch_fs; fi
{
  bench_env_common "db=$DB, fsync=true"
  echo "archives: $SCRATCH_NOTE"
  echo "orthanc: $(Orthanc --version 2>/dev/null | head -1) (SQLite index unless ORTHANC_DB=pg: ${ORTHANC_DB:-sqlite})"
  echo "phases: $PHASES; stow batch=$BATCH conc=$CONC; qido reps=$REPS"
} >"$RES/env.txt"
cat "$RES/env.txt"

# ----------------------------------------------------------------- phases
for phase in $PHASES; do
  echo "=== phase $phase"; pt=$(date +%s); loadavg "$phase"
  case $phase in
  stow)
    NB=$(($(wc -l <"$BD/manifest.csv") - 1))
    ofresh stow-1x1
    client orthanc stow-1x1 stow "$BD" --batch 1 --conc 1 --limit 500 --label stow-1x1
    ofresh stow-20x4
    client orthanc stow-20x4 stow "$BD" --batch "$BATCH" --conc "$CONC" --label stow-20x4
    record "{\"test\":\"stow-rs-check\",\"server\":\"orthanc\",\"instances\":$(ostat CountInstances),\"expected\":$NB}"
    osrv stop
    if pacs_fresh stow-1x1; then
      client pacs stow-1x1 stow "$BD" --batch 1 --conc 1 --limit 500 --label stow-1x1
      pacs_done stow-1x1
    fi
    if pacs_fresh stow-20x4; then
      client pacs stow-20x4 stow "$BD" --batch "$BATCH" --conc "$CONC" --label stow-20x4
      record "{\"test\":\"stow-rs-check\",\"server\":\"pacs\",\"qido_instances\":$(pacs_count instances),\"expected\":$NB}"
      pacs_done stow-20x4
    fi
    ;;
  qido)
    [ -f "$QD/DONE" ] || timeout "$TMO" "$PY" "$ROOT/tests/data/gen_bulk.py" 10000 1 1 "$QD" --seed qido
    ofresh qido
    t=$(now); cstore_par "$QD"; e=$(now); n=$(ostat CountInstances)
    record "$(jq -nc --argjson n "$n" --argjson w "$(echo "$e - $t" | bc)" \
      '{test:"c-store-qido-load",server:"orthanc",associations:4,instances:$n,wall_s:($w*1000|round/1000),inst_per_s:($n/$w*10|round/10)}')"
    record "{\"test\":\"qido-db\",\"server\":\"orthanc\",\"studies\":$(ostat CountStudies)}"
    client orthanc qido qido --manifest "$QD/manifest.csv" --reps "$REPS"
    osrv stop
    if pacs_fresh qido; then
      client pacs qido-load stow "$QD" --batch "$BATCH" --conc "$CONC" --label qido-load
      record "{\"test\":\"qido-db\",\"server\":\"pacs\",\"studies\":$(pacs_count studies)}"
      client pacs qido qido --manifest "$QD/manifest.csv" --reps "$REPS"
      pacs_done qido
    fi
    ;;
  wado)
    [ -f "$BS/DONE" ] || timeout "$TMO" "$PY" "$ROOT/tests/data/gen_bulk.py" 1 1 200 "$BS" --seed bigseries \
      --template "$("$PY" -c 'import data_store,os;print(os.path.dirname(data_store.__file__))')/data/693_UNCR.dcm"
    read -r bst bse _ < <(first_series "$BS/manifest.csv") || true
    read -r sst sse BK < <(first_series "$BD/manifest.csv") || true
    [ -n "${bse:-}" ] && [ -n "${sse:-}" ] || { echo "cannot read the manifests of $BS and $BD" >&2; exit 1; }
    for srv in orthanc pacs; do
      if [ "$srv" = orthanc ]; then ofresh wado; else osrv stop; pacs_fresh wado || continue; fi
      # the same content in both: the big series, 300 bulk instances, the small WSI
      client "$srv" wado-load-big stow "$BS" --batch 20 --conc 2 --label wado-load-big
      client "$srv" wado-load-bulk stow "$BD" --batch 20 --conc 2 --limit 300 --label wado-load-bulk
      client "$srv" wado-load-wsi stow "$DATA/wsi/dicom-small" --batch 1 --conc 1 --label wado-load-wsi
      client "$srv" wado-big wado --study "$bst" --series "$bse" --reps 5 --label "200 x CT 512x512 (693_UNCR), ~100 MiB"
      client "$srv" wado-small wado --study "$sst" --series "$sse" --reps 20 --label "$BK x CT_small 128x128"
      # what a viewer does: instance after instance on one keep-alive connection
      client "$srv" wado-single single --manifest "$BD/manifest.csv" --series "$sse" --reps 5 --label keepalive
      if [ "$srv" = pacs ]; then pacs_done wado; fi
    done
    ;;
  *) echo "unknown phase $phase" >&2; exit 2 ;;
  esac
  echo "--- phase $phase took $(($(date +%s) - pt))s"
done

echo "=== summary (ratios: throughput ours/Orthanc, latency Orthanc/ours; same run, same machine)"
"$PY" "$ROOT/benches/pacs_bench.py" summary "$J" --md "$RES/summary.md"
echo "=== results: $J, $RES/summary.md"
