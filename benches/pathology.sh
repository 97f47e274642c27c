#!/usr/bin/env bash
# Digital-pathology streaming benchmark: upload and download of one large synthetic slide.
#
#   benches/pathology.sh [SIZE_MIB]
#     SIZE_MIB  size of the synthetic slide in MiB (default 4096 = 4 GiB; random bytes)
#
# One run (repeated RUNS times, each on a fresh server, data dir and archive):
#   1. dd     dd if=big.svs of=<work>/dd.out bs=1M conv=fdatasync: the disk's write speed for
#             the same bytes, measured in the same run right before the upload and again right
#             before the download (each phase is compared with the dd just before it: same
#             machine load, same page-cache state; the dd copy is deleted before the phase).
#   2. upload curl -F 'metadata=<meta.json;type=application/json' -F fileHash -F fileLength
#             -F 'file=@big.svs;type=application/octet-stream' (curl streams the file from disk)
#             to POST /o3-dpacs-wado/pathoRsListener/BENCH/studies. Our server runs with
#             storage.fsync = true, so the 200 comes after the slide's fdatasync, like dd's.
#   3. download curl GET /o3-dpacs-wado/wholeslide?barcode=BENCH-SLIDE-1 -o /dev/null: the
#             server reading the stored copy and sending it (CACHE=cold: from disk). The 80 %
#             target is judged on this one: it measures the server, not the client's disk.
#   4. download-file  the same to <work>/down.svs, then fdatasync of that file (timed together:
#             end to end, like dd), then sha1sum (not timed) must equal the original's. Reported
#             with its ratio but not judged: curl's own writes bound it. Peak RSS of the
#             server is judged for both downloads.
#   Peak RSS of the `pacs` process, per phase, two ways: VmHWM from /proc/<pid>/status after
#   `echo 5 > /proc/<pid>/clear_refs` at the start of the phase (primary), and the max of
#   VmRSS sampled every 50 ms (cross-check). Also per phase: CPU seconds (user+sys) of the
#   server (/proc/<pid>/stat), of curl and of dd (/usr/bin/time), and AnonHugePages.
#   Page cache: CACHE=cold (default) evicts the file about to be read (posix_fadvise DONTNEED
#   on that file only, nothing else on the machine) before each dd, the upload and each
#   download, so that every phase reads from disk; CACHE=warm leaves them wherever the page
#   cache has them (normally cached: just written).
# Targets (issue): peak RSS <= 64 MiB during upload and download; upload and download
# throughput >= 80 % of dd's.
#
# The slide, the dd copy and the downloaded copy live in <results>/work (on /tmp: the same
# disk as the archive, which is <results>/pacs-<n>/archive) and are deleted as soon as they
# are no longer needed, the slide at the end (also on failure or Ctrl-C); disk peak is about
# 3 x SIZE (slide + stored copy + downloaded copy).
#
# Env: RUNS (1), PACS_LOG (warn), NO_BUILD=1 skips `cargo build`, KEEP=1 keeps the archives
#      (never the slide), WORK (dir for the slide and the copies, default <results>/work; must
#      be on the archive's disk for the comparison to mean anything), STEP_TIMEOUT (1800 s per
#      transfer), NO_HASH=1 omits the optional fileHash/fileLength parts,
#      REV=<commit> builds that commit from a `git archive` snapshot (REV_SRC, default
#      /tmp/pacs-bench/rev-src-patho; REV_TARGET, default /tmp/pacs-bench/rev-target-patho)
#      instead of the working tree, CACHE=cold|warm (above). The server inherits the
#      environment, so e.g. MIMALLOC_ARENA_EAGER_COMMIT=0 benches/pathology.sh measures the
#      server with that allocator option (env.txt records MIMALLOC_* variables).
# Results: /tmp/pacs-bench/<stamp>-pathology/{results.jsonl,summary.md,env.txt,pacs-<n>/}
# (config, logs, response bodies and headers per run). 127.0.0.1 only; every wait is bounded.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SIZE_MIB=${1:-4096}
RUNS=${RUNS:-1}
TMO=${STEP_TIMEOUT:-1800}
CACHE=${CACHE:-cold}
KEY=bench-key
BARCODE=BENCH-SLIDE-1
RSS_TARGET_MIB=64
RATIO_TARGET=0.80
RES=/tmp/pacs-bench/$(date +%Y%m%d-%H%M%S)-pathology
mkdir -p "$RES"
J="$RES/results.jsonl"
WORK=${WORK:-$RES/work}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
SLIDE="$WORK/big.svs"
BYTES=$((SIZE_MIB * 1024 * 1024))
BENCH_NAME=patho
SAMPLER_PID=""
case $SIZE_MIB in '' | *[!0-9]*) echo "SIZE_MIB must be a number" >&2; exit 2 ;; esac
case $CACHE in warm | cold) ;; *) echo "CACHE must be warm or cold" >&2; exit 2 ;; esac
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 1; }

