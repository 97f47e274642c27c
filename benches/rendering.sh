#!/usr/bin/env bash
# Rendering benchmark: previews and WSI frames, our `pacs` server and Orthanc 1.10
# (tests/peers/orthanc.sh) in one run.
#
#   benches/rendering.sh [DATA] [PHASES]
#     DATA    output of tests/data/make-data.sh (default /tmp/pacs-data; needs DATA/wsi/dicom-small;
#             DATA/bulk-1-1-200-big is made here with tests/data/gen_bulk.py when missing, as
#             core.sh does)
#     PHASES  space-separated subset of: preview frames   (default: both)
#
# preview: the 200 x 512x512 CT series (bulk-1-1-200-big), loaded by STOW-RS (20 x 2) into an
#   empty server; then, with benches/render_bench.py, every instance previewed once per pass:
#     restart; cold 1 thread; warm 1 thread; restart; cold 4 threads; warm 4 threads;
#     cold 4 threads at 512 px JPEG (ours &size=512, Orthanc Accept: image/jpeg).
#   Ours: GET /o3-dpacs-wado/preview?objectUID={sop} (JPEG, 256 px box); Orthanc:
#   GET /instances/{id}/preview (PNG, full size). "cold" = first render since the process
#   started (our in-memory preview cache is empty; Orthanc caches no renders); the restart
#   also empties Orthanc's storage cache. The OS page cache is warm for both.
# frames: wsi/dicom-small (6 levels, JPEG baseline) loaded by STOW-RS 1 x 1; then
#   bench_client.py frames (through pacs_bench.py) on the largest level, wsi-000000.dcm
#   (768 frames of 256x256), 300 random frames over one connection, Accept
#   multipart/related; type="application/octet-stream"; transfer-syntax=* (stored bytes),
#   then 100 with type="image/jpeg"; transfer-syntax=1.2.840.10008.1.2.4.50.
#
# Env: THREADS (4), FRAME_REPS (300), STEP_TIMEOUT (600 s per client step), PACS_LOG (warn),
#      KEEP=1 keeps our archives and Orthanc's storage, NO_BUILD=1 skips `cargo build`,
#      REV=<commit> builds and measures that commit from a `git archive` snapshot
#      (REV_SRC, default /tmp/pacs-bench/rev-src; REV_TARGET, default /tmp/pacs-bench/rev-target)
#      instead of the working tree, OSRV_TIMEOUT (120 s per orthanc.sh call),
#      ORTHANC_DIR / ORTHANC_HTTP / ORTHANC_DICOM: the Orthanc used. Default: a private
#      instance of tests/peers/orthanc.sh in <results>/orthanc on 127.0.0.1:8052 / :4252,
#      so an Orthanc on orthanc.sh's defaults (/tmp/pacs-orthanc, :8042) is never touched.
#      Pointing ORTHANC_DIR at another instance WIPES its database (orthanc.sh reset);
#      its running/stopped state is restored at the end either way.
#
# Each phase starts both servers from EMPTY state (orthanc.sh reset; ours: a fresh temp dir,
# SQLite database and process, fsync on, as core.sh). Orthanc is measured first and stopped,
# then ours runs alone. Results: /tmp/pacs-bench/<stamp>-render/{results.jsonl,summary.md,
# env.txt,pacs-*/,orthanc-ctl.log}. 127.0.0.1 only; every loop and wait is bounded.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DATA=$(cd "${1:-/tmp/pacs-data}" && pwd)
PHASES=${2:-preview frames}
PY=${PYTHON:-python3}
THREADS=${THREADS:-4}
FREPS=${FRAME_REPS:-300}
TMO=${STEP_TIMEOUT:-600}
KEY=bench-key
export PYTHONWARNINGS=ignore
BS="$DATA/bulk-1-1-200-big"
WSI="$DATA/wsi/dicom-small"
RES=/tmp/pacs-bench/$(date +%Y%m%d-%H%M%S)-render
mkdir -p "$RES"
J="$RES/results.jsonl"
# REV snapshot dirs without lib.sh's -$BENCH_NAME suffix, as documented above and in docs/benchmarks.md
REV_SRC=${REV_SRC:-/tmp/pacs-bench/rev-src}; REV_TARGET=${REV_TARGET:-/tmp/pacs-bench/rev-target}
[ -f "$WSI/wsi-000000.dcm" ] || { echo "missing $WSI: run tests/data/make-data.sh $DATA" >&2; exit 1; }

