#!/usr/bin/env python3
"""Synthetic whole-slide images in the layouts OpenSlide reads.

    gen_wsi.py OUTDIR NAME WIDTH HEIGHT [--formats tiff,svs,mrxs] [--quality 80] [--seed 1]

Writes into OUTDIR, skipping every format whose output is already there:

  NAME.tiff   pyramidal tiled TIFF, JPEG tiles of 256x256, resolution tags for
              0.25 um/px; OpenSlide vendor "generic-tiff"
  NAME.svs    Aperio-style SVS: tiled JPEG pyramid with 240x240 tiles, the
              Aperio ImageDescription (MPP, AppMag...) on the baseline, then a
              stripped "label" and "macro" image; vendor "aperio"
  NAME.mrxs   MIRAX: an empty NAME.mrxs beside a NAME/ folder holding
  + NAME/     Slidedat.ini, Index.dat and two data files. One 256x256 JPEG
              camera image per position, no overlap and no position map; each
              level halves the previous one (2x2 images concatenated), up to a
              single image, so both sides are padded to 256 * 2^(levels-1) px
              (8192x8192 for 8192x6144). Macro, label and preview images sit
              in the "Scan data layer"; vendor "mirax"

The picture is an H&E-like section: tissue islands (eosin-pink stroma with
fibres, dark purple nuclei, a few pale lumina) on a light background. It is
computed lazily by libvips from one 2048x2048 patch, so very large sizes
stream (the MIRAX writer holds its level 0 in memory and refuses above about
1.5 GiB). The same arguments always give the same bytes.

Each file is written under a temporary name and renamed when complete.
"""
import argparse
import io
import os
import shutil
import signal
import struct
import sys
import time
import uuid

import numpy as np
import pyvips
import tifffile
from PIL import Image, ImageDraw

MPP = 0.25          # um per pixel at level 0 (a 40x scan)
PATCH = 2048        # side of the texture patch that tiles the slide
BACKGROUND = (243, 242, 246)
MIRAX_MAX_BYTES = 1536 << 20
# Nuclei drawn per patch pixel (before thinning by the density field), and the
# standard deviation of the per-pixel noise. Together they set how well the
# tiles compress, and so how many instances OrthancWSIDicomizer --max-size 2
# makes of the MIRAX level 0: the tests expect 7 for 8192x6144 (about 13.9 MB).
NUCLEI_PER_PIXEL = 0.004
GRAIN = 14.0


# ----------------------------------------------------------------- picture
def _from_numpy(arr, fmt):
    """A pyvips image owning a copy of a (h, w[, bands]) array.

    The wrapper new_from_memory returns only borrows the buffer, and
    copy_memory() of such an image is the same image; rendering a crop of it
    into memory makes the copy that outlives the buffer."""
    h, w = arr.shape[:2]
    bands = 1 if arr.ndim == 2 else arr.shape[2]
    buf = np.ascontiguousarray(arr).tobytes()
    borrowed = pyvips.Image.new_from_memory(buf, w, h, bands, fmt)
    return borrowed.crop(0, 0, w, h).copy_memory()


def _periodic_noise(rng, cells, size, stretch=1):
    """Smooth noise over a size x size square that wraps around at its edges.

    Gaussian values on a coarse grid of cells x (cells * stretch) points are
    upsampled (cubic) from a 3x3 tiling of the grid and the middle period is
    kept, so the result repeats seamlessly. stretch > 1 gives features
    elongated along x. Returns float32 numpy (size, size)."""
    grid = rng.standard_normal((cells * stretch, cells)).astype(np.float32)
    tiled = _from_numpy(np.tile(grid, (3, 3)), "float")
    big = tiled.resize(size / grid.shape[1], vscale=size / grid.shape[0], kernel="cubic")
    middle = big.crop(size, size, size, size).cast("float")
    return np.ndarray(buffer=middle.write_to_memory(), dtype=np.float32, shape=(size, size))


def _ellipse(cx, cy, rx, ry, angle, points=16):
    t = np.linspace(0, 2 * np.pi, points, endpoint=False)
    ca, sa = np.cos(angle), np.sin(angle)
    x, y = rx * np.cos(t), ry * np.sin(t)
    return list(zip((cx + ca * x - sa * y).tolist(), (cy + sa * x + ca * y).tolist()))


