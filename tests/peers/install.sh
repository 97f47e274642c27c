#!/usr/bin/env bash
# Installs the peers the integration tests and the benchmarks talk to, on
# Debian 12 (bookworm): Orthanc and its plugins, DCMTK, dicom3tools, GDCM,
# OpenSlide, libvips and a few shell tools from Debian; the Python DICOM and
# DICOMweb libraries from PyPI, at pinned versions; the S3-compatible server of
# the storage tests (moto, PyPI) in a virtual environment of its own; the OHIF
# viewer (npm @ohif/app, its prebuilt dist/) and playwright-core (npm) that drives
# Debian's chromium in the viewer test.
#
#   tests/peers/install.sh              install what is missing (one line when nothing is)
#   tests/peers/install.sh --versions   the same, then list the installed versions
#   tests/peers/install.sh --check      install nothing; exit 1 when something is missing
#   tests/peers/install.sh --s3         only the S3 server (no apt unless the interpreter
#                                       lacks venv): what `cargo test -p pacs-storage` needs
#
# The viewer goes into PACS_OHIF_DIR (default ~/.local/share/pacs-peers/ohif-3.13.2):
# `npm pack` fetches the @ohif/app tarball alone (its dist/ is the built viewer; none
# of its build dependencies are needed), and `npm install` puts playwright-core there.
# Node.js and npm are the machine's; the browser is Debian's chromium.
#
# Runs as root, or through sudo for apt. PYTHON selects the interpreter whose
# site-packages receive the PyPI packages (default: python3 on PATH).
#
# The S3 server is moto_server from moto[server] 5.2.6 (5.2.1 answers
# CompleteMultipartUpload with a root element rust-s3 refuses). It goes into the
# virtual environment PACS_S3_VENV (default ~/.local/share/pacs-peers/moto-5.2.6,
# the default of tests/peers/s3.sh too, which starts it): moto pulls Flask, boto3
# and friends, which stay out of the interpreter the other peers share.
#
# Safe to re-run and to run beside other apt users: apt waits up to 10 minutes
# for the dpkg lock. The second run only asks dpkg and importlib.metadata
# (well under a second).
#
# Debian's orthanc package would start a system-wide Orthanc (/etc/orthanc,
# ports 8042 and 4242) as soon as it is unpacked. The tests and benchmarks run
# their own Orthanc instances, so this script keeps the packaged service from
# starting during the install and stops it if it runs anyway.
#
# Note: pynetdicom puts console scripts named like DCMTK's tools (storescu,
# echoscu, findscu, getscu, movescu, storescp...) in the Python environment's
# bin directory, which usually comes earlier in PATH than /usr/bin. Scripts
# that mean DCMTK must call it by absolute path (/usr/bin/storescu).
set -euo pipefail

SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
PY=${PYTHON:-python3}
say() { printf '[peers] %s\n' "$*"; }

mode=install
case "${1:-}" in
  "") ;;
  --versions) mode=versions ;;
  --check) mode=check ;;
  --s3) mode=s3 ;;
  -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: $0 [--versions|--check|--s3]" >&2; exit 2 ;;
esac

# ----------------------------------------------------------------- S3 server
MOTO_PIN="moto[server]==5.2.6"
MOTO_VENV=${PACS_S3_VENV:-${XDG_DATA_HOME:-$HOME/.local/share}/pacs-peers/moto-5.2.6}

# Succeeds when the venv holds moto at the pinned version, with its server extra.
moto_present() {
  [ -x "$MOTO_VENV/bin/moto_server" ] || return 1
  "$MOTO_VENV/bin/python" - "${MOTO_PIN#*==}" <<'EOF' 2>/dev/null
import sys
from importlib.metadata import version
import flask, moto.server  # noqa: F401  (the server extra is installed)
sys.exit(version("moto") != sys.argv[1])
EOF
}

install_moto() {
  say "pip (venv $MOTO_VENV): $MOTO_PIN"
  mkdir -p "$(dirname "$MOTO_VENV")"
  if ! "$PY" -m venv "$MOTO_VENV" >/dev/null 2>&1; then
    # Debian's own python3 needs python3-venv for this.
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends python3-venv >/dev/null
    "$PY" -m venv "$MOTO_VENV"
  fi
  "$MOTO_VENV/bin/python" -m pip install -q --disable-pip-version-check --no-input "$MOTO_PIN"
  moto_present || { echo "[peers] $MOTO_PIN is still missing from $MOTO_VENV" >&2; exit 1; }
}

if [ "$mode" = s3 ]; then
  if moto_present; then
    say "S3 server present ($MOTO_PIN in $MOTO_VENV)"
  else
    install_moto
    say "installed the S3 server ($MOTO_PIN in $MOTO_VENV)"
  fi
  exit 0
