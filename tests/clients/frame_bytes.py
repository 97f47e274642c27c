#!/usr/bin/env python3
"""SHA-1 of frames as pydicom finds them: the encapsulated frame (fragments of a
frame concatenated) or the native frame's bytes.

  frame_bytes.py FILE N [N ...]   -> JSON {"N": {"sha1": ..., "length": ...}}
"""
import hashlib
import json
import sys

import pydicom
from pydicom.encaps import generate_frames

path, numbers = sys.argv[1], [int(n) for n in sys.argv[2:]]
ds = pydicom.dcmread(path)
frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
out = {}
if ds.file_meta.TransferSyntaxUID.is_encapsulated:
    all_frames = list(generate_frames(ds.PixelData, number_of_frames=frames))
    for n in numbers:
        f = all_frames[n - 1]
        out[str(n)] = {"sha1": hashlib.sha1(f).hexdigest(), "length": len(f)}
else:
    size = ds.Rows * ds.Columns * ds.SamplesPerPixel * (ds.BitsAllocated // 8)
    for n in numbers:
        f = ds.PixelData[(n - 1) * size:n * size]
        out[str(n)] = {"sha1": hashlib.sha1(f).hexdigest(), "length": len(f)}
print(json.dumps(out))
