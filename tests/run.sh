#!/usr/bin/env bash
# Runs every test of the workspace, on SQLite and on PostgreSQL, on a fresh
# Debian 12 machine with Rust and a C compiler: installs the build packages
# (deploy/build-deps.sh) and the test peers (tests/peers/install.sh: DCMTK,
# dicom3tools, Orthanc, OpenSlide, the Python clients, the S3 server of the
# storage contract), makes the test data
# (tests/data/make-data.sh), starts PostgreSQL when none answers on
# 127.0.0.1:5432, builds the `pacs` binary and runs `cargo test --workspace`.
#
#   tests/run.sh [extra cargo test arguments]
#
# Env: PACS_TEST_DATA (default /tmp/pacs-data), PACS_TEST_DATABASE_URL (admin
# URL; default the local server).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
log() { printf '[tests] %s\n' "$*"; }
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"

# 1. The build packages, and what the tests themselves call (PostgreSQL, curl, jq, pip).
deploy/build-deps.sh postgresql curl jq python3-pip

# 2. The peers (DICOM tools, Orthanc, OpenSlide, Python clients, moto) and the test data.
tests/peers/install.sh
export PACS_TEST_DATA=${PACS_TEST_DATA:-/tmp/pacs-data}
tests/data/make-data.sh "$PACS_TEST_DATA"

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

# 5. The core black-box suites once more with an S3 bucket (moto) as the default
#    medium, on PostgreSQL: every feature must work on a bucket unchanged.
if [ $# -eq 0 ]; then
  log "core suites with a bucket as the default medium (PostgreSQL)"
  PACS_TEST_MEDIUM=bucket PACS_TEST_BACKENDS=postgres \
    cargo test -p pacs-tests --test it -- stow:: rendering:: pathology:: kos:: qido:: management:: corrections:: buckets::
fi
