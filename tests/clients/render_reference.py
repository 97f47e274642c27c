#!/usr/bin/env python3
"""Reference rendering with pydicom + numpy + Pillow, to compare our JPEGs with.

  render_reference.py FILE BOX [FRAME] [CENTER WIDTH]   -> JSON {width, height, mean}
  render_reference.py --jpeg FILE.jpg                    -> JSON {width, height, mean}

The reference follows the usual display pipeline: modality LUT, then the VOI
window (the one asked, else the object's first, else min/max), MONOCHROME1
inverted, palette/YBR to RGB, fitted into BOX x BOX (never enlarged).
"""
import json
import sys

import numpy as np
import pydicom
from PIL import Image
from pydicom.pixels import apply_color_lut, apply_modality_lut, convert_color_space


def stats(img):
    a = np.asarray(img, dtype=np.float64)
    return {"width": img.width, "height": img.height, "mean": float(a.mean())}


def window(values, center, width):
    lo, hi = center - width / 2.0, center + width / 2.0
    return np.clip((values - lo) / max(hi - lo, 1e-9), 0, 1) * 255


def main():
    if sys.argv[1] == "--jpeg":
        print(json.dumps(stats(Image.open(sys.argv[2]))))
        return
    path, box = sys.argv[1], int(sys.argv[2])
    frame = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    ds = pydicom.dcmread(path)
    arr = ds.pixel_array
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    if frames > 1:
        arr = arr[frame - 1]
    pi = ds.PhotometricInterpretation
    if pi == "PALETTE COLOR":
        rgb = apply_color_lut(arr, ds)
        if rgb.dtype != np.uint8:
            rgb = (rgb / 257).astype(np.uint8) if rgb.max() > 255 else rgb.astype(np.uint8)
        img = Image.fromarray(rgb)
    elif ds.SamplesPerPixel == 3:
        if pi.startswith("YBR") and "transfer" not in pi and ds.file_meta.TransferSyntaxUID.is_compressed is False:
            arr = convert_color_space(arr, pi, "RGB")
        if arr.dtype != np.uint8:
            arr = (arr.astype(np.float64) / arr.max() * 255).astype(np.uint8)
        img = Image.fromarray(arr)
    else:
        values = apply_modality_lut(arr, ds).astype(np.float64)
        if len(sys.argv) > 5:
            out = window(values, float(sys.argv[4]), float(sys.argv[5]))
        elif "WindowCenter" in ds and "WindowWidth" in ds:
            c, w = ds.WindowCenter, ds.WindowWidth
            c = float(c[0] if isinstance(c, pydicom.multival.MultiValue) else c)
            w = float(w[0] if isinstance(w, pydicom.multival.MultiValue) else w)
            out = window(values, c, w)
        else:
            lo, hi = values.min(), values.max()
            out = (values - lo) / max(hi - lo, 1e-9) * 255
        if pi == "MONOCHROME1":
            out = 255 - out
        img = Image.fromarray(out.astype(np.uint8))
    w, h = img.size
    scale = min(1.0, box / max(w, h))
    if scale < 1.0:
        img = img.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.BILINEAR)
    print(json.dumps(stats(img)))


if __name__ == "__main__":
    main()
