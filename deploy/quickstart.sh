#!/usr/bin/env bash
# The README's first command: installs the build packages a machine with only
# Rust and a C compiler lacks (deploy/build-deps.sh: cmake and g++ for the
# JPEG-LS codec, libpq for PostgreSQL), then builds and runs the archive on its
# embedded default (SQLite database and filesystem archive under ./data, HTTP on
# 127.0.0.1:8080). Arguments go to `pacs serve` (e.g. --config FILE).
#   deploy/quickstart.sh [serve options...]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo >/dev/null || {
  echo "quickstart: cargo is missing: install Rust first (https://rustup.rs)" >&2
  exit 1
}
deploy/build-deps.sh
exec cargo run --release -- serve "$@"
