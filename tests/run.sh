#!/usr/bin/env bash
# Runs every test of the workspace, on SQLite and on PostgreSQL, on a fresh
# Debian machine with Rust: installs what the tests need (apt and pip packages,
# the lab's DICOM peers and test data), starts PostgreSQL when none answers on
# 127.0.0.1:5432, builds the `pacs` binary and runs `cargo test --workspace`.
#
#   tests/run.sh [extra cargo test arguments]
#
# Env: PACS_LAB (lab scripts, default ../shared/lab), PACS_TEST_DATA (default
# /tmp/pacs-data), PACS_TEST_DATABASE_URL (admin URL; default the local server).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
log() { printf '[tests] %s\n' "$*"; }
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"

# 1. System packages for the build (charls needs cmake) and the tests.
APT=(cmake g++ pkg-config libpq-dev postgresql curl jq python3-pip)
missing=()
for p in "${APT[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  log "apt: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
  $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/tmp/pacs-tests-apt.log 2>&1 \
    || { tail -30 /tmp/pacs-tests-apt.log; exit 1; }
fi

# 2. The lab: DICOM peers (dcmtk, dicom3tools, Orthanc...), Python clients, test data.
LAB=${PACS_LAB:-}
if [ -z "$LAB" ]; then
  for d in "$ROOT/../shared/lab" /work/shared/lab; do
    if [ -x "$d/install.sh" ]; then LAB=$(cd "$d" && pwd); break; fi
  done
fi
[ -n "$LAB" ] || { echo "tests/run.sh: the lab scripts (../shared/lab) are missing; set PACS_LAB" >&2; exit 1; }
"$LAB/install.sh" | grep -v '^  ' || true
# Decoders pydicom needs to render reference images (JPEG lossless, JPEG 2000).
python3 -c "import pylibjpeg, libjpeg, openjpeg" 2>/dev/null \
  || python3 -m pip install -q --disable-pip-version-check pylibjpeg pylibjpeg-libjpeg pylibjpeg-openjpeg
export PACS_TEST_DATA=${PACS_TEST_DATA:-/tmp/pacs-data}
"$LAB/make-data.sh" "$PACS_TEST_DATA" | grep -E 'real:|done' || true

# 3. PostgreSQL: use the one on 127.0.0.1:5432, or start one.
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  if ls /etc/postgresql/*/main >/dev/null 2>&1; then
    log "starting the local PostgreSQL cluster"
    $SUDO pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start || true
  fi
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    log "starting a private PostgreSQL on 127.0.0.1:5432"
    BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
    PGD=/tmp/pacs-test-pg
    if [ ! -f "$PGD/PG_VERSION" ]; then
      $SUDO mkdir -p "$PGD" && $SUDO chown postgres "$PGD"
      $SUDO -u postgres "$BIN/initdb" -D "$PGD" -A trust -U postgres >/dev/null
    fi
    $SUDO -u postgres "$BIN/pg_ctl" -D "$PGD" -o "-p 5432 -k /tmp -c listen_addresses=127.0.0.1" -l "$PGD/log.txt" -w start >/dev/null
  fi
fi
for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
pg_isready -h 127.0.0.1 -p 5432
# Tests create (and drop) one throwaway database each through this admin URL.
export PACS_TEST_DATABASE_URL=${PACS_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}

# 4. Build the binary the black-box tests start, then run every test.
export TCP_NODELAY=1
cargo build --workspace --bins
cargo test --workspace "$@"
