#!/usr/bin/env python3
"""A hospital's digital-pathology integration, for the black-box tests.

  patho.py post URL KEY SPEC_JSON
      multipart/form-data upload with python-requests `files=`. SPEC is a JSON
      list of parts: {"name", "text" | "path", "filename"?, "content_type"?}.
      KEY "-" sends no Authorization. Prints {"status", "content_type", "body"}.
  patho.py download URL KEY OUT [RANGE]
      streams the answer to OUT; prints {"status", "headers", "size", "sha1"}.
  patho.py openslide PATH
      {"vendor", "level_count", "level_dimensions"}; a .zip is extracted and its
      .mrxs opened.
  patho.py dicom PATH
      the data set as {keyword: value}, sequences as lists of objects.
  patho.py unzip ZIP DIR
      extracts ZIP into DIR; prints its entry names.
  patho.py mkzip OUT KIND [ARG]
      writes a zip: mirax MRXS (the .mrxs and its data folder), small (a tiny
      valid MIRAX layout), or that layout made hostile: slip, absolute,
      symlink, bomb, nomrxs, outside, twomrxs, many N (N more entries), large N
      (N MiB of incompressible data).
"""
import hashlib
import json
import os
import sys
import tempfile
import warnings
import zipfile
from pathlib import Path


def post(url, key, spec):
    import requests

    files = []
    for p in json.loads(spec):
        data = open(p["path"], "rb") if "path" in p else p["text"].encode()
        files.append((p["name"], (p.get("filename"), data, p.get("content_type"))))
    headers = {} if key == "-" else {"Authorization": key}
    r = requests.post(url, headers=headers, files=files, timeout=300)
    try:
        body = r.json()
    except ValueError:
        body = r.text
    print(json.dumps({"status": r.status_code, "content_type": r.headers.get("content-type"), "body": body}))


def download(url, key, out, rng=None):
    import requests

    headers = {} if key == "-" else {"Authorization": key}
    if rng:
        headers["Range"] = rng
    h, size = hashlib.sha1(), 0
    with requests.get(url, headers=headers, stream=True, timeout=300) as r, open(out, "wb") as f:
        for chunk in r.iter_content(1 << 20):
            f.write(chunk)
            h.update(chunk)
            size += len(chunk)
    print(json.dumps({"status": r.status_code, "headers": {k.lower(): v for k, v in r.headers.items()},
                      "size": size, "sha1": h.hexdigest()}))


def open_slide(path):
    import openslide

    with tempfile.TemporaryDirectory() as tmp:
        if path.endswith(".zip"):
            with zipfile.ZipFile(path) as z:
                z.extractall(tmp)
            path = str(next(Path(tmp).rglob("*.mrxs")))
        s = openslide.OpenSlide(path)
        print(json.dumps({"vendor": s.properties.get(openslide.PROPERTY_NAME_VENDOR),
                          "level_count": s.level_count,
                          "level_dimensions": [list(d) for d in s.level_dimensions]}))


def as_json(ds):
    out = {}
    for el in ds:
        if el.keyword == "PixelData" or not el.keyword:
            continue
        if el.VR == "SQ":
            out[el.keyword] = [as_json(item) for item in el.value]
        elif isinstance(el.value, (bytes, bytearray)):
            out[el.keyword] = el.value.hex()
        elif el.VM > 1:
            out[el.keyword] = [str(v) for v in el.value]
        else:
            out[el.keyword] = "" if el.value is None else str(el.value)
    return out


def dicom(path):
    import pydicom

    ds = pydicom.dcmread(path)
    out = as_json(ds)
    out["TransferSyntaxUID"] = str(ds.file_meta.TransferSyntaxUID)
    out["MediaStorageSOPClassUID"] = str(ds.file_meta.MediaStorageSOPClassUID)
    print(json.dumps(out, ensure_ascii=False))


def unzip(path, out):
    with zipfile.ZipFile(path) as z:
        z.extractall(out)
        print(json.dumps(z.namelist()))


def mkzip(out, kind, arg=None):
    z = zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED)
    if kind == "mirax":  # the scanner's .mrxs and its data folder, as a hospital would zip them
        mrxs = Path(arg)
        z.write(mrxs, mrxs.name)
        folder = mrxs.with_suffix("")
        for f in sorted(folder.iterdir()):
            z.write(f, f"{folder.name}/{f.name}")
        z.close()
        return
    # A small MIRAX layout, plus what makes the zip hostile.
    if kind != "nomrxs":
        z.writestr("s.mrxs", b"[GENERAL]\n")
    z.writestr("s/Slidedat.ini", b"[GENERAL]\nSLIDE_VERSION = 01.02\n")
    if kind == "slip":
        z.writestr("../x", b"escaped")
    elif kind == "absolute":
        z.writestr("/etc/x", b"escaped")
    elif kind == "symlink":
        link = zipfile.ZipInfo("s/Data0000.dat")
        link.create_system = 3
        link.external_attr = 0o120777 << 16
        z.writestr(link, b"/etc/passwd")
    elif kind == "bomb":
        z.writestr("s/Data0000.dat", bytes(50 << 20))
    elif kind == "outside":
        z.writestr("elsewhere/Data0000.dat", b"tiles")
    elif kind == "twice":  # one name twice: a reader sees only one of them
        z.writestr("s/Data0000.dat", b"tiles")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            z.writestr("s/Data0000.dat", b"other tiles")
    elif kind == "nul":  # zipfile cuts names at a NUL: written as X, patched below
        z.writestr("s/Data0000X.dat", b"tiles")
    elif kind == "twomrxs":
        z.writestr("t.mrxs", b"")
    elif kind == "many":
        for i in range(int(arg)):
            z.writestr(f"s/Data{i:04}.dat", b"tile")
    elif kind == "large":
        z.writestr("s/Data0000.dat", os.urandom(int(arg) << 20))
    elif kind not in ("nomrxs", "small"):
        raise SystemExit(f"unknown zip kind {kind}")
    z.close()
    if kind == "nul":
        raw = Path(out).read_bytes()
        Path(out).write_bytes(raw.replace(b"s/Data0000X.dat", b"s/Data0000\0.dat"))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"post": post, "download": download, "openslide": open_slide, "dicom": dicom, "unzip": unzip,
     "mkzip": mkzip}[cmd](*args)