record() { echo "$1" | tee -a "$J" >/dev/null; }   # quiet: the run prints its own lines
err() { record "$(jq -nc --arg w "$1" --arg m "$2" '{test:"error",what:$w,message:$m}')"; echo "ERROR $1: $2" >&2; }
pacs_error() { err "start-$1" "$2"; }
# lib.sh: bench_build (+ pacs.built-from), pacs_start (checks /proc/PID/comm)/stop/done, now
# shellcheck source=lib.sh
. "$ROOT/benches/lib.sh"
mbps() { awk -v b="$1" -v s="$2" 'BEGIN{if (s > 0) printf "%.1f", b/1e6/s; else printf "0"}'; }  # BYTES SECONDS -> MB/s (10^6, as dd)
since() { awk -v t="$1" -v e="$(now)" 'BEGIN{printf "%.6f", e - t}'; }  # seconds since T
evict() { python3 -c 'import os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); os.fdatasync(fd); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED); os.close(fd)' "$1"; }
cold() { [ "$CACHE" = warm ] || evict "$1"; }  # CACHE=cold: FILE read from disk next time, not from the page cache
TCK=$(getconf CLK_TCK)
cpu_of() { awk -v t="$TCK" '{printf "%.2f", ($14 + $15) / t}' "/proc/$1/stat" 2>/dev/null || echo 0; }  # user+sys CPU seconds of PID
sub() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a - b}'; }
timed() {  # timed OUT CMD...: run CMD, its user+sys CPU seconds into OUT
  /usr/bin/time -f '%U %S' -o "$1.t" "${@:2}"; local rc=$?
  awk 'END{printf "%.2f", $1 + $2}' "$1.t" >"$1" 2>/dev/null || echo 0 >"$1"; rm -f "$1.t"; return $rc
}
fdatasync() { python3 -c 'import os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); os.fdatasync(fd); os.close(fd)' "$1"; }

