"""Image files in and out, and the colour maps that make depth and labels visible.

Textures are read with Pillow when it is installed (PNG, JPEG, ...); without it, 8-bit
PNGs are still read by the small decoder here, so scenes with PNG textures render
on a bare install. PNGs are written with zlib alone.
"""

from __future__ import annotations

import struct
import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def write_png(path: str | Path, image: np.ndarray) -> Path:
    """Write an (H, W), (H, W, 3) or (H, W, 4) uint8 image as PNG."""
    img = np.ascontiguousarray(image)
    if img.dtype != np.uint8:
        raise ValueError(f"write_png needs uint8 pixels, got {img.dtype}")
    if img.ndim == 2:
        img = img[:, :, None]
    h, w, c = img.shape
    color_type = {1: 0, 3: 2, 4: 6}.get(c)
    if color_type is None:
        raise ValueError(f"write_png needs 1, 3 or 4 channels, got {c}")
    raw = np.concatenate([np.zeros((h, 1), np.uint8), img.reshape(h, w * c)], 1).tobytes()

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(
        _PNG_SIGNATURE
        + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )
    return out


def read_png(path: str | Path) -> np.ndarray:
    """An 8-bit, non-interlaced PNG (grey, grey+alpha, RGB, RGBA or palette) as (H, W, 4) uint8."""
    data = Path(path).read_bytes()
    if not data.startswith(_PNG_SIGNATURE):
        raise ValueError(f"{path}: not a PNG file")
    pos, idat, palette, trns = 8, [], None, None
    width = height = depth = color_type = interlace = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        tag, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if tag == b"IHDR":
            width, height, depth, color_type, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif tag == b"PLTE":
            palette = np.frombuffer(body, np.uint8).reshape(-1, 3)
        elif tag == b"tRNS":
            trns = np.frombuffer(body, np.uint8)
        elif tag == b"IDAT":
            idat.append(body)
        elif tag == b"IEND":
            break
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(color_type)
    if depth != 8 or interlace or channels is None:
        raise ValueError(f"{path}: only 8-bit non-interlaced PNGs are read without Pillow (pip install Pillow)")
    stride = width * channels
    raw = np.frombuffer(zlib.decompress(b"".join(idat)), np.uint8).reshape(height, stride + 1)
    out = np.zeros((height, stride), np.int32)
    prev = np.zeros(stride, np.int32)
    for y in range(height):
        f, line = raw[y, 0], raw[y, 1:].astype(np.int32)
        if f == 0:
            cur = line
        elif f == 2:
            cur = (line + prev) & 0xFF
        else:  # Sub, Average, Paeth depend on the pixel to the left: walk the row in pixels
            cur = np.zeros(stride, np.int32)
            for x in range(0, stride, channels):
                left = cur[x - channels : x] if x else np.zeros(channels, np.int32)
                up = prev[x : x + channels]
                if f == 1:
                    pred = left
                elif f == 3:
                    pred = (left + up) // 2
                else:
                    ul = prev[x - channels : x] if x else np.zeros(channels, np.int32)
                    p = left + up - ul
                    pa, pb, pc = np.abs(p - left), np.abs(p - up), np.abs(p - ul)
                    pred = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, up, ul))
                cur[x : x + channels] = (line[x : x + channels] + pred) & 0xFF
        out[y], prev = cur, cur
    img = out.astype(np.uint8).reshape(height, width, channels)
    if color_type == 3:
        if palette is None:
            raise ValueError(f"{path}: palette PNG without PLTE")
        alpha = np.full(len(palette), 255, np.uint8)
        if trns is not None:
            alpha[: len(trns)] = trns
        return np.concatenate([palette, alpha[:, None]], 1)[img[:, :, 0]]
    if channels == 1:
        img = np.repeat(img, 3, 2)
    elif channels == 2:
        img = np.concatenate([np.repeat(img[:, :, :1], 3, 2), img[:, :, 1:]], 2)
    if img.shape[2] == 3:
        img = np.concatenate([img, np.full((height, width, 1), 255, np.uint8)], 2)
    return img


@lru_cache(maxsize=64)
def load_texture(path: str) -> np.ndarray:
    """A texture image as (H, W, 4) uint8, row 0 at the top (read-only, cached per file)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"texture file {path!r} not found")
    try:
        from PIL import Image
    except ImportError:
        img = read_png(p)
    else:
        with Image.open(p) as im:
            img = np.asarray(im.convert("RGBA"))
    img = np.ascontiguousarray(img)
    img.setflags(write=False)
    return img


# -- colour maps ---------------------------------------------------------------------------

# Google's Turbo colour map, 9 control points, interpolated (dark blue: near, dark red: far)
_TURBO = np.array(
    [
        [0.190, 0.072, 0.232],
        [0.275, 0.420, 0.885],
        [0.153, 0.711, 0.895],
        [0.180, 0.925, 0.597],
        [0.549, 0.996, 0.238],
        [0.878, 0.857, 0.191],
        [0.996, 0.573, 0.148],
        [0.875, 0.245, 0.031],
        [0.480, 0.016, 0.011],
    ]
)


def colorize_depth(depth: np.ndarray, near_m: float | None = None, far_m: float | None = None) -> np.ndarray:
    """(H, W) metres -> (H, W, 3) uint8; background (inf) is black. The range defaults to
    the frame's finite 1st-99th percentiles; pass it fixed for a steady video."""
    finite = np.isfinite(depth)
    if near_m is None or far_m is None:
        vals = depth[finite]
        lo, hi = (np.percentile(vals, [1, 99]) if vals.size else (0.0, 1.0))
        near_m = lo if near_m is None else near_m
        far_m = hi if far_m is None else far_m
    t = np.clip((np.where(finite, depth, far_m) - near_m) / max(far_m - near_m, 1e-9), 0.0, 1.0)
    x = t * (len(_TURBO) - 1)
    i = np.minimum(x.astype(np.int32), len(_TURBO) - 2)
    f = (x - i)[..., None]
    rgb = _TURBO[i] * (1 - f) + _TURBO[i + 1] * f
    out = (rgb * 255 + 0.5).astype(np.uint8)
    out[~finite] = 0
    return out


def label_colors(n: int) -> np.ndarray:
    """(n, 3) uint8 distinct colours for ids 0..n-1; id 0 (background) is black."""
    ids = np.arange(n)
    hue = (ids * 0.618033988749895) % 1.0
    sat = 0.55 + 0.45 * ((ids * 7) % 3) / 2
    val = 0.95 - 0.25 * ((ids * 5) % 2)
    h6 = hue * 6
    c = val * sat
    x = c * (1 - np.abs(h6 % 2 - 1))
    zero = np.zeros(n)
    sector = h6.astype(int) % 6
    rgb = np.select(
        [sector[:, None] == k for k in range(6)],
        [np.stack(v, 1) for v in ((c, x, zero), (x, c, zero), (zero, c, x), (zero, x, c), (x, zero, c), (c, zero, x))],
    ) + (val - c)[:, None]
    out = (rgb * 255 + 0.5).astype(np.uint8)
    out[0] = 0
    return out


def colorize_seg(seg: np.ndarray, n_ids: int | None = None) -> np.ndarray:
    """(H, W) int ids -> (H, W, 3) uint8 with a fixed colour per id (0 = black)."""
    n = int(max(n_ids or 0, int(seg.max(initial=0)) + 1))
    return label_colors(n)[np.clip(seg, 0, n - 1)]