fi

# Debian packages. dcmtk: storescu/findscu/movescu/getscu/echoscu/storescp,
# dcmdump, dump2dcm, wlmscpfs (and its example worklists); dicom3tools:
# dciodvfy; libgdcm-tools: gdcmconv and friends; openslide-tools and
# libvips-tools also bring the libraries openslide-python and pyvips load.
DEBS=(
  orthanc orthanc-dicomweb orthanc-wsi orthanc-gdcm orthanc-postgresql
  dcmtk dicom3tools libgdcm-tools
  openslide-tools libvips-tools
  chromium
  curl jq sqlite3 time bc
  haproxy
)

# PyPI packages, pinned to the versions current when this list was last
# updated (Python 3.11). pyjpegls and retrying are pulled in by highdicom and
# dicomweb-client; they are pinned too so that a new release cannot change
# what the data generators write. Bump the pins together, on purpose.
PINS=(
  pydicom==3.0.2
  pydicom-data==1.0.0
  pynetdicom==3.0.4
  dicomweb-client==0.61.2
  highdicom==0.28.2
  requests==2.34.2
  numpy==2.4.6
  tifffile==2026.3.3
  Pillow==13.0.0
  openslide-python==1.4.7
  pyvips==3.2.0
  pylibjpeg==2.1.0
  pylibjpeg-libjpeg==2.5.0
  pylibjpeg-openjpeg==2.6.0
  pyjpegls==1.5.1
  retrying==1.4.2
)

# npm packages of the viewer test, pinned (playwright-core 1.64.1 was checked
# against Debian's chromium 156).
OHIF_VERSION=3.13.2
PLAYWRIGHT_VERSION=1.64.1
OHIF_DIR=${PACS_OHIF_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/pacs-peers/ohif-$OHIF_VERSION}

# Succeeds when the viewer's dist/ and playwright-core are in OHIF_DIR.
ohif_present() {
  [ -f "$OHIF_DIR/package/dist/index.html" ] || return 1
  [ -f "$OHIF_DIR/node_modules/playwright-core/package.json" ] || return 1
  grep -q "\"version\": \"$PLAYWRIGHT_VERSION\"" "$OHIF_DIR/node_modules/playwright-core/package.json"
}

install_ohif() {
  command -v npm >/dev/null || { echo "[peers] npm (Node.js) is missing: the viewer test needs it" >&2; exit 1; }
  say "npm: @ohif/app@$OHIF_VERSION (dist), playwright-core@$PLAYWRIGHT_VERSION into $OHIF_DIR"
  mkdir -p "$OHIF_DIR"
  (
    cd "$OHIF_DIR"
    rm -rf package ohif-app-*.tgz
    npm pack --silent "@ohif/app@$OHIF_VERSION" >/dev/null
    tar xzf "ohif-app-$OHIF_VERSION.tgz"
    rm -f "ohif-app-$OHIF_VERSION.tgz"
    [ -f package.json ] || echo '{"private": true}' >package.json
    npm install --silent --no-audit --no-fund "playwright-core@$PLAYWRIGHT_VERSION" >/dev/null
  )
  ohif_present || { echo "[peers] the viewer is still missing from $OHIF_DIR" >&2; exit 1; }
}

# ----------------------------------------------------------------- what is missing
missing_debs() {
  local installed
  installed=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' "${DEBS[@]}" 2>/dev/null |
    awk '$1 == "ii" { print $2 }' || true)
  for p in "${DEBS[@]}"; do
    grep -qx "$p" <<<"$installed" || printf '%s\n' "$p"
  done
}

# Prints the pins whose distribution is absent or at another version.
missing_pins() {
  "$PY" - "${PINS[@]}" <<'EOF' 2>/dev/null || printf '%s\n' "${PINS[@]}"
import sys
from importlib.metadata import PackageNotFoundError, version
for pin in sys.argv[1:]:
    name, want = pin.split("==")
    try:
        have = version(name)
    except PackageNotFoundError:
        have = None
    if have != want:
        print(pin)
EOF
}

# The packaged Orthanc runs as the system user "orthanc"; ours never do.
stop_packaged_orthanc() {
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    if systemctl is-enabled --quiet orthanc 2>/dev/null || systemctl is-active --quiet orthanc 2>/dev/null; then
      say "disabling the packaged orthanc service"
      $SUDO systemctl disable --now orthanc >/dev/null 2>&1 || true
    fi
  elif id orthanc >/dev/null 2>&1 && pgrep -u orthanc -x Orthanc >/dev/null 2>&1; then
    say "stopping the packaged orthanc service"
    $SUDO service orthanc stop >/dev/null 2>&1 || true
  fi
}

