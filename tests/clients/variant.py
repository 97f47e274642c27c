#!/usr/bin/env python3
"""Writes a copy of a DICOM file with some attributes changed.

  variant.py SRC OUT Keyword=value ...

A value of `NEW` gives a fresh UID (2.25 + a random UUID). Used by the tests to
make instances with chosen UIDs, patients, accession numbers or barcodes.
"""
import sys
import uuid

import pydicom


def main():
    src, out, *pairs = sys.argv[1:]
    ds = pydicom.dcmread(src)
    for pair in pairs:
        key, _, value = pair.partition("=")
        if value == "NEW":
            value = "2.25.%d" % uuid.uuid4().int
        setattr(ds, key, value)
        if key == "SOPInstanceUID":
            ds.file_meta.MediaStorageSOPInstanceUID = value
    ds.save_as(out, enforce_file_format=True)


if __name__ == "__main__":
    sys.exit(main())