def _texture_patch(seed):
    """One PATCH x PATCH RGB square of stained tissue that tiles seamlessly (pyvips)."""
    rng = np.random.default_rng([seed, 0x5EC7])
    p = PATCH
    density = _periodic_noise(rng, 16, p)            # cellular vs. loose regions
    tone = _periodic_noise(rng, 64, p)               # eosin shade
    fibres = _periodic_noise(rng, 24, p, stretch=8)   # collagen streaks along x
    grain = rng.standard_normal((p, p, 3)).astype(np.float32)

    # Stroma: eosin pink, darker and redder where fibres run.
    rgb = np.empty((p, p, 3), np.float32)
    for c, (base, a_tone, a_fib) in enumerate(((236, 10, 12), (164, 16, 22), (204, 8, 14))):
        rgb[..., c] = base + a_tone * tone - a_fib * np.abs(fibres)

    # Nuclei: rotated ellipses of haematoxylin purple, crowded where density is high.
    canvas = Image.new("RGB", (p, p))
    alpha = Image.new("L", (p, p), 0)
    paint, cover = ImageDraw.Draw(canvas), ImageDraw.Draw(alpha)
    spots = rng.integers(0, p, size=(int(p * p * NUCLEI_PER_PIXEL), 2))
    chance = 0.35 + 0.3 * np.tanh(density[spots[:, 1], spots[:, 0]])
    spots = spots[rng.random(len(spots)) < chance]
    for x, y in spots:
        rx, ry = rng.uniform(5, 10), rng.uniform(4, 8)
        angle = rng.uniform(0, np.pi)
        shade = rng.uniform(-1, 1)
        colour = (int(92 + 20 * shade), int(58 + 14 * shade), int(146 + 14 * shade))
        opacity = int(rng.uniform(200, 245))
        # Draw the copies a wrap-around needs, so the patch stays seamless.
        for dx in (-p, 0, p) if min(x, p - x) < 12 else (0,):
            for dy in (-p, 0, p) if min(y, p - y) < 12 else (0,):
                outline = _ellipse(x + dx, y + dy, rx, ry, angle)
                paint.polygon(outline, fill=colour)
                cover.polygon(outline, fill=opacity)
    # Lumina: pale holes rimmed by a darker band (away from the edges).
    for _ in range(int(p * p / 400_000)):
        x, y = rng.integers(80, p - 80, 2)
        rx, ry = rng.uniform(18, 64), rng.uniform(14, 44)
        angle = rng.uniform(0, np.pi)
        paint.polygon(_ellipse(x, y, rx + 5, ry + 5, angle, 32), fill=(198, 112, 166))
        cover.polygon(_ellipse(x, y, rx + 5, ry + 5, angle, 32), fill=170)
        paint.polygon(_ellipse(x, y, rx, ry, angle, 32), fill=(247, 238, 244))
        cover.polygon(_ellipse(x, y, rx, ry, angle, 32), fill=255)

    a = np.asarray(alpha, np.float32)[..., None] / 255.0
    rgb = rgb * (1 - a) + np.asarray(canvas, np.float32) * a + GRAIN * grain
    return _from_numpy(np.clip(rgb + 0.5, 0, 255).astype(np.uint8), "uchar")


