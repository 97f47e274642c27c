#!/usr/bin/env python3
"""Writes DICOM files whose declared lengths the file cannot hold.

  gen_hostile.py SRC OUT_DIR

SRC is an Implicit VR Little Endian Part 10 file (real/MR_small_implicit.dcm).
A parser that trusts a declared length reserves it before reading: each file
here is about the size of SRC but declares a value of about 2.5 GB.

  length-trailer.dcm  SRC, then an element (after Pixel Data) declaring
                      0x98989898 bytes, of which 16 follow
  length-header.dcm   SRC's data set up to Pixel Data, then such an element:
                      a parse that stops at Pixel Data meets it too
  length-sequence.dcm SRC's data set up to Pixel Data, then a sequence of
                      one item whose element declares 0x98989898 bytes
"""
import struct
import sys
from pathlib import Path

HUGE = 0x98989898


def element(group, elem, length, value=b""):
    """An Implicit VR Little Endian element header (and value)."""
    return struct.pack("<HHI", group, elem, length) + value


def split(data):
    """(everything before the top-level Pixel Data element, the rest)."""
    at = data.rfind(struct.pack("<HH", 0x7FE0, 0x0010))
    if at < 0:
        raise SystemExit("no Pixel Data in the source file")
    return data[:at], data[at:]


def main():
    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    data = src.read_bytes()
    head, _ = split(data)
    garbage = bytes(range(16))
    out.mkdir(parents=True, exist_ok=True)
    (out / "length-trailer.dcm").write_bytes(data + element(0x7FE1, 0x1010, HUGE, garbage))
    (out / "length-header.dcm").write_bytes(head + element(0x0029, 0x1010, HUGE, garbage))
    item = element(0x0008, 0x0100, HUGE, garbage)  # CodeValue, inside the item
    seq = element(0xFFFE, 0xE000, 0xFFFFFFFF, item)
    # Referenced Image Sequence (0008,1140), undefined length, never closed.
    (out / "length-sequence.dcm").write_bytes(head + element(0x0008, 0x1140, 0xFFFFFFFF, seq))


if __name__ == "__main__":
    main()