# ----------------------------------------------------------------- peak RSS of the server
# rss_begin PID NAME: reset VmHWM (clear_refs 5) and start sampling VmRSS every 50 ms.
rss_begin() {
  local pid=$1 out="$RES/rss-$2"
  echo 5 >"/proc/$pid/clear_refs"
  rm -f "$out.stop"
  (
    max=0
    while [ ! -e "$out.stop" ] && [ -r "/proc/$pid/status" ]; do
      while read -r k v _; do
        if [ "$k" = VmRSS: ]; then [ "$v" -gt "$max" ] && max=$v; break; fi
      done <"/proc/$pid/status" 2>/dev/null || true
      echo "$max" >"$out.max"
      sleep 0.05
    done
  ) &
  SAMPLER_PID=$!
}
# rss_end PID NAME -> sets hwm and smax (KiB; -1 when unknown), ahp (AnonHugePages KiB at the end)
rss_end() {
  local pid=$1 out="$RES/rss-$2"
  hwm=$(awk '/^VmHWM:/{print $2}' "/proc/$pid/status" 2>/dev/null || true)
  touch "$out.stop"; wait "$SAMPLER_PID" 2>/dev/null || true; SAMPLER_PID=""
  smax=$(cat "$out.max" 2>/dev/null || true)
  ahp=$(awk '/^AnonHugePages:/{print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null || true); ahp=${ahp:-null}
  hwm=${hwm:--1}; smax=${smax:--1}
  rm -f "$out.stop" "$out.max"
}

cleanup() {
  [ -n "$SAMPLER_PID" ] && { kill "$SAMPLER_PID" 2>/dev/null || true; }
  pacs_stop
  rm -f "$SLIDE" "$WORK/dd.out" "$WORK/down.svs" "$WORK/meta.json" "$RES/cpu" "$RES"/rss-*
  rmdir "$WORK" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ----------------------------------------------------------------- build + env
bench_build
avail_kib=$(df -Pk "$WORK" | awk 'NR==2{print $4}')
if [ "$avail_kib" -lt $((SIZE_MIB * 1024 * 3 + 1048576)) ]; then
  echo "not enough space in $WORK: need ~3 x $SIZE_MIB MiB + 1 GiB, have $((avail_kib / 1024)) MiB" >&2; exit 1
fi
{
  bench_env_common "sqlite, fsync=true" "$(curl --version | head -1)"   # storage: the archive's disk
  echo "slide: $SIZE_MIB MiB ($BYTES bytes) of random bytes in $WORK; runs: $RUNS; page cache: $CACHE"
  echo "transparent huge pages: $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null); MIMALLOC_* env: $(env | grep '^MIMALLOC_' | tr '\n' ' ')"
  echo "work disk: $(df -h "$WORK" | tail -1)"
} >"$RES/env.txt"
cat "$RES/env.txt"

# ----------------------------------------------------------------- the slide
echo "=== generating $SLIDE ($SIZE_MIB MiB random)"
t=$(now)
# AES-CTR keystream from a random key: incompressible, much faster than /dev/urandom
openssl enc -aes-128-ctr -nosalt -pass "pass:$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" -pbkdf2 \
  </dev/zero 2>/dev/null | head -c "$BYTES" >"$SLIDE" || true
[ "$(stat -c %s "$SLIDE")" = "$BYTES" ] || { echo "slide generation failed" >&2; exit 1; }
fdatasync "$SLIDE"   # no dirty pages of the slide left to disturb the measurements
SHA=$(sha1sum "$SLIDE" | cut -d' ' -f1)
record "$(jq -nc --argjson b "$BYTES" --arg sha "$SHA" --argjson s "$(since "$t")" \
  '{test:"slide",bytes:$b,sha1:$sha,gen_and_hash_s:($s*10|round/10)}')"
echo "slide sha1 $SHA"
printf '{"attributes":{"PatientID":"BENCH","AccessionNumber":"BENCHACC1","ContainerIdentifier":"%s"}}\n' "$BARCODE" >"$WORK/meta.json"

dd_phase() {  # RUN WHEN
  local t s out
  timeout 300 sync -f "$WORK" 2>/dev/null || true  # others' dirty pages flushed before, not during
  cold "$SLIDE"
  t=$(now)
  out=$(timed "$RES/cpu" timeout "$TMO" dd if="$SLIDE" of="$WORK/dd.out" bs=1M conv=fdatasync 2>&1) || { err "dd-$1-$2" "$out"; rm -f "$WORK/dd.out"; return 0; }
  s=$(since "$t")
  rm -f "$WORK/dd.out"
  record "$(jq -nc --argjson r "$1" --arg w "$2" --argjson b "$BYTES" --argjson s "$s" --argjson m "$(mbps "$BYTES" "$s")" \
    --argjson c "$(cat "$RES/cpu")" --arg dd "$(tail -1 <<<"$out")" '{test:"dd",run:$r,when:$w,bytes:$b,seconds:($s*1000|round/1000),mb_s:$m,dd_cpu_s:$c,dd_says:$dd}')"
  echo "dd (before the $2): $(mbps "$BYTES" "$s") MB/s, dd CPU $(cat "$RES/cpu") s"
}

# ----------------------------------------------------------------- runs
for run in $(seq 1 "$RUNS"); do
  echo "=== run $run"
  record "{\"test\":\"loadavg\",\"run\":$run,\"loadavg\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}"
  dd_phase "$run" upload
  pacs_start "$run" || continue
  d="$RES/pacs-$run"
  record "$(jq -nc --argjson r "$run" --argjson k "$(awk '/^VmRSS:/{print $2}' "/proc/$PACS_PID/status")" \
    --argjson a "$(awk '/^AnonHugePages:/{print $2}' "/proc/$PACS_PID/smaps_rollup" 2>/dev/null || echo null)" '{test:"rss-idle",run:$r,rss_kib:$k,anon_huge_kib:$a}')"

  # upload
  hash=()
  [ "${NO_HASH:-0}" = 1 ] || hash=(-F "fileHash=$SHA" -F "fileLength=$BYTES")
  cold "$SLIDE"
  c0=$(cpu_of "$PACS_PID")
  rss_begin "$PACS_PID" "up-$run"
  rc=0
  w=$(cd "$WORK" && timed "$RES/cpu" timeout "$TMO" curl -sS -H 'Expect:' -H "Authorization: $KEY" \
    -F 'metadata=<meta.json;type=application/json' "${hash[@]}" \
    -F 'file=@big.svs;type=application/octet-stream' \
    -o "$d/upload-response.json" -w '%{http_code} %{time_total} %{size_upload}' \
    "$P/pathoRsListener/BENCH/studies" 2>>"$RES/curl-stderr.log") || rc=$?
  rss_end "$PACS_PID" "up-$run"
  scpu=$(sub "$(cpu_of "$PACS_PID")" "$c0"); ccpu=$(cat "$RES/cpu")
  read -r code secs sent <<<"${w:-000 0 0}"
  echo "upload: HTTP $code, $secs s, $(mbps "$BYTES" "$secs") MB/s, peak RSS $((hwm / 1024)) MiB (VmHWM) / $((smax / 1024)) MiB (sampled), CPU s server $scpu curl $ccpu"
  [ "$code" = 200 ] && [ "$rc" = 0 ] || err "upload-$run" "curl rc=$rc HTTP $code: $(head -c 500 "$d/upload-response.json" 2>/dev/null)"
  record "$(jq -nc --argjson r "$run" --arg c "$code" --argjson s "$secs" --argjson b "$BYTES" --argjson sent "$sent" \
    --argjson m "$(mbps "$BYTES" "$secs")" --argjson h "$hwm" --argjson x "$smax" --argjson rc "$rc" --argjson sc "$scpu" --argjson cc "$ccpu" --argjson ahp "$ahp" \
    '{test:"upload",run:$r,http:$c,curl_rc:$rc,ok:($c=="200" and $rc==0),bytes:$b,request_bytes:$sent,seconds:$s,mb_s:$m,vmhwm_kib:$h,sampled_max_rss_kib:$x,anon_huge_kib_after:$ahp,server_cpu_s:$sc,curl_cpu_s:$cc}')"

  dd_phase "$run" download
  stored=$(find "$PACS_STORE/archive" -type f -name 'big.svs*' | head -1)
  # (none with a bucket as default medium: benches/buckets.sh runs this script so)
  [ -n "$stored" ] || [ -n "${PACS__STORAGE__DEFAULT_MEDIUM:-}" ] || err "download-$run" "no stored copy of big.svs under $PACS_STORE/archive"

  # download (the target): to /dev/null, the server's read + send
  [ -n "$stored" ] && cold "$stored"
  c0=$(cpu_of "$PACS_PID")
  rss_begin "$PACS_PID" "down-$run"
  rc=0
  w=$(timed "$RES/cpu" timeout "$TMO" curl -sS -H "Authorization: $KEY" -D "$d/download-headers.txt" -o /dev/null \
    -w '%{http_code} %{time_total} %{size_download}' "$P/wholeslide?barcode=$BARCODE" 2>>"$RES/curl-stderr.log") || rc=$?
  rss_end "$PACS_PID" "down-$run"
  scpu=$(sub "$(cpu_of "$PACS_PID")" "$c0"); ccpu=$(cat "$RES/cpu")
  read -r code secs got <<<"${w:-000 0 0}"
  echo "download (to /dev/null): HTTP $code, $got bytes, $secs s, $(mbps "$got" "$secs") MB/s, peak RSS $((hwm / 1024)) MiB (VmHWM) / $((smax / 1024)) MiB (sampled), CPU s server $scpu curl $ccpu"
  [ "$code" = 200 ] && [ "$rc" = 0 ] && [ "$got" = "$BYTES" ] || err "download-$run" "curl rc=$rc HTTP $code bytes=$got"
  record "$(jq -nc --argjson r "$run" --arg c "$code" --argjson s "$secs" --argjson b "$BYTES" --argjson got "$got" \
    --argjson m "$(mbps "$got" "$secs")" --argjson h "$hwm" --argjson x "$smax" --argjson rc "$rc" --argjson sc "$scpu" --argjson cc "$ccpu" --argjson ahp "$ahp" \
    '{test:"download",run:$r,http:$c,curl_rc:$rc,ok:($c=="200" and $rc==0 and $got==$b),bytes:$got,seconds:$s,mb_s:$m,vmhwm_kib:$h,sampled_max_rss_kib:$x,anon_huge_kib_after:$ahp,server_cpu_s:$sc,curl_cpu_s:$cc}')"

  # download-file: end to end, to a file on the same disk + its fdatasync (timed together), then
  # its SHA-1 (not timed) must equal the original's. curl's own writes are in it.
  [ -n "$stored" ] && cold "$stored"
  c0=$(cpu_of "$PACS_PID")
  rss_begin "$PACS_PID" "file-$run"
  rc=0; t=$(now)
  w=$(timed "$RES/cpu" timeout "$TMO" curl -sS -H "Authorization: $KEY" -o "$WORK/down.svs" \
    -w '%{http_code} %{time_total} %{size_download}' "$P/wholeslide?barcode=$BARCODE" 2>>"$RES/curl-stderr.log") || rc=$?
  [ -f "$WORK/down.svs" ] && fdatasync "$WORK/down.svs"
  secs=$(since "$t")
  rss_end "$PACS_PID" "file-$run"
  scpu=$(sub "$(cpu_of "$PACS_PID")" "$c0"); ccpu=$(cat "$RES/cpu")
  read -r code csecs got <<<"${w:-000 0 0}"
  dsha=$(sha1sum "$WORK/down.svs" 2>/dev/null | cut -d' ' -f1 || true)
  [ "$code" = 200 ] || head -c 500 "$WORK/down.svs" >"$d/download-error.txt" 2>/dev/null || true
  rm -f "$WORK/down.svs"
  echo "download-file: HTTP $code, $got bytes, curl $csecs s, +fdatasync $secs s, $(mbps "$BYTES" "$secs") MB/s, sha1 $([ "$dsha" = "$SHA" ] && echo equal || echo DIFFERENT), peak RSS $((hwm / 1024)) MiB (VmHWM) / $((smax / 1024)) MiB (sampled), CPU s server $scpu curl $ccpu"
  [ "$code" = 200 ] && [ "$rc" = 0 ] && [ "$dsha" = "$SHA" ] || err "download-file-$run" "curl rc=$rc HTTP $code bytes=$got sha1=$dsha"
  record "$(jq -nc --argjson r "$run" --arg c "$code" --argjson s "$secs" --argjson cs "$csecs" --argjson b "$BYTES" --argjson got "$got" \
    --argjson m "$(mbps "$BYTES" "$secs")" --argjson h "$hwm" --argjson x "$smax" --argjson rc "$rc" --arg sha "$dsha" --arg want "$SHA" --argjson sc "$scpu" --argjson cc "$ccpu" --argjson ahp "$ahp" \
    '{test:"download-file",run:$r,http:$c,curl_rc:$rc,bytes:$got,sha1_ok:($sha==$want),ok:($c=="200" and $rc==0 and $sha==$want and $got==$b),seconds:$s,curl_seconds:$cs,mb_s:$m,vmhwm_kib:$h,sampled_max_rss_kib:$x,anon_huge_kib_after:$ahp,server_cpu_s:$sc,curl_cpu_s:$cc}')"
  pacs_done "$run"
done

# ----------------------------------------------------------------- summary
echo "=== summary"
CACHE=$CACHE jq -rs --argjson rt "$RATIO_TARGET" --argjson mt "$RSS_TARGET_MIB" --arg size "$SIZE_MIB MiB" '
  def r1: (. * 10 | round) / 10;
  def yn(c): if c then "yes" else "**no**" end;
  (map(select(.test == "error")) | length) as $errors
  | [ .[] | select(.test == "dd") ] as $dd
  | [ .[] | select(.test == "upload" or .test == "download" or .test == "download-file") ] as $ph
  | "Slide: \($size), SHA-1 \((.[] | select(.test == "slide") | .sha1) // "?"). Each phase is compared with the dd run just before it (both downloads: the dd before them). Page cache: \(env.CACHE // "cold").",
    "Peak RSS: VmHWM after clear_refs at the start of each phase (sampled VmRSS every 50 ms in brackets).",
    "",
    "| run | phase | MB/s | dd MB/s | ratio vs dd | target ≥ \($rt * 100 | round) % | peak RSS MiB | RSS ≤ \($mt) MiB | CPU s: server / curl (dd) | check |",
    "|---|---|---|---|---|---|---|---|---|---|",
    ( $ph[] as $p
      | [ $dd[] | select(.run == $p.run and .when == ($p.test | sub("-file$"; ""))) ] as $d
      | ([ $d[].mb_s ] | max) as $base
      | ($p.mb_s / ($base // 1)) as $ratio
      | ($p.vmhwm_kib / 1024) as $hwm
      | ($p.test != "download-file") as $targeted
      | def met(c): if $p.ok then yn(c) else "invalid" end;
      "| \($p.run) | \($p.test) | \($p.mb_s) | \([ $d[].mb_s ] | map(tostring) | join(" / ")) | \(if $base then ($ratio * 100 | round | tostring) + " %" else "—" end) | \(if $targeted and $base then met($ratio >= $rt) else "—" end) | \($hwm | r1) (\($p.sampled_max_rss_kib / 1024 | r1)) | \(if true then met($hwm <= $mt and $p.sampled_max_rss_kib / 1024 <= $mt) else "—" end) | \($p.server_cpu_s) / \($p.curl_cpu_s) (\([ $d[].dd_cpu_s ] | map(tostring) | join(" / "))) | \(if $p.ok then "ok" else "**FAILED** (HTTP \($p.http))" end) |"),
    "",
    "errors: \($errors)"
' "$J" | tee "$RES/summary.md"
echo "=== results: $J, $RES/summary.md"
