#!/usr/bin/env bash
# Builds the data set the integration tests and the benchmarks read.
#
#   tests/data/make-data.sh [OUT]
#
# OUT defaults to $PACS_TEST_DATA, else /tmp/pacs-data: where the tests look.
# Keep it outside the repository (about 170 MB). Needs the peers of
# tests/peers/install.sh. About 30 s on two cores the first time; a second run
# only checks what is there.
#
# Knobs (environment):
#   BULK="N M K"    size of the synthetic bulk set (default "100 3 10": 3000
#                   instances, OUT/bulk-100-3-10, which the tests expect)
#   WSI_SIZE="W H"  size of the small slide (default "8192 6144"; the tests
#                   count on what that size gives)
#   WSI_BIG=1       also big.tiff and big.svs (40960x30720, about 300 MB each)
#                   and wsi/dicom-big/; a minute or two more
#   PYTHON          interpreter with the PyPI packages (default python3)
#
# What it makes:
#   OUT/bulk-N-M-K/      synthetic studies from CT_small/MR_small, under
#                        <AET>/<study>/<series>/, with manifest.csv and DONE
#                        (gen_bulk.py)
#   OUT/kos/             reference Key Object Selection documents by highdicom:
#                        kos-ct_small.dcm (real/CT_small.dcm) and
#                        kos-bulk-study0.dcm (first five files of bulk study 0)
#   OUT/worklists/       DCMTK's example modality worklist: wlistdb/OFFIS/*.wl
#                        (+ lockfile) for wlmscpfs or Orthanc, queries/*.dcm
#   OUT/wsi/             small.tiff, small.svs, small.mrxs + small/ (gen_wsi.py);
#                        ds.json, dicom-small/ (from the TIFF, one instance per
#                        level) and dicom-small-split/ (from the MIRAX through
#                        OpenSlide, at most 2 MB per instance: level 0 in 7)
#                        made by OrthancWSIDicomizer (dicomize.py)
#   OUT/real/            real files from the pydicom and pydicom-data wheels:
#                        46 in real/, 22 malformed or unusual ones in edge/,
#                        the 17 character set files in charset/, pydicom's
#                        DICOMDIR trees in dicomdir/, and catalog.tsv
#                        (catalog.py) describing every file
#   OUT/hostile/         files declaring values of ~2.5 GB they do not hold
#                        (gen_hostile.py, from real/MR_small_implicit.dcm)
#
# Every step is skipped when its output exists, and every output appears
# whole: it is made under a temporary name and renamed at the end, so an
# interrupted run leaves nothing that looks complete. real/ comes last, and
# the tests take real/catalog.tsv as the sign that the whole set is there.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-${PACS_TEST_DATA:-/tmp/pacs-data}}
PY=${PYTHON:-python3}
read -r BN BM BK <<<"${BULK:-100 3 10}"
read -r WW WH <<<"${WSI_SIZE:-8192 6144}"
export PYTHONWARNINGS=ignore

say() { printf '[data] %s\n' "$*"; }
die() { printf '[data] %s\n' "$*" >&2; exit 1; }

command -v OrthancWSIDicomizer >/dev/null || die "OrthancWSIDicomizer missing: run tests/peers/install.sh"
"$PY" -c 'import pydicom, data_store, highdicom, pyvips, tifffile' 2>/dev/null ||
  die "Python packages missing: run tests/peers/install.sh"

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
started=$(date +%s)

