#!/usr/bin/env python3
"""Prints, for each DICOM file given, a JSON line with its Study Instance UID and
its PatientName as pydicom decodes it (Specific Character Set applied)."""
import json
import sys

import pydicom

for f in sys.argv[1:]:
    try:
        ds = pydicom.dcmread(f, stop_before_pixels=True)
        name = ds.get("PatientName")
        print(json.dumps({"file": f, "study": str(ds.get("StudyInstanceUID", "")),
                          "sop": str(ds.get("SOPInstanceUID", "")),
                          "name": None if name is None else str(name)}, ensure_ascii=False))
    except Exception as e:
        print(json.dumps({"file": f, "error": str(e)}))
