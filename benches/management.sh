#!/usr/bin/env bash
# Management API benchmark: GET /studies/count (every filter, alone and combined) and
# GET /studyEvents (100-event pages) at 100,000 studies on PostgreSQL.
#
#   benches/management.sh [N_STUDIES]        (default 100000)
#
# 1. a throwaway database pacs_mgmt_<pid> on 127.0.0.1:5432 (user postgres), schema by
#    `pacs migrate`, then benches/management_data.sql fills it with SQL generate_series:
#    N_STUDIES + DEP_STUDIES studies of tenant "default" and N_OTHER of tenant "other",
#    received over one year, with patients, series, instances and the event log as the
#    archive's ingest writes them (~2 min, ~2.3 GB at 100,000);
# 2. our server (release build, that database) deprecates DEP_STUDIES studies and
#    DEP_SERIES series through the API, so N_STUDIES studies stay counted;
# 3. validation through the real API against independent SQL (count of every shape,
#    tenant isolation, QIDO-RS on a generated patient, event pages = table rows);
# 4. RUNS passes (a fresh server process each) of benches/management_bench.py bench:
#    per query shape WARMUP untimed then REPS timed requests over one keep-alive
#    connection, p50/p95;
# 5. EXPLAIN (ANALYZE, BUFFERS) of the statement count.rs sends, per count shape;
# 6. the summary table (targets: count p50 <= 50 ms, studyEvents p50 <= 10 ms).
# Orthanc has no equivalent endpoints: the targets are absolute.
#
# Env: RUNS (2), REPS (200), WARMUP (20), N_OTHER (10000), DEP_STUDIES (200),
#      DEP_SERIES (300), PACS_LOG (warn), NO_BUILD=1, REV=<commit> (see benches/lib.sh),
#      KEEP_DB=1 keeps the database (dropped otherwise, also on failure or Ctrl-C).
# Results: /tmp/pacs-bench/<stamp>-mgmt/{results.jsonl,summary.md,env.txt,explain/,pacs-*/}.
# 127.0.0.1 only; every wait is bounded.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${1:-100000}
N_OTHER=${N_OTHER:-10000}
DEP_STUDIES=${DEP_STUDIES:-200}
DEP_SERIES=${DEP_SERIES:-300}
RUNS=${RUNS:-2}
REPS=${REPS:-200}
WARMUP=${WARMUP:-20}
PY=${PYTHON:-python3}
KEY=bench-key
OTHER_KEY=bench-key-other
BENCH_NAME=mgmt
RES=/tmp/pacs-bench/$(date +%Y%m%d-%H%M%S)-mgmt
mkdir -p "$RES"
J="$RES/results.jsonl"
DB=pacs_mgmt_$$
MB="$ROOT/benches/management_bench.py"
for v in N N_OTHER DEP_STUDIES DEP_SERIES RUNS REPS WARMUP; do
  case ${!v} in '' | *[!0-9]*) echo "$v must be a number" >&2; exit 2 ;; esac
done

err() { record "$(jq -nc --arg w "$1" --arg m "$2" '{test:"error",what:$w,message:$m}')" >&2; }
pacs_error() { err "pacs-$1" "$2"; }
# shellcheck source=lib.sh
. "$ROOT/benches/lib.sh"

# mb STEP ARGS...: management_bench.py with a timeout; JSON lines into results.jsonl
mb() {
  local step=$1 rc=0; shift
  timeout 3600 "$PY" "$MB" "$@" 2>>"$RES/client-stderr.log" | tee -a "$J" || rc=$?
  [ "$rc" = 0 ] || err "$step" "management_bench.py exit $rc (124 = timeout); see client-stderr.log"
  return "$rc"
}

