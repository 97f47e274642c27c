#!/usr/bin/env python3
"""Prints the SHA-1 of the value of one top-level attribute (GGGGEEEE) of a
DICOM file, as pydicom reads it (raw bytes of OB/OW values)."""
import hashlib
import sys

import pydicom

path, tag = sys.argv[1], int(sys.argv[2], 16)
ds = pydicom.dcmread(path)
print(hashlib.sha1(ds[tag].value).hexdigest())