mapfile -t need_debs < <(missing_debs)
mapfile -t need_pins < <(missing_pins)

need_moto=0
moto_present || need_moto=1
need_ohif=0
ohif_present || need_ohif=1

if [ "$mode" = check ]; then
  ((${#need_debs[@]})) && say "missing apt: ${need_debs[*]}"
  ((${#need_pins[@]})) && say "missing pip: ${need_pins[*]}"
  ((need_moto)) && say "missing S3 server: $MOTO_PIN in $MOTO_VENV"
  ((need_ohif)) && say "missing viewer: @ohif/app@$OHIF_VERSION, playwright-core@$PLAYWRIGHT_VERSION in $OHIF_DIR"
  if ((${#need_debs[@]} + ${#need_pins[@]} + need_moto + need_ohif)); then exit 1; fi
  say "all present (${#DEBS[@]} apt, ${#PINS[@]} pip, S3 server, viewer)"
  exit 0
fi

# ----------------------------------------------------------------- apt
if ((${#need_debs[@]})); then
  say "apt: ${need_debs[*]}"
  log=$(mktemp /tmp/pacs-peers-apt.XXXXXX)
  # A policy-rc.d that answers 101 ("action forbidden") keeps invoke-rc.d from
  # starting services while the packages are configured. Container images
  # often ship one already: then it is left alone.
  policy=/usr/sbin/policy-rc.d
  own_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# temporary, from tests/peers/install.sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod 755 "$policy"
    own_policy=1
  fi
  drop_policy() { if [ "$own_policy" = 1 ]; then $SUDO rm -f "$policy"; own_policy=0; fi; }
  trap drop_policy EXIT
  apt_get() { $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 "$@"; }
  if ! { apt_get update -qq && apt_get install -y -qq --no-install-recommends "${need_debs[@]}"; } >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    echo "[peers] apt-get failed; full log in $log" >&2
    exit 1
  fi
  rm -f "$log"
  drop_policy
  trap - EXIT
  mapfile -t still < <(missing_debs)
  if ((${#still[@]})); then echo "[peers] still missing after apt-get: ${still[*]}" >&2; exit 1; fi
fi
stop_packaged_orthanc

# ----------------------------------------------------------------- pip
if ((${#need_pins[@]})); then
  say "pip: ${need_pins[*]}"
  if ! "$PY" -m pip --version >/dev/null 2>&1; then
    # Debian's own python3 comes without pip.
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends python3-pip >/dev/null
  fi
  pip_args=(-q --disable-pip-version-check --no-input)
  # Debian's python3 is "externally managed" (PEP 668): installing into it
  # needs an explicit opt-in. A pyenv or venv interpreter does not.
  if "$PY" -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")))'; then
    pip_args+=(--break-system-packages)
  fi
  pip_sudo=""
  if [ -n "$SUDO" ] && ! "$PY" -c 'import os, sys, sysconfig; sys.exit(not os.access(sysconfig.get_path("purelib"), os.W_OK))'; then
    pip_sudo=$SUDO
  fi
  $pip_sudo "$PY" -m pip install "${pip_args[@]}" "${PINS[@]}" 2>&1 | grep -v "Running pip as the 'root' user" || true
  mapfile -t still < <(missing_pins)
  if ((${#still[@]})); then echo "[peers] still missing after pip: ${still[*]}" >&2; exit 1; fi
fi

# ----------------------------------------------------------------- S3 server
if ((need_moto)); then install_moto; fi

# ----------------------------------------------------------------- viewer
if ((need_ohif)); then install_ohif; fi

if ((${#need_debs[@]} + ${#need_pins[@]} + need_moto + need_ohif == 0)); then
  say "all present (${#DEBS[@]} apt, ${#PINS[@]} pip, S3 server, viewer)"
else
  say "installed (${#need_debs[@]} apt, ${#need_pins[@]} pip, $need_moto S3 server, $need_ohif viewer)"
fi

# ----------------------------------------------------------------- versions
if [ "$mode" = versions ]; then
  echo "debian:"
  dpkg-query -W -f='  ${Package} ${Version}\n' "${DEBS[@]}"
  echo "python: $("$PY" -c 'import sys; print(sys.executable, sys.version.split()[0])')"
  "$PY" - "${PINS[@]}" <<'EOF'
import sys
from importlib.metadata import version
for pin in sys.argv[1:]:
    name = pin.split("==")[0]
    print(f"  {name} {version(name)}")
EOF
  echo "S3 server: moto $("$MOTO_VENV/bin/python" -c 'from importlib.metadata import version; print(version("moto"))') in $MOTO_VENV"
  echo "viewer: @ohif/app $OHIF_VERSION, playwright-core $PLAYWRIGHT_VERSION in $OHIF_DIR; node $(node --version)"
fi
