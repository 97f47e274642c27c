#!/usr/bin/env python3
"""Prints the SHA-1 of the value of one attribute of a DICOM file, as pydicom
reads it (raw bytes of OB/OW values): GGGGEEEE, or inside sequences
GGGGEEEE/item/GGGGEEEE (items from 0), as a BulkDataURI ends."""
import hashlib
import sys

import pydicom

path, where = sys.argv[1], sys.argv[2].split("/")
node = pydicom.dcmread(path)
while len(where) > 1:
    node = node[int(where[0], 16)].value[int(where[1])]
    where = where[2:]
print(hashlib.sha1(node[int(where[0], 16)].value).hexdigest())
