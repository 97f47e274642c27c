#!/usr/bin/env python3
"""List DICOM files with their modality, SOP class, transfer syntax and size.

    catalog.py [--md] [--shown-as DIR] PATH...

PATH is a file or a directory (walked recursively). One row per file, sorted:

    path  file  modality  sop_class  transfer_syntax  frames  rows_x_cols  bits  photometric  bytes

`path` is the file's path (under DIR instead of PATH with --shown-as, for a
tree that is catalogued before it is moved into place); `file` is relative to
the directory given. Files that pydicom cannot parse get modality "-" and
"not DICOM: <error>" as SOP class. Text and helper files (README*, *.txt,
*.json, *.tsv, *.md, *.py, dot files, partial downloads) are skipped.
Default output is tab-separated with a header row; --md prints a Markdown table.
"""
import argparse
import os
import sys

import pydicom
from pydicom.uid import UID

COLUMNS = ["path", "file", "modality", "sop_class", "transfer_syntax", "frames",
           "rows_x_cols", "bits", "photometric", "bytes"]
SKIP_SUFFIXES = (".txt", ".json", ".tsv", ".md", ".py", ".pyc", ".dump", ".icc", ".gz",
                 ".part", ".log")


def wanted(name):
    base = os.path.basename(name)
    return not (base.startswith((".", "README")) or base.endswith(SKIP_SUFFIXES) or ".part-" in base)


def walk(path, shown_as):
    """(actual path, displayed path, name relative to the argument)."""
    if not os.path.isdir(path):
        return [(path, path, os.path.basename(path))]
    shown_root = shown_as or path
    found = []
    for root, dirs, files in os.walk(path):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for f in files:
            actual = os.path.join(root, f)
            rel = os.path.relpath(actual, path)
            found.append((actual, os.path.join(shown_root, rel), rel))
    return found


def transfer_syntax(ds):
    meta = getattr(ds, "file_meta", None)
    ts = meta.get("TransferSyntaxUID") if meta is not None else None
    if ts:
        return UID(ts).name
    encoding = "implicit LE" if ds.is_implicit_VR else (
        "explicit LE" if ds.is_little_endian else "explicit BE")
    return f"(no meta) {encoding}"


def describe(actual):
    size = os.path.getsize(actual)
    try:
        ds = pydicom.dcmread(actual, stop_before_pixels=True, force=True)
        has_image = "Rows" in ds
        sop = ds.get("SOPClassUID")
        frames = ds.get("NumberOfFrames") or (1 if has_image else "")
        return [
            ds.get("Modality") or "-",
            UID(sop).name if sop else "-",
            transfer_syntax(ds),
            str(frames),
            f"{ds.get('Rows', '')}x{ds.get('Columns', '')}" if has_image else "",
            str(ds.get("BitsAllocated", "")),
            str(ds.get("PhotometricInterpretation", "")),
            str(size),
        ]
    except Exception as e:  # anything pydicom chokes on is still listed
        return ["-", f"not DICOM: {type(e).__name__}", "", "", "", "", "", str(size)]


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--md", action="store_true", help="Markdown table instead of TSV")
    ap.add_argument("--shown-as", metavar="DIR", help="print paths under DIR instead of PATH")
    ap.add_argument("paths", nargs="+", metavar="PATH")
    a = ap.parse_args()
    entries = []
    for p in a.paths:
        entries += [e for e in walk(p, a.shown_as) if wanted(e[2])]
    entries.sort(key=lambda e: e[1])
    out = sys.stdout
    if a.md:
        out.write("| " + " | ".join(COLUMNS[1:]) + " |\n")
        out.write("|" + "---|" * (len(COLUMNS) - 1) + "\n")
    else:
        out.write("\t".join(COLUMNS) + "\n")
    for actual, shown, rel in entries:
        row = [shown, rel] + describe(actual)
        out.write(("| " + " | ".join(row[1:]) + " |" if a.md else "\t".join(row)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
