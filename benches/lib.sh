# Shared helpers of the benchmark drivers (benches/*.sh). Source it, do not run it:
#
#   ROOT=...; RES=...; KEY=...      # repo root, results dir (exists), API key of tenant "default"
#   J=$RES/results.jsonl            # for record / err / loadavg / client
#   BENCH_NAME=...                  # optional: names the REV snapshot dirs (default "bench")
#   pacs_error() { ...; }           # optional, also record() and err(): a script's own versions,
#                                   # defined BEFORE sourcing, replace the defaults below
#   # shellcheck source=lib.sh
#   . "$ROOT/benches/lib.sh"
# (with `# shellcheck source-path=SCRIPTDIR` near its top, `shellcheck -x benches/*.sh` run from
# the repo root follows lib.sh too.)
#
# Functions (every wait is bounded; everything talks to 127.0.0.1 only):
#   bench_build           cargo build --release -p pacs-api (log: $RES/build.log) and set BIN.
#                         REV=<commit> builds that commit from a `git archive` snapshot in
#                         REV_SRC (default /tmp/pacs-bench/rev-src-$BENCH_NAME) with its own
#                         target dir REV_TARGET (default /tmp/pacs-bench/rev-target-$BENCH_NAME)
#                         instead of the working tree; NO_BUILD=1 uses the existing binary (and
#                         extracts no snapshot); CARGO_TARGET_DIR is honoured. Sets BIN and
#                         BIN_SOURCE (for env.txt); a build writes BIN_SOURCE to $BIN.built-from,
#                         which a later NO_BUILD=1 run reports (if not older than the binary).
#   pg_sql SQL [DB]       one statement through psql on 127.0.0.1:5432 as user postgres
#                         (output appended to $RES/pg.log; returns psql's status).
#   pg_query SQL [DB]     the same, printing the unaligned tuples-only result on stdout.
#   pg_create DB / pg_drop DB   (re)create / drop a throwaway database.
#   scratch_fs            a fresh ext4 filesystem for this run's archives, mounted at $RES/fs and
#                         backed by a sparse image $RES/fs.img on a loop device (direct I/O);
#                         without a journal when the filesystem under $RES is an ext4 without
#                         one (as this VM's root is), else with one. Sets
#                         STORE=$RES/fs, DEFER_DELETE=1 and SCRATCH_NOTE (for env.txt). Why: on ext4 without a journal (this
#                         VM's root), inodes freed in the last 60-360 s are skipped, one by one,
#                         by every new file's inode search, so a phase that starts after the
#                         previous one's archive was deleted pays up to 2x the CPU per stored
#                         file. On failure (no root, no loop device) it warns and leaves STORE.
#   scratch_fs_remove     unmount, detach and delete it (in the EXIT trap; KEEP=1 leaves it).
#   pacs_config DIR DB_URL STORE_DIR   write DIR/pacs.toml: ephemeral port, data dir
#                         STORE_DIR/data, local medium STORE_DIR/archive (fsync =
#                         ${PACS_FSYNC:-true}), tenant "default" (AE PACS, key $KEY), then
#                         $PACS_EXTRA_TOML verbatim (more tenants...).
#   pacs_start NAME [reuse]     start `$BIN serve` on $RES/pacs-NAME (config and logs) with its
#                         data, archive and default SQLite file in $STORE/pacs-NAME (STORE
#                         defaults to $RES; a new config for
#                         ${PACS_DB_URL:-sqlite://$STORE/pacs-NAME/pacs.sqlite} unless `reuse`),
#                         wait for its ready line (<= 120 s) and check that PACS_PID is the
#                         server itself (/proc/PID/comm is the binary's name, not a wrapper's:
#                         signals and RSS readings go to that pid); sets P (base URL including
#                         /o3-dpacs-wado), PACS_PID, PACS_DIR and PACS_STORE. On failure calls
#                         `pacs_error NAME MESSAGE` (define it to record the error; the default
#                         prints to stderr) and returns 1.
#   pacs_stop             SIGTERM, <= 30 s, then SIGKILL; the server started by pacs_start only.
#   pacs_done NAME        pacs_stop, then drop the archive and SQLite files (unless KEEP=1, or
#                         DEFER_DELETE=1: the scratch filesystem goes as a whole at the end).
#   bench_env_common [PACS_NOTE [CLIENT]]   host, load, binary (PACS_NOTE appended to its line,
#                         e.g. "sqlite, fsync=true"), client (default: Python and requests
#                         versions) and storage lines for env.txt (stdout).
#   now                   the time in seconds (date +%s.%N).
#   record LINE           append a JSON line to $J and echo it on stdout.
#   err [SERVER] WHAT MESSAGE   record {"test":"error",("server":SERVER,)"what":WHAT,"message":MESSAGE}.
#   loadavg PHASE         record {"test":"loadavg","phase":PHASE,"loadavg":"<1 5 15 min>"}.
#   first_series CSV      "STUDY_UID SERIES_UID N" of the first series of a gen_bulk.py
#                         manifest (the first file in path order, as bench_client.py stow
#                         sends them; columns study_uid, series_uid, path), N = its instances.
# Side by side with Orthanc (core.sh, rendering.sh; need OHTTP, ODW, PY, TMO):
#   osrv ARGS...          tests/peers/orthanc.sh ARGS (the private Orthanc of ORTHANC_DIR,
#                         ORTHANC_HTTP, ORTHANC_DICOM; log: $RES/orthanc-ctl.log), bounded by
#                         timeout ${OSRV_TIMEOUT:-120} s.
#   ostat FIELD           a field of Orthanc's /statistics (null when unavailable).
#   client SERVER WHAT ARGS...  benches/pacs_bench.py (benches/bench_client.py with our
#                         Authorization header and base URLs under $P for SERVER=pacs, $ODW
#                         otherwise) bounded by $TMO s; its JSON lines go to $J, a failure
#                         becomes an err line (the run goes on).
# shellcheck shell=bash