export ORTHANC_DIR=${ORTHANC_DIR:-$RES/orthanc}
export ORTHANC_HTTP=${ORTHANC_HTTP:-8052}
export ORTHANC_DICOM=${ORTHANC_DICOM:-4252}
OHTTP=http://127.0.0.1:$ORTHANC_HTTP
ODW=$OHTTP/dicom-web
ORTHANC_WAS_RUNNING=0
"$ROOT/tests/peers/orthanc.sh" status >/dev/null 2>&1 && ORTHANC_WAS_RUNNING=1

# lib.sh: bench_build, pacs_start/stop/done, now, record, err, loadavg, osrv, ostat, client
pacs_error() { err pacs "$1" "$2"; }
# shellcheck source=lib.sh
. "$ROOT/benches/lib.sh"
if [ "$ORTHANC_WAS_RUNNING" = 0 ]; then orthanc_ports_free; fi

rss() {  # SERVER PID PHASE: peak and current resident memory of a server process
  local pid=$2
  [ -n "$pid" ] && [ -r "/proc/$pid/status" ] || return 0
  record "$(jq -nc --arg s "$1" --arg p "$3" --argjson h "$(awk '/VmHWM/{print $2}' "/proc/$pid/status")" \
    --argjson r "$(awk '/VmRSS/{print $2}' "/proc/$pid/status")" '{test:"rss",server:$s,phase:$p,peak_mib:($h/1024|round),now_mib:($r/1024|round)}')"
}

# rb SERVER PASS THREADS [ARGS...]: one render_bench.py preview pass over the 200 instances.
rb() {
  local srv=$1 pass=$2 th=$3; shift 3
  local tgt=() out rc=0
  if [ "$srv" = pacs ]; then tgt=(--base "$P" --auth "$KEY"); else tgt=(--orthanc "$OHTTP"); fi
  out=$(timeout "$TMO" "$PY" "$ROOT/benches/render_bench.py" preview --server "$srv" "${tgt[@]}" \
    --manifest "$BS/manifest.csv" --pass "$pass" --threads "$th" "$@" 2>>"$RES/client-stderr.log") || rc=$?
  [ -n "$out" ] && echo "$out" | tee -a "$J"
  if [ "$rc" != 0 ]; then err "$srv" "preview-$pass-$th" "render_bench exit $rc (124 = timeout ${TMO}s; 1 = failed requests)"; fi
  return 0
}

# ----------------------------------------------------------------- our server (SQLite; pacs_start etc.: lib.sh)
pacs_count() {  # -> number of instances our QIDO-RS finds (-1 on failure)
  timeout 120 "$PY" "$ROOT/benches/pacs_bench.py" count --qido-base "$P/qido/PACS" --auth "$KEY" --level instances \
    2>>"$RES/client-stderr.log" | jq -r .count 2>/dev/null || echo -1
}

