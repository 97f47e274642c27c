#!/usr/bin/env bash
# Installs the Debian packages that building `pacs` needs beyond Rust and a C
# compiler, when they are missing (as root, or through sudo):
#   cmake, g++     CharLS, the only JPEG-LS decoder (a C++ library built by cmake)
#   pkg-config, libpq-dev   the PostgreSQL client library diesel links
# Idempotent: prints nothing and changes nothing when everything is present.
#   deploy/build-deps.sh [extra apt packages...]
set -euo pipefail
PKGS=(cmake g++ make pkg-config libpq-dev "$@")
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
((${#missing[@]})) || exit 0
command -v apt-get >/dev/null || {
  echo "build-deps: no apt-get here; install ${missing[*]} with your package manager" >&2
  exit 1
}
SUDO=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "build-deps: run as root, or install sudo, to install ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
echo "[build-deps] apt: ${missing[*]}" >&2
LOG=$(mktemp)
export DEBIAN_FRONTEND=noninteractive
{ $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq \
  && $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"; } >"$LOG" 2>&1 \
  || { tail -30 "$LOG" >&2; rm -f "$LOG"; exit 1; }
rm -f "$LOG"