PACS_PID=""   # never inherited: pacs_stop signals it
BENCH_NAME=${BENCH_NAME:-bench}

declare -F pacs_error >/dev/null || pacs_error() { echo "ERROR pacs $1: $2" >&2; }
declare -F record >/dev/null || record() { echo "$1" | tee -a "$J"; }
declare -F err >/dev/null || err() {  # [SERVER] WHAT MESSAGE
  if [ $# -ge 3 ]; then
    record "$(jq -nc --arg s "$1" --arg w "$2" --arg m "$3" '{test:"error",server:$s,what:$w,message:$m}')"
  else
    record "$(jq -nc --arg w "$1" --arg m "$2" '{test:"error",what:$w,message:$m}')"
  fi
}
now() { date +%s.%N; }
loadavg() { record "{\"test\":\"loadavg\",\"phase\":\"$1\",\"loadavg\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}"; }

bench_build() {
  local src=$ROOT target=${CARGO_TARGET_DIR:-$ROOT/target} revid
  BIN_SOURCE="working tree at $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null) + $(git -C "$ROOT" status --porcelain 2>/dev/null | wc -l) changed paths"
  if [ -n "${REV:-}" ]; then
    revid=$(git -C "$ROOT" rev-parse --verify "$REV^{commit}") || { echo "unknown REV $REV" >&2; return 2; }
    src=${REV_SRC:-/tmp/pacs-bench/rev-src-$BENCH_NAME}
    target=${REV_TARGET:-/tmp/pacs-bench/rev-target-$BENCH_NAME}
    BIN_SOURCE="commit $revid (git archive snapshot; working tree not used)"
  fi
  BIN=$target/release/pacs
  if [ "${NO_BUILD:-0}" != 1 ]; then
    if [ -n "${REV:-}" ]; then
      rm -rf "$src"; mkdir -p "$src" "$target"
      git -C "$ROOT" archive "$revid" | tar -x -C "$src"
      echo "=== building $revid from $src (target $target)"
    fi
    echo "=== cargo build --release -p pacs-api"
    if ! (cd "$src" && CARGO_TARGET_DIR=$target timeout 3600 cargo build --release -p pacs-api) >"$RES/build.log" 2>&1; then
      tail -20 "$RES/build.log" >&2; echo "build failed (log: $RES/build.log)" >&2; return 1
    fi
    tail -2 "$RES/build.log"
    echo "$BIN_SOURCE" >"$BIN.built-from"   # what NO_BUILD=1 runs report later
  elif [ -f "$BIN.built-from" ] && [ "$(date -r "$BIN.built-from" +%s)" -ge "$(date -r "$BIN" +%s)" ]; then
    BIN_SOURCE="$(cat "$BIN.built-from") [NO_BUILD: recorded at its build]"
  else
    BIN_SOURCE="unknown source [NO_BUILD: existing binary]"
  fi
  [ -x "$BIN" ] || { echo "missing $BIN" >&2; return 1; }
}

pg_sql() {
  psql -h 127.0.0.1 -U postgres -d "${2:-postgres}" -v ON_ERROR_STOP=1 -qtAc "$1" >>"$RES/pg.log" 2>&1
}
pg_query() {
  psql -h 127.0.0.1 -U postgres -d "${2:-postgres}" -v ON_ERROR_STOP=1 -qtAc "$1" 2>>"$RES/pg.log"
}
pg_create() { pg_sql "drop database if exists $1" && pg_sql "create database $1"; }
pg_drop() { pg_sql "drop database if exists $1"; }

pacs_config() {  # DIR DB_URL STORE_DIR
  local d=$1 s=${3:-$1}
  mkdir -p "$d" "$s/data" "$s/archive"
  cat >"$d/pacs.toml" <<EOF
[server]
bind = "127.0.0.1:0"
data_dir = "$s/data"
shutdown_grace_secs = 5
[database]
url = "$2"
[storage]
default_medium = "local"
fsync = ${PACS_FSYNC:-true}
[[storage.media]]
name = "local"
path = "$s/archive"
[[tenants]]
name = "default"
ae_title = "PACS"
api_key = "$KEY"
${PACS_EXTRA_TOML:-}
EOF
}

pacs_start() {  # NAME [reuse] -> sets P, PACS_PID, PACS_DIR
  local d="$RES/pacs-$1" s="${STORE:-$RES}/pacs-$1" line port="" comm want=${BIN##*/}
  # shellcheck disable=SC2034  # PACS_DIR and PACS_STORE are for the caller
  PACS_DIR=$d PACS_STORE=$s
  if [ "${2:-}" != reuse ]; then pacs_config "$d" "${PACS_DB_URL:-sqlite://$s/pacs.sqlite}" "$s"; fi
  RUST_LOG=${PACS_LOG:-warn} setsid "$BIN" serve --config "$d/pacs.toml" >"$d/stdout.log" 2>>"$d/server.log" </dev/null &
  PACS_PID=$!
  for _ in $(seq 1 600); do  # <= 120 s (migrations included)
    line=$(grep -m1 '^pacs ready: listening on http://' "$d/stdout.log" 2>/dev/null || true)
    port=$(sed -n 's#^pacs ready: listening on http://127\.0\.0\.1:\([0-9][0-9]*\).*#\1#p' <<<"$line")
    [ -n "$port" ] && break
    kill -0 "$PACS_PID" 2>/dev/null || break
    sleep 0.2
  done
  if [ -z "$port" ]; then
    pacs_error "$1" "server did not become ready: $(tail -3 "$d/server.log" "$d/stdout.log" 2>/dev/null | tr '\n' ' ')"
    pacs_stop; return 1
  fi
  # signals and RSS readings go to this pid: it must be the server itself, not a wrapper
  comm=$(cat "/proc/$PACS_PID/comm" 2>/dev/null || true); want=${want:0:15}
  if [ "$comm" != "$want" ]; then
    pacs_error "$1" "pid $PACS_PID is $comm, not $want"; pacs_stop; return 1
  fi
  P="http://127.0.0.1:$port/o3-dpacs-wado"
  echo "pacs up (pid $PACS_PID) $P dir=$d"
}

pacs_stop() {
  [ -n "${PACS_PID:-}" ] || return 0
  if kill -0 "$PACS_PID" 2>/dev/null; then
    kill -TERM "$PACS_PID"
    for _ in $(seq 1 150); do kill -0 "$PACS_PID" 2>/dev/null || break; sleep 0.2; done  # <= 30 s
    kill -0 "$PACS_PID" 2>/dev/null && { echo "pacs $PACS_PID ignored SIGTERM for 30 s: SIGKILL" >&2; kill -KILL "$PACS_PID"; }
  fi
  wait "$PACS_PID" 2>/dev/null || true
  PACS_PID=""
}

pacs_done() {  # NAME: stop, drop the archive (unless KEEP=1 or DEFER_DELETE=1), keep config + logs
  pacs_stop
  [ "${KEEP:-0}" = 1 ] || [ "${DEFER_DELETE:-0}" = 1 ] \
    || rm -rf "${STORE:-$RES}/pacs-$1/archive" "${STORE:-$RES}/pacs-$1/pacs.sqlite"*
}

SCRATCH_LOOP=""
scratch_fs() {
  local img="$RES/fs.img" mnt="$RES/fs" dev fstype features=()
  read -r dev fstype < <(findmnt -no SOURCE,FSTYPE -T "$RES" 2>/dev/null | head -1) || true
  # An ext4 without a journal (a journalled one shows up in /proc/fs/jbd2 as <device>-8)
  # is mirrored; anything else gets mkfs's default, with a journal.
  if [ "${fstype:-}" = ext4 ] && ! ls /proc/fs/jbd2 2>/dev/null | grep -q "^${dev##*/}-"; then
    features=(-O ^has_journal)
  fi
  if truncate -s "${SCRATCH_SIZE:-24G}" "$img" \
    && mkfs.ext4 -q -F "${features[@]}" -E nodiscard "$img" \
    && SCRATCH_LOOP=$(losetup --find --show --direct-io=on "$img") \
    && mkdir -p "$mnt" && mount "$SCRATCH_LOOP" "$mnt"; then
    STORE=$mnt DEFER_DELETE=1
    SCRATCH_NOTE="a fresh ext4 ${features[*]:-(with journal)} on $SCRATCH_LOOP ($img, ${SCRATCH_SIZE:-24G} sparse, direct I/O) at $mnt"
  else
    SCRATCH_NOTE="WARNING: no scratch filesystem (needs root and a loop device): archives on $(df --output=source "$RES" | tail -1), where earlier deletions can slow file creation"
    echo "$SCRATCH_NOTE" >&2
    [ -n "$SCRATCH_LOOP" ] && losetup -d "$SCRATCH_LOOP"
    SCRATCH_LOOP=""; rm -f "$img"
  fi
}

scratch_fs_remove() {
  [ -n "$SCRATCH_LOOP" ] || return 0
  if [ "${KEEP:-0}" = 1 ]; then echo "KEEP=1: $RES/fs stays mounted (umount it, losetup -d $SCRATCH_LOOP)"; return 0; fi
  umount "$RES/fs" 2>/dev/null || umount -l "$RES/fs" || true
  losetup -d "$SCRATCH_LOOP" || true
  rm -f "$RES/fs.img"; rmdir "$RES/fs" 2>/dev/null || true
  SCRATCH_LOOP=""
}

first_series() {  # CSV -> "STUDY_UID SERIES_UID N" (see the header)
  "${PY:-python3}" - "$1" <<'PYEOF'
import csv, sys
with open(sys.argv[1], newline="") as fh:
    rows = list(csv.DictReader(fh))
if not rows:
    sys.exit(f"{sys.argv[1]}: no rows")
first = min(rows, key=lambda r: r.get("path") or "")
n = sum(1 for r in rows if r["series_uid"] == first["series_uid"])
print(first["study_uid"], first["series_uid"], n)
PYEOF
}

bench_env_common() {  # [PACS_NOTE [CLIENT]]
  echo "date: $(date -Is)"
  echo "host: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB RAM, $(uname -r)"
  echo "loadavg at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "pacs: $BIN (${BIN_SOURCE:-?}; binary built $(date -r "$BIN" -Is))${1:+, $1}, RUST_LOG=${PACS_LOG:-warn}"
  if [ -n "${2:-}" ]; then echo "client: $2"
  else echo "client: $(${PY:-python3} --version 2>&1), requests $(${PY:-python3} -c 'import requests;print(requests.__version__)' 2>/dev/null)"; fi
  echo "storage: $(df -h "${STORE:-$RES}" | tail -1)"
}

# ----------------------------------------------------------------- side by side with Orthanc
# Exits unless ORTHANC_HTTP and ORTHANC_DICOM are free (orthanc.sh would take a stranger on
# the port for its own Orthanc).
orthanc_ports_free() {
  local port
  for port in "$ORTHANC_HTTP" "$ORTHANC_DICOM"; do
    if ss -Htln "sport = :$port" | grep -q .; then
      echo "port $port is in use by another process: set ORTHANC_HTTP / ORTHANC_DICOM" >&2; exit 1
    fi
  done
}
osrv() { timeout "${OSRV_TIMEOUT:-120}" "$ROOT/tests/peers/orthanc.sh" "$@" >>"$RES/orthanc-ctl.log" 2>&1; }
ostat() { curl -fsS -m 60 "$OHTTP/statistics" 2>/dev/null | jq -r ".$1" 2>/dev/null || echo null; }

# client SERVER WHAT ARGS...: pacs_bench.py (benches/bench_client.py) with a timeout; JSON
# lines go to $J, failures become {"test":"error"} lines (the run goes on).
client() {
  local srv=$1 what=$2; shift 2
  local auth=() out rc=0
  if [ "$srv" = pacs ]; then
    auth=(--auth "$KEY" --stow-base "$P/stowRsListener/BENCH" --qido-base "$P/qido/PACS" --wado-base "$P/wado-rs/PACS")
  else
    auth=(--stow-base "$ODW" --qido-base "$ODW" --wado-base "$ODW")
  fi
  out=$(timeout "$TMO" "$PY" "$ROOT/benches/pacs_bench.py" --server "$srv" "${auth[@]}" "$@" 2>>"$RES/client-stderr.log") || rc=$?
  [ -n "$out" ] && echo "$out" | tee -a "$J"
  if [ "$rc" != 0 ]; then err "$srv" "$what" "client exit $rc (124 = timeout ${TMO}s); see client-stderr.log"; fi
  return 0
}