cleanup() {
  pacs_stop
  if [ "$ORTHANC_WAS_RUNNING" = 1 ]; then osrv start || true; else osrv stop || true; fi
  if [ "${KEEP:-0}" != 1 ] && [ "$ORTHANC_DIR" = "$RES/orthanc" ]; then rm -rf "$RES/orthanc/storage"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ----------------------------------------------------------------- build + env
bench_build
if [ ! -f "$BS/DONE" ]; then
  timeout "$TMO" "$PY" "$ROOT/tests/data/gen_bulk.py" 1 1 200 "$BS" --seed bigseries \
    --template "$("$PY" -c 'import data_store,os;print(os.path.dirname(data_store.__file__))')/data/693_UNCR.dcm"
fi
NB=$(($(wc -l <"$BS/manifest.csv") - 1))
{
  bench_env_common "sqlite, fsync=true"
  echo "orthanc: $(Orthanc --version 2>/dev/null | head -1), dir $ORTHANC_DIR, http $OHTTP, dicom :$ORTHANC_DICOM (was running: $ORTHANC_WAS_RUNNING)"
  echo "phases: $PHASES; preview threads=$THREADS (and 1); frame reps=$FREPS; step timeout ${TMO}s"
} >"$RES/env.txt"
cat "$RES/env.txt"

# restart SERVER: a new process on the same data (empties our preview cache, Orthanc's storage cache)
restart() {
  if [ "$1" = orthanc ]; then osrv restart || err orthanc restart "orthanc.sh restart failed"
  else pacs_stop; pacs_start preview reuse || return 1; fi
}

# ----------------------------------------------------------------- phases
for phase in $PHASES; do
  echo "=== phase $phase"; pt=$(date +%s); loadavg "$phase"
  case $phase in
  preview)
    for srv in orthanc pacs; do
      if [ "$srv" = orthanc ]; then
        osrv reset || { err orthanc reset "orthanc.sh reset failed (see orthanc-ctl.log)"; continue; }
      else
        osrv stop; pacs_start preview || continue
      fi
      client "$srv" preview-load stow "$BS" --batch 20 --conc 2 --label preview-load
      if [ "$srv" = orthanc ]; then n=$(ostat CountInstances); else n=$(pacs_count); fi
      record "{\"test\":\"preview-load-check\",\"server\":\"$srv\",\"instances\":$n,\"expected\":$NB}"
      restart "$srv" || continue
      rb "$srv" cold 1
      rb "$srv" warm 1
      restart "$srv" || continue
      rb "$srv" cold "$THREADS"
      rb "$srv" warm "$THREADS"
      if [ "$srv" = orthanc ]; then
        rb orthanc cold "$THREADS" --accept image/jpeg --label "Accept: image/jpeg (512 px)"
        rss orthanc "$(cat "$ORTHANC_DIR/orthanc.pid" 2>/dev/null)" preview
      else
        rb pacs cold "$THREADS" --size 512 --label "size=512"
        rss pacs "$PACS_PID" preview
        pacs_done preview
      fi
    done
    ;;
  frames)
    read -r st se sop nf < <("$PY" -c "
import pydicom,sys; d=pydicom.dcmread(sys.argv[1],stop_before_pixels=True)
print(d.StudyInstanceUID,d.SeriesInstanceUID,d.SOPInstanceUID,d.NumberOfFrames)" "$WSI/wsi-000000.dcm")
    NW=$(find "$WSI" -name '*.dcm' | wc -l)
    for srv in orthanc pacs; do
      if [ "$srv" = orthanc ]; then
        osrv reset || { err orthanc reset "orthanc.sh reset failed (see orthanc-ctl.log)"; continue; }
      else
        osrv stop; pacs_start frames || continue
      fi
      client "$srv" frames-load stow "$WSI" --batch 1 --conc 1 --label frames-load
      if [ "$srv" = orthanc ]; then n=$(ostat CountInstances); else n=$(pacs_count); fi
      record "{\"test\":\"frames-load-check\",\"server\":\"$srv\",\"instances\":$n,\"expected\":$NW}"
      client "$srv" frames frames --study "$st" --series "$se" --sop "$sop" --frames "$nf" --reps "$FREPS" \
        --label "wsi-000000.dcm, $nf frames 256x256 JPEG"
      client "$srv" frames-jpeg frames --study "$st" --series "$se" --sop "$sop" --frames "$nf" --reps 100 \
        --accept 'multipart/related; type="image/jpeg"; transfer-syntax=1.2.840.10008.1.2.4.50' \
        --label "wsi-000000.dcm, $nf frames 256x256 JPEG"
      if [ "$srv" = orthanc ]; then
        rss orthanc "$(cat "$ORTHANC_DIR/orthanc.pid" 2>/dev/null)" frames
      else
        rss pacs "$PACS_PID" frames
        pacs_done frames
      fi
    done
    ;;
  *) echo "unknown phase $phase" >&2; exit 2 ;;
  esac
  echo "--- phase $phase took $(($(date +%s) - pt))s"
done
osrv stop || true

echo "=== summary (ratios: throughput ours/Orthanc, latency Orthanc/ours; same run, same machine)"
"$PY" "$ROOT/benches/render_bench.py" summary "$J" --md "$RES/summary.md"
echo "=== results: $J, $RES/summary.md"