cleanup() {
  pacs_stop
  if [ "${KEEP_DB:-0}" = 1 ]; then echo "kept database $DB"; else pg_drop "$DB" || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ----------------------------------------------------------------- build + env
bench_build
{
  bench_env_common "PostgreSQL, fsync=false"
  echo "postgresql: $(pg_query 'show server_version') (shared_buffers $(pg_query 'show shared_buffers'), work_mem $(pg_query 'show work_mem'), jit $(pg_query 'show jit'), max_parallel_workers_per_gather $(pg_query 'show max_parallel_workers_per_gather'), plan_cache_mode force_custom_plan set by the server on its connections)"
  echo "data: $N studies (+$DEP_STUDIES deprecated through the API, +$DEP_SERIES series deprecated) of tenant default, $N_OTHER of tenant other, database $DB"
  echo "runs: $RUNS x (warmup $WARMUP + $REPS timed requests per shape), server restarted per run, pool_size default, 1 client connection"
} >"$RES/env.txt"
cat "$RES/env.txt"

# ----------------------------------------------------------------- database
echo "=== database $DB: migrate + generate"
pg_create "$DB" || { echo "cannot create database $DB (see $RES/pg.log)" >&2; exit 1; }
PACS_EXTRA_TOML="[[tenants]]
name = \"other\"
ae_title = \"OTHER\"
api_key = \"$OTHER_KEY\""
PACS_DB_URL="postgres://postgres@127.0.0.1:5432/$DB"
PACS_FSYNC=false   # nothing is stored in files here
pacs_config "$RES/pacs-1" "$PACS_DB_URL"
"$BIN" migrate --config "$RES/pacs-1/pacs.toml" >>"$RES/migrate.log" 2>&1 || { tail -5 "$RES/migrate.log" >&2; exit 1; }
t=$(now)
gen=$(psql -h 127.0.0.1 -U postgres -d "$DB" -qtAX -v ON_ERROR_STOP=1 -v n_default=$((N + DEP_STUDIES)) -v n_other="$N_OTHER" \
  -v start="'2025-11-01'" -f "$ROOT/benches/management_data.sql" 2>>"$RES/pg.log") || { tail -5 "$RES/pg.log" >&2; exit 1; }
record "$(jq -nc --argjson g "$gen" --arg s "$(echo "$(now) - $t" | bc)" '{test:"generate",wall_s:($s|tonumber|.*10|round/10)} + $g')"

# ----------------------------------------------------------------- changes through the API + validation
pacs_start 1 reuse || exit 1
echo "=== deprecations through the API ($DEP_STUDIES studies, $DEP_SERIES series)"
mb deprecate deprecate --base "$P" --auth "$KEY" --db "$DB" --studies "$DEP_STUDIES" --series "$DEP_SERIES" || exit 1
pg_sql "vacuum analyze" "$DB"   # as autovacuum would after the bulk load; index-only scans need the visibility map
echo "=== validation through the API"
mb validate validate --base "$P" --auth "$KEY" --other-auth "$OTHER_KEY" --db "$DB" \
  --expect-studies "$N" --expect-other "$N_OTHER" | jq -c 'select(.test == "validate-summary" or .ok == false)' || true
pacs_stop

# ----------------------------------------------------------------- measurements
for run in $(seq 1 "$RUNS"); do
  echo "=== run $run of $RUNS (loadavg $(cut -d' ' -f1-3 /proc/loadavg))"
  record "{\"test\":\"loadavg\",\"run\":$run,\"when\":\"start\",\"loadavg\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}"
  mkdir -p "$RES/pacs-run$run"; cp "$RES/pacs-1/pacs.toml" "$RES/pacs-run$run/"   # same database and data dir
  pacs_start "run$run" reuse || continue
  mb "bench-$run" bench --base "$P" --auth "$KEY" --db "$DB" --run "$run" --reps "$REPS" --warmup "$WARMUP" |
    jq -r '"  \(.test) \(.shape): p50 \(.p50_ms) ms, p95 \(.p95_ms) ms\(if .ok then "" else " WRONG" end)"' || true
  record "{\"test\":\"loadavg\",\"run\":$run,\"when\":\"end\",\"loadavg\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}"
  pacs_stop
done

echo "=== EXPLAIN ANALYZE of the count statements ($RES/explain)"
mb explain explain --db "$DB" --outdir "$RES/explain" | jq -r '"  \(.shape): custom plan \(.custom_ms) ms, generic plan \(.generic_ms) ms"' || true

echo "=== summary (p50 / p95 of $REPS requests, client wall time; DB exec = EXPLAIN ANALYZE execution time)"
"$PY" "$MB" summary "$J" --md "$RES/summary.md"
echo "=== results: $J, $RES/summary.md"