def _tissue_mask(seed, w, h):
    """Where the section lies: one irregular piece and a few islands (0/255 uchar)."""
    rng = np.random.default_rng([seed, 0x7155])
    lw, lh = max(16, w // 64), max(16, h // 64)
    grid = rng.standard_normal((7, 9)).astype(np.float32)
    field = np.ndarray(
        buffer=_from_numpy(grid, "float").resize(lw / 9, vscale=lh / 7, kernel="cubic")
        .crop(0, 0, lw, lh).cast("float").write_to_memory(), dtype=np.float32, shape=(lh, lw))
    yy, xx = np.mgrid[0:lh, 0:lw].astype(np.float32)
    envelope = 1 - ((xx / lw - 0.5) / 0.47) ** 2 - ((yy / lh - 0.5) / 0.43) ** 2
    level = 0.8 * field + 1.2 * envelope
    # Thresholding after a smooth upsampling keeps the outline smooth.
    up = _from_numpy(level, "float").resize(w / lw, vscale=h / lh, kernel="linear")
    up = up.embed(0, 0, w, h, extend="copy") if (up.width < w or up.height < h) else up
    return up.crop(0, 0, w, h) > 0


def slide_image(w, h, seed):
    patch = _texture_patch(seed)
    tissue = patch.replicate(-(-w // PATCH), -(-h // PATCH)).crop(0, 0, w, h)
    out = _tissue_mask(seed, w, h).ifthenelse(tissue, list(BACKGROUND))
    return out.copy(interpretation="srgb", xres=1000.0 / MPP, yres=1000.0 / MPP)


def label_image(name, seed, w=420, h=420):
    """A slide label: a frame, the slide name and a 2D-code-like block."""
    img = Image.new("RGB", (w, h), (248, 248, 246))
    d = ImageDraw.Draw(img)
    d.rectangle([6, 6, w - 7, h - 7], outline=(20, 20, 20), width=4)
    d.text((24, 22), f"PACS TEST SLIDE  {name}", fill=(0, 0, 0))
    d.text((24, 40), "H&E  synthetic", fill=(0, 0, 0))
    rng = np.random.default_rng([seed, 0x1AB])
    cells = rng.random((21, 21)) < 0.5
    cells[0, :] = cells[:, 0] = True          # finder edges, as on a Data Matrix
    cells[-1, ::2] = cells[::2, -1] = True
    side = 12
    x0, y0 = (w - 21 * side) // 2, 90
    for (r, c) in zip(*np.nonzero(cells)):
        d.rectangle([x0 + c * side, y0 + r * side, x0 + (c + 1) * side - 1, y0 + (r + 1) * side - 1],
                    fill=(0, 0, 0))
    return img


def overview_image(slide, width=1024):
    """A small in-memory copy of the slide, for the macro and preview images.

    A box shrink streams through the pipeline once; thumbnail_image() on the
    lazy slide would be many times slower."""
    factor = max(1, slide.width // width)
    return slide.shrink(factor, factor).copy_memory()


def macro_image(overview, label):
    """The whole glass slide as an overview camera sees it: label end, then the section."""
    glass_w, glass_h = 1024, 350
    img = Image.new("RGB", (glass_w, glass_h), (226, 228, 232))
    card = label.resize((glass_h - 20, glass_h - 20))
    img.paste(card, (10, 10))
    area_w, area_h = glass_w - glass_h - 20, glass_h - 20
    thumb = _to_pil(overview.thumbnail_image(area_w, height=area_h))
    img.paste(thumb, (glass_h + 10 + (area_w - thumb.width) // 2, 10 + (area_h - thumb.height) // 2))
    return img


def _to_pil(img):
    arr = np.ndarray(buffer=img.write_to_memory(), dtype=np.uint8,
                     shape=(img.height, img.width, img.bands))
    return Image.fromarray(np.ascontiguousarray(arr[..., :3]))


def _jpeg(pil_image, quality):
    buf = io.BytesIO()
    pil_image.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


# ----------------------------------------------------------------- writers
def write_tiff(img, path, quality):
    img.tiffsave(path, tile=True, tile_width=256, tile_height=256, pyramid=True,
                 compression="jpeg", Q=quality, resunit="cm",
                 bigtiff=img.width * img.height * 3 > 3_500_000_000)


def write_svs(img, path, quality, name, seed, overview):
    w, h = img.width, img.height
    fields = [
        "AppMag = 40", "StripeWidth = 2040", "ScanScope ID = PACSTEST1", f"Filename = {name}",
        "Date = 01/02/24", "Time = 10:11:12", "Time Zone = GMT+0100", "User = pacs-test-data",
        f"MPP = {MPP:.4f}", "Left = 25.0", "Top = 20.0", "LineCameraSkew = 0",
        "LineAreaXOffset = 0", "LineAreaYOffset = 0", "Focus Offset = 0", "ImageID = 1",
        "Exposure Time = 32", "Exposure Scale = 0.000001", f"OriginalWidth = {w}",
        f"OriginalHeight = {h}", "ICC Profile = none",
    ]
    description = (f"Aperio Image Library v12.0.15 \n{w}x{h} [0,0 {w}x{h}] (240x240) "
                   f"JPEG/RGB Q={quality}|" + "|".join(fields))
    base = img.copy()
    base.set_type(pyvips.GValue.gstr_type, "image-description", description)
    base.tiffsave(path, tile=True, tile_width=240, tile_height=240, pyramid=True,
                  compression="jpeg", Q=quality, bigtiff=w * h * 3 > 3_500_000_000)
    # Label and macro: stripped, deflate, each with its kind on the second
    # line of its ImageDescription, appended after the pyramid.
    label = label_image(name, seed)
    macro = macro_image(overview, label)
    with tifffile.TiffWriter(path, append=True) as tw:
        for kind, pic in (("label", label), ("macro", macro)):
            arr = np.asarray(pic)
            tw.write(arr, photometric="rgb", compression="zlib", rowsperstrip=32,
                     description=f"Aperio Image Library v12.0.15 \n{kind} {arr.shape[1]}x{arr.shape[0]}",
                     metadata=None)


class _Index:
    """Index.dat under construction: little-endian int32 records and pointers."""

    def __init__(self, slide_id):
        self.buf = bytearray(b"01.02" + slide_id.encode())

    def here(self):
        return len(self.buf)

    def put(self, *values):
        at = len(self.buf)
        self.buf += struct.pack(f"<{len(values)}i", *values)
        return at

    def patch(self, at, value):
        struct.pack_into("<i", self.buf, at, value)


def write_mirax(img, folder, name, quality, seed, overview, tile=256, page_entries=256):
    """Writes folder/{Slidedat.ini,Index.dat,Data0000.dat,Data0001.dat}; returns (levels, nx, ny)."""
    across, down = -(-img.width // tile), -(-img.height // tile)
    levels = 1
    while (1 << (levels - 1)) < max(across, down):
        levels += 1
    span = 1 << (levels - 1)
    nx, ny = -(-across // span) * span, -(-down // span) * span
    if nx * ny * tile * tile * 3 > MIRAX_MAX_BYTES:
        sys.exit(f"[gen_wsi] {name}.mrxs: {nx * tile}x{ny * tile} is too large for the MIRAX writer")
    os.makedirs(folder)
    level_img = img.embed(0, 0, nx * tile, ny * tile, extend="background",
                          background=[255, 255, 255]).copy_memory()

    # Level 0 goes to Data0000.dat, every other level and the associated
    # images to Data0001.dat (scanners spread a slide over many data files).
    data = [bytearray(), bytearray()]
    hier = []  # per level: [(image_index, offset, length, fileno)]
    for z in range(levels):
        fileno = 0 if z == 0 else 1
        step = 1 << z
        entries = []
        for gy in range(0, ny, step):
            for gx in range(0, nx, step):
                region = level_img.crop((gx // step) * tile, (gy // step) * tile, tile, tile)
                jpg = region.jpegsave_buffer(Q=quality)
                entries.append((gy * nx + gx, len(data[fileno]), len(jpg), fileno))
                data[fileno] += jpg
        hier.append(entries)
        if z + 1 < levels:
            level_img = level_img.shrink(2, 2).copy_memory()

    label = label_image(name, seed)
    associated = [("ScanDataLayer_SlideThumbnail", "THUMBNAIL_IMAGE_TYPE", macro_image(overview, label)),
                  ("ScanDataLayer_SlideBarcode", "BARCODE_IMAGE_TYPE", label),
                  ("ScanDataLayer_SlidePreview", "PREVIEW_IMAGE_TYPE", _to_pil(overview.thumbnail_image(512)))]
    nonhier = []
    for _, _, pic in associated:
        jpg = _jpeg(pic, quality)
        nonhier.append((len(data[1]), len(jpg), 1))
        data[1] += jpg

    slide_id = uuid.uuid5(uuid.NAMESPACE_URL, f"pacs-test-data/mirax/{name}/{seed}").hex
    index = _Index(slide_id)
    hier_root = index.put(0)
    nonhier_root = index.put(0)
    # Associated images first: a table of record pointers, then each record
    # (0, pointer to its one-entry page) and the page itself.
    index.patch(nonhier_root, index.here())
    table = [index.put(0) for _ in nonhier]
    for slot, (offset, length, fileno) in zip(table, nonhier):
        record = index.put(0, 0)
        index.patch(slot, record)
        index.patch(record + 4, index.here())
        index.put(1, 0, 0, 0, offset, length, fileno)
    # Levels: a table of record pointers; each record points to a chain of
    # pages of at most page_entries entries (count, next page, entries...).
    index.patch(hier_root, index.here())
    table = [index.put(0) for _ in hier]
    for slot, entries in zip(table, hier):
        record = index.put(0, 0)
        index.patch(slot, record)
        link = record + 4
        for first in range(0, len(entries), page_entries):
            chunk = entries[first:first + page_entries]
            index.patch(link, index.here())
            page = index.put(len(chunk), 0)
            link = page + 4
            for e in chunk:
                index.put(*e)

    ini = ["[GENERAL]", "SLIDE_VERSION = 01.02", f"SLIDE_ID = {slide_id}", f"SLIDE_NAME = {name}",
           "SLIDE_TYPE = Brightfield", "PROJECT_NAME = pacs-test-data",
           f"IMAGENUMBER_X = {nx}", f"IMAGENUMBER_Y = {ny}", "OBJECTIVE_MAGNIFICATION = 40",
           "CameraImageDivisionsPerSide = 1", "",
           "[HIERARCHICAL]", "HIER_COUNT = 1", "HIER_0_NAME = Slide zoom level",
           f"HIER_0_COUNT = {levels}"]
    for z in range(levels):
        ini += [f"HIER_0_VAL_{z} = ZoomLevel_{z}", f"HIER_0_VAL_{z}_SECTION = LAYER_0_LEVEL_{z}_SECTION"]
    ini += ["NONHIER_COUNT = 1", "NONHIER_0_NAME = Scan data layer",
            f"NONHIER_0_COUNT = {len(associated)}"]
    for i, (value, _, _) in enumerate(associated):
        ini += [f"NONHIER_0_VAL_{i} = {value}",
                f"NONHIER_0_VAL_{i}_SECTION = NONHIERLAYER_0_VAL_{i}_SECTION"]
    ini += ["INDEXFILE = Index.dat", "", "[DATAFILE]", f"FILE_COUNT = {len(data)}"]
    ini += [f"FILE_{i} = Data{i:04d}.dat" for i in range(len(data))] + [""]
    for z in range(levels):
        ini += [f"[LAYER_0_LEVEL_{z}_SECTION]", "OVERLAP_X = 0", "OVERLAP_Y = 0",
                f"MICROMETER_PER_PIXEL_X = {MPP * (1 << z)}",
                f"MICROMETER_PER_PIXEL_Y = {MPP * (1 << z)}",
                "IMAGE_FORMAT = JPEG", "IMAGE_FILL_COLOR_BGR = 16777215",
                f"DIGITIZER_WIDTH = {tile}", f"DIGITIZER_HEIGHT = {tile}",
                f"IMAGE_CONCAT_FACTOR = {0 if z == 0 else 1}", ""]
    for i, (_, key, _) in enumerate(associated):
        ini += [f"[NONHIERLAYER_0_VAL_{i}_SECTION]", f"{key} = JPEG", ""]

    for i, blob in enumerate(data):
        with open(os.path.join(folder, f"Data{i:04d}.dat"), "wb") as fh:
            fh.write(blob)
    with open(os.path.join(folder, "Index.dat"), "wb") as fh:
        fh.write(index.buf)
    with open(os.path.join(folder, "Slidedat.ini"), "w", encoding="utf-8") as fh:
        fh.write("\n".join(ini))
    return levels, nx, ny


# ----------------------------------------------------------------- main
def _size(path):
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path))
    return os.path.getsize(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir")
    ap.add_argument("name")
    ap.add_argument("width", type=int)
    ap.add_argument("height", type=int)
    ap.add_argument("--formats", default="tiff,svs,mrxs")
    ap.add_argument("--quality", "--q", type=int, default=80, help="JPEG quality (default 80)")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    formats = [f for f in a.formats.split(",") if f]
    unknown = set(formats) - {"tiff", "svs", "mrxs"}
    if unknown:
        ap.error(f"unknown format(s): {', '.join(sorted(unknown))}")
    os.makedirs(a.outdir, exist_ok=True)
    img = overview = None
    for fmt in formats:
        final = os.path.join(a.outdir, f"{a.name}.{fmt}")
        if os.path.exists(final):
            print(f"[gen_wsi] exists: {final}")
            continue
        if img is None:
            img = slide_image(a.width, a.height, a.seed)
            overview = overview_image(img)
        started = time.monotonic()
        tag = f".part-{os.getpid()}"
        if fmt == "mrxs":
            folder = os.path.join(a.outdir, a.name)
            tmp_folder = os.path.join(a.outdir, f".{a.name}{tag}")
            try:
                levels, nx, ny = write_mirax(img, tmp_folder, a.name, a.quality, a.seed, overview)
                # The folder first, the .mrxs last: the .mrxs marks a complete slide.
                if os.path.isdir(folder):
                    shutil.rmtree(folder)
                os.rename(tmp_folder, folder)
                open(f"{final}{tag}", "wb").close()
                os.replace(f"{final}{tag}", final)
            finally:
                shutil.rmtree(tmp_folder, ignore_errors=True)
            detail = f"{nx * 256}x{ny * 256} in {levels} levels"
            size = _size(folder)
        else:
            tmp = os.path.join(a.outdir, f".{a.name}{tag}.{fmt}")
            try:
                if fmt == "tiff":
                    write_tiff(img, tmp, a.quality)
                else:
                    write_svs(img, tmp, a.quality, a.name, a.seed, overview)
                os.replace(tmp, final)
            finally:
                if os.path.exists(tmp):
                    os.remove(tmp)
            detail = f"{a.width}x{a.height}"
            size = _size(final)
        print(f"[gen_wsi] {final}: {detail}, {size / 2**20:.1f} MiB, "
              f"{time.monotonic() - started:.1f}s")
    return 0


if __name__ == "__main__":
    # SIGTERM as an exception, so the temporary output is removed on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main())