# Temporary outputs are named <name>.part-<pid>[...]; remove those whose
# process is gone (a run that was killed), and ours when we exit.
sweep() {
  local p pid
  for p in "$@"; do
    [ -e "$p" ] || continue
    pid=${p##*.part-}; pid=${pid%%[!0-9]*}
    [ -n "$pid" ] || continue
    # Gone, or a zombie nobody has reaped yet.
    if [ ! -d "/proc/$pid" ] || [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ]; then
      rm -rf "$p"
    fi
  done
}
sweep "$OUT"/.*.part-* "$OUT"/wsi/.*.part-* "$OUT"/wsi/*.part-* "$OUT"/kos/*.part-*
cleanup() { rm -rf "$OUT"/.*.part-$$ "$OUT"/wsi/.*.part-$$; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# publish TMP DEST: the rename that makes DEST appear; if another run got
# there first, its DEST stays and ours goes.
publish() {
  if ! mv -T "$1" "$2" 2>/dev/null; then
    [ -d "$2" ] || die "cannot rename $1 to $2"
    rm -rf "$1"
  fi
}

PYD=$("$PY" -c 'import os, pydicom; print(os.path.join(os.path.dirname(pydicom.__file__), "data"))')
PDD=$("$PY" -c 'import os, data_store; print(os.path.join(os.path.dirname(data_store.__file__), "data"))')

# ------------------------------------------------------------------ bulk
BD="$OUT/bulk-$BN-$BM-$BK"
"$PY" "$HERE/gen_bulk.py" "$BN" "$BM" "$BK" "$BD"

# ------------------------------------------------------------------ kos
mkdir -p "$OUT/kos"
"$PY" "$HERE/gen_kos.py" "$OUT/kos/kos-ct_small.dcm" "$PYD/test_files/CT_small.dcm"
# The first five files of study 0 in path order, as the tests pick them.
mapfile -t study0 < <(find "$BD" -path '*/000000/*' -name '*.dcm' | sort | head -n 5)
"$PY" "$HERE/gen_kos.py" "$OUT/kos/kos-bulk-study0.dcm" "${study0[@]}"

# ------------------------------------------------------------------ worklists
# wlmscpfs -dfp OUT/worklists/wlistdb 11112 serves them (called AE title
# OFFIS); findscu -W -aec OFFIS 127.0.0.1 11112 OUT/worklists/queries/wlistqry1.dcm
# asks. Orthanc's worklist plugin reads the .wl files from any folder.
EXAMPLES=/usr/share/doc/dcmtk/examples
if [ -d "$OUT/worklists" ]; then
  say "worklists: up to date"
elif [ ! -d "$EXAMPLES/wlistdb/OFFIS" ]; then
  say "worklists: skipped, $EXAMPLES is missing (dcmtk without its docs)"
else
  tmp="$OUT/.worklists.part-$$"
  mkdir -p "$tmp/wlistdb/OFFIS" "$tmp/queries"
  # The dumps have no SOP Instance UID, so dump2dcm would invent a new Media
  # Storage SOP Instance UID each time; a fixed one per file, put in front of
  # the dump, keeps the files the same from run to run.
  to_dicom() { # DUMP OUT
    local uid
    uid=$("$PY" -c 'import sys, uuid; print("2.25.%d" % uuid.uuid5(uuid.NAMESPACE_URL, "pacs-test-data/worklists/" + sys.argv[1]).int)' "$(basename "$2")")
    { printf '(0002,0003) UI [%s]\n' "$uid"; cat "$1"; } >"$tmp/.dump"
    /usr/bin/dump2dcm -q "$tmp/.dump" "$2"
  }
  for dump in "$EXAMPLES"/wlistdb/OFFIS/*.dump; do
    to_dicom "$dump" "$tmp/wlistdb/OFFIS/$(basename "$dump" .dump).wl"
  done
  for dump in "$EXAMPLES"/wlistqry/*.dump; do
    to_dicom "$dump" "$tmp/queries/$(basename "$dump" .dump).dcm" ||
      say "worklists: $(basename "$dump") does not convert, left out"
  done
  rm -f "$tmp/.dump"
  touch "$tmp/wlistdb/OFFIS/lockfile"
  publish "$tmp" "$OUT/worklists"
  say "worklists: $(find "$OUT/worklists/wlistdb" -name '*.wl' | wc -l) items, $(find "$OUT/worklists/queries" -name '*.dcm' | wc -l) queries"
fi

# ------------------------------------------------------------------ wsi
W="$OUT/wsi"
mkdir -p "$W"
"$PY" "$HERE/gen_wsi.py" "$W" small "$WW" "$WH" --formats tiff,svs,mrxs
if [ "${WSI_BIG:-0}" = 1 ]; then
  "$PY" "$HERE/gen_wsi.py" "$W" big 40960 30720 --formats tiff,svs
fi
[ -f "$W/ds.json" ] || "$PY" "$HERE/dicomize.py" dataset "$W/ds.json"
"$PY" "$HERE/dicomize.py" convert "$W/small.tiff" "$W/dicom-small" --dataset "$W/ds.json"
"$PY" "$HERE/dicomize.py" convert "$W/small.mrxs" "$W/dicom-small-split" --dataset "$W/ds.json" \
  --max-size 2 --openslide
if [ "${WSI_BIG:-0}" = 1 ]; then
  "$PY" "$HERE/dicomize.py" convert "$W/big.tiff" "$W/dicom-big" --dataset "$W/ds.json"
fi
for slide in "$W"/*.tiff "$W"/*.svs "$W"/*.mrxs; do
  [ -e "$slide" ] || continue
  props=$(openslide-show-properties "$slide" 2>/dev/null || true)
  vendor=$(sed -n "s/^openslide.vendor: '\(.*\)'$/\1/p" <<<"$props")
  levels=$(sed -n "s/^openslide.level-count: '\(.*\)'$/\1/p" <<<"$props")
  say "openslide: $(basename "$slide") vendor=${vendor:-?} levels=${levels:-?}"
done

# ------------------------------------------------------------------ real
REAL_PYDICOM=(  # pydicom wheel, pydicom/data/test_files
  CT_small.dcm MR_small.dcm MR_small_implicit.dcm MR_small_bigendian.dcm MR_small_RLE.dcm
  MR_small_jpeg_ls_lossless.dcm MR_small_jp2klossless.dcm JPEG2000.dcm JPGExtended.dcm
  JPEGLSNearLossless_16.dcm SC_rgb_jpeg_dcmtk.dcm SC_rgb_jpeg_gdcm.dcm SC_rgb_rle.dcm
  SC_rgb_rle_2frame.dcm SC_rgb_small_odd_big_endian.dcm image_dfl.dcm ExplVR_BigEnd.dcm
  examples_ybr_color.dcm examples_palette.dcm examples_overlay.dcm examples_jpeg2k.dcm
  liver_1frame.dcm rtdose.dcm rtplan.dcm test-SR.dcm reportsi.dcm waveform_ecg.dcm
  693_J2KI.dcm
)
REAL_DATA=(  # pydicom-data wheel, data_store/data
  US1_UNCR.dcm US1_J2KR.dcm color3d_jpeg_baseline.dcm OBXXXX1A_rle_2frame.dcm
  gdcm-US-ALOKA-16.dcm RG1_UNCR.dcm RG3_J2KI.dcm MR2_J2KI.dcm 693_J2KR.dcm JPEG-LL.dcm
  JPGLosslessP14SV1_1s_1f_8b.dcm eCT_Supplemental.dcm emri_small.dcm
  emri_small_jpeg_ls_lossless.dcm emri_small_RLE.dcm liver.dcm SC_rgb_32bit_2frame.dcm
  MR-SIEMENS-DICOM-WithOverlays.dcm
)
EDGE_PYDICOM=(
  no_meta.dcm no_meta_group_length.dcm meta_missing_tsyntax.dcm MR_truncated.dcm
  rtplan_truncated.dcm badVR.dcm ExplVR_BigEndNoMeta.dcm ExplVR_LitEndNoMeta.dcm
  UN_sequence.dcm empty_charset_LEI.dcm nested_priv_SQ.dcm priv_SQ.dcm rtstruct.dcm
  MR_small_padded.dcm J2K_pixelrep_mismatch.dcm JPEG2000-embedded-sequence-delimiter.dcm
  GDCMJ2K_TextGBR.dcm reportsi_with_empty_number_tags.dcm
)
EDGE_DATA=(
  OT-PAL-8-face.dcm bad_sequence.dcm explicit_VR-UN.dcm emri_small_jpeg_2k_lossless_too_short.dcm
)

if [ -f "$OUT/real/catalog.tsv" ]; then
  say "real: up to date"
else
  tmp="$OUT/.real.part-$$"
  mkdir -p "$tmp/edge" "$tmp/charset" "$tmp/dicomdir"
  copy() { # DEST_DIR SRC_DIR NAME...
    local dest=$1 src=$2; shift 2
    for f in "$@"; do
      [ -f "$src/$f" ] || die "real: $src/$f is missing (pydicom or pydicom-data at another version?)"
      cp -p "$src/$f" "$dest/"
    done
  }
  copy "$tmp" "$PYD/test_files" "${REAL_PYDICOM[@]}"
  copy "$tmp" "$PDD" "${REAL_DATA[@]}"
  copy "$tmp/edge" "$PYD/test_files" "${EDGE_PYDICOM[@]}"
  copy "$tmp/edge" "$PDD" "${EDGE_DATA[@]}"
  cp -p "$PYD"/charset_files/*.dcm "$tmp/charset/"
  cp -Rp "$PYD/test_files/dicomdirtests/." "$tmp/dicomdir/"
  "$PY" "$HERE/catalog.py" --shown-as "$OUT/real" "$tmp" >"$tmp/.catalog.tsv"
  mv "$tmp/.catalog.tsv" "$tmp/catalog.tsv"
  [ -e "$OUT/real" ] && rm -rf "$OUT/real"   # an incomplete one, without catalog.tsv
  publish "$tmp" "$OUT/real"
  say "real: $(find "$OUT/real" -type f ! -name '*.tsv' ! -name '*.txt' | wc -l) files, $(du -sh "$OUT/real" | cut -f1)"
fi

# ------------------------------------------------------------------ hostile
if [ -f "$OUT/hostile/length-trailer.dcm" ]; then
  say "hostile: up to date"
else
  tmp="$OUT/.hostile.part-$$"
  "$PY" "$HERE/gen_hostile.py" "$OUT/real/MR_small_implicit.dcm" "$tmp"
  publish "$tmp" "$OUT/hostile"
  say "hostile: $(ls "$OUT/hostile" | wc -l) files"
fi

say "done in $(($(date +%s) - started))s: $OUT ($(du -sh "$OUT" | cut -f1))"
