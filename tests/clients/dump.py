#!/usr/bin/env python3
"""Prints chosen attributes of a DICOM file as JSON (pydicom decodes it), with
the SHA-1 of its Pixel Data as PixelDataSha1."""
import hashlib
import json
import sys

import pydicom

path = sys.argv[1]
ds = pydicom.dcmread(path)
out = {}
for kw in ["PatientID", "PatientName", "PatientBirthDate", "PatientSex", "StudyInstanceUID", "SeriesInstanceUID",
           "SOPInstanceUID", "AccessionNumber", "StudyDescription", "SpecificCharacterSet"]:
    if kw in ds:
        v = ds.data_element(kw).value
        out[kw] = str(v) if not isinstance(v, (list, pydicom.multival.MultiValue)) else [str(x) for x in v]
for kw in ["Rows", "Columns", "SamplesPerPixel", "NumberOfFrames", "BitsAllocated", "TotalPixelMatrixRows",
           "TotalPixelMatrixColumns"]:
    if kw in ds:
        out[kw] = int(ds.data_element(kw).value)
if "PixelData" in ds:
    out["PixelDataSha1"] = hashlib.sha1(ds.PixelData).hexdigest()
print(json.dumps(out, ensure_ascii=False))
