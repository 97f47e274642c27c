#!/usr/bin/env python3
"""DICOM VL Whole Slide Microscopy series made by OrthancWSIDicomizer.

    dicomize.py dataset OUT.json
        The dataset (patient, study, equipment, container) every conversion
        uses: the dicomizer's --sample-dataset with the test values filled in.
        ContainerIdentifier is SLIDE-0001, the barcode the tests look for.

    dicomize.py convert SOURCE DEST --dataset DS.json [--max-size MB] [--openslide]
                        [--threads N]
        Converts SOURCE (a pyramidal TIFF; with --openslide anything OpenSlide
        reads, such as .svs or .mrxs) into DEST/wsi-NNNNNN.dcm. With
        --max-size the dicomizer splits a level over several instances
        (concatenations). DEST/.log keeps the dicomizer's output.

The dicomizer invents new UIDs on every run, and with several threads it
writes the frames in whatever order they get done. So the conversion runs on
one thread (the default; a few seconds for the small slide), the Study and
Series UIDs, dates and times are given to it (derived from the name of DEST,
so two conversions are two series), and the UIDs it still makes up (SOP
Instance, concatenation, dimension organization) are replaced afterwards with
UIDs derived from DEST and their order of appearance: the same source gives
the same files on every run.

DEST is filled under a temporary name and renamed when complete; an existing
DEST is left alone.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid

import pydicom

DICOMIZER = "OrthancWSIDicomizer"
# Root of the UIDs DCMTK (inside the dicomizer) generates.
GENERATED_ROOT = "1.2.276.0.7230010.3.1."
# A fixed acquisition moment for every slide.
ACQUIRED_DATE, ACQUIRED_TIME = "20240102", "101112"

TEST_VALUES = {
    "PatientID": "WSI-0001",
    "PatientName": "SLIDE^SYNTHETIC",
    "PatientSex": "O",
    "StudyID": "WSI1",
    "AccessionNumber": "WSIACC0001",
    "StudyDescription": "Synthetic H&E slide",
    "ReferringPhysicianName": "",
    "Manufacturer": "PACS test data",
    "ManufacturerModelName": "gen_wsi.py",
    "DeviceSerialNumber": "PACSTEST-0001",
    "SoftwareVersions": "1",
    "ContainerIdentifier": "SLIDE-0001",
}


def derived_uid(*parts):
    name = "pacs-test-data/wsi/" + "/".join(str(p) for p in parts)
    return f"2.25.{uuid.uuid5(uuid.NAMESPACE_URL, name).int}"


def openslide_library():
    for d in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib"):
        path = os.path.join(d, "libopenslide.so.0")
        if os.path.exists(path):
            return path
    sys.exit("[dicomize] libopenslide.so.0 not found (Debian package libopenslide0)")


def cmd_dataset(a):
    sample = subprocess.run([DICOMIZER, "--sample-dataset"], check=True,
                            capture_output=True, text=True).stdout
    dataset = json.loads(sample)
    dataset.update(TEST_VALUES)
    tmp = f"{a.out}.part-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(dataset, fh, indent=1)
        fh.write("\n")
    os.replace(tmp, a.out)
    print(f"[dicomize] {a.out}: container {dataset['ContainerIdentifier']}")
    return 0


def _uid_elements(ds):
    """Every UI element of ds, nested sequences included, in file order."""
    for elem in ds:
        if elem.VR == "SQ":
            for item in elem.value:
                yield from _uid_elements(item)
        elif elem.VR == "UI":
            yield elem


def pin_uids(folder, key, keep):
    """Replaces dicomizer-made UIDs in folder/*.dcm with ones derived from key."""
    mapping = {}
    files = sorted(f for f in os.listdir(folder) if f.endswith(".dcm"))
    for name in files:
        path = os.path.join(folder, name)
        ds = pydicom.dcmread(path)
        changed = False
        for block in (ds.file_meta, ds):
            for elem in _uid_elements(block):
                old = elem.value
                if isinstance(old, str) and old.startswith(GENERATED_ROOT) and old not in keep:
                    if old not in mapping:
                        mapping[old] = derived_uid(key, len(mapping))
                    elem.value = mapping[old]
                    changed = True
        if changed:
            ds.save_as(path)
    return len(files), len(mapping)


def level_summary(folder):
    levels = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith(".dcm"):
            ds = pydicom.dcmread(os.path.join(folder, name), stop_before_pixels=True)
            size = (int(ds.TotalPixelMatrixColumns), int(ds.TotalPixelMatrixRows))
            levels[size] = levels.get(size, 0) + 1
    ordered = sorted(levels.items(), key=lambda kv: -kv[0][0] * kv[0][1])
    return ", ".join(f"{w}x{h}" + (f" in {n}" if n > 1 else "") for (w, h), n in ordered)


def cmd_convert(a):
    dest = os.path.abspath(a.dest)
    if os.path.isdir(dest):
        print(f"[dicomize] exists: {dest}")
        return 0
    parent, base = os.path.split(dest)
    os.makedirs(parent, exist_ok=True)
    tmp = os.path.join(parent, f".{base}.part-{os.getpid()}")
    with open(a.dataset, encoding="utf-8") as fh:
        dataset = json.load(fh)
    keep = {v for v in json.dumps(dataset).split('"') if v.startswith(GENERATED_ROOT)}
    dataset.update({
        "StudyInstanceUID": derived_uid(base, "study"),
        "SeriesInstanceUID": derived_uid(base, "series"),
        "StudyDate": ACQUIRED_DATE, "StudyTime": ACQUIRED_TIME,
        "SeriesDate": ACQUIRED_DATE, "SeriesTime": ACQUIRED_TIME,
        "ContentDate": ACQUIRED_DATE, "ContentTime": ACQUIRED_TIME,
        "AcquisitionDateTime": ACQUIRED_DATE + ACQUIRED_TIME,
    })
    started = time.monotonic()
    try:
        os.makedirs(tmp)
        ds_path = os.path.join(tmp, ".dataset.json")
        with open(ds_path, "w", encoding="utf-8") as fh:
            json.dump(dataset, fh)
        cmd = [DICOMIZER, "--threads", str(a.threads), "--dataset", ds_path, "--folder", tmp]
        if a.max_size is not None:
            cmd += ["--max-size", str(a.max_size)]
        if a.openslide:
            cmd += ["--openslide", openslide_library()]
        cmd.append(os.path.abspath(a.source))
        with open(os.path.join(tmp, ".log"), "w", encoding="utf-8") as log:
            done = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT)
        os.remove(ds_path)
        if done.returncode != 0:
            with open(os.path.join(tmp, ".log"), encoding="utf-8", errors="replace") as log:
                sys.stderr.write("".join(log.readlines()[-8:]))
            print(f"[dicomize] {DICOMIZER} failed ({done.returncode}) on {a.source}", file=sys.stderr)
            return 1
        count, pinned = pin_uids(tmp, base, keep)
        if count == 0:
            print(f"[dicomize] {DICOMIZER} wrote no instance for {a.source}", file=sys.stderr)
            return 1
        levels = level_summary(tmp)
        try:
            os.rename(tmp, dest)
        except OSError:
            if not os.path.isdir(dest):
                raise
            print(f"[dicomize] exists: {dest} (made meanwhile by another run)")
            return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"[dicomize] {dest}: {count} instances ({levels}), {pinned} UIDs pinned, "
          f"{time.monotonic() - started:.1f}s")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("dataset", help="write the dataset JSON")
    p.add_argument("out")
    p.set_defaults(run=cmd_dataset)
    p = sub.add_parser("convert", help="convert a slide")
    p.add_argument("source")
    p.add_argument("dest")
    p.add_argument("--dataset", required=True)
    p.add_argument("--max-size", type=int, help="MB per instance (dicomizer default: 10)")
    p.add_argument("--openslide", action="store_true", help="read SOURCE through OpenSlide")
    p.add_argument("--threads", type=int, default=1,
                   help="more than 1 is faster but makes the frame order vary")
    p.set_defaults(run=cmd_convert)
    a = ap.parse_args()
    return a.run(a)


if __name__ == "__main__":
    # SIGTERM as an exception, so the temporary output is removed on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main())
