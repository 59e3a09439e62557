"""A minimal PNG encoder (zlib + struct) and a perceptual colour map, for array heatmaps.

Enough to turn a 2-D array into an ``<img src="data:image/png;base64,...">`` without
matplotlib or Pillow: 8-bit RGB, no interlacing, filter type 0.
"""

from __future__ import annotations

import base64
import struct
import zlib
from collections.abc import Sequence

from bevel.viz.html import esc

# Anchor colours of viridis (matplotlib's default map: perceptually uniform, colour-blind safe).
_VIRIDIS = (
    (68, 1, 84),
    (72, 40, 120),
    (62, 74, 137),
    (49, 104, 142),
    (38, 130, 142),
    (31, 158, 137),
    (53, 183, 121),
    (109, 205, 89),
    (180, 222, 44),
    (253, 231, 37),
)


def viridis_lut() -> bytes:
    """256 RGB triplets (768 bytes): index 0 is dark purple, 255 bright yellow."""
    out = bytearray()
    last = len(_VIRIDIS) - 1
    for i in range(256):
        pos = i / 255 * last
        lo = min(int(pos), last - 1)
        t = pos - lo
        a, b = _VIRIDIS[lo], _VIRIDIS[lo + 1]
        out.extend(round(a[k] + (b[k] - a[k]) * t) for k in range(3))
    return bytes(out)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode_rgb(width: int, height: int, pixels: bytes) -> bytes:
    """PNG bytes of an 8-bit RGB image given row-major ``pixels`` (``3 * width * height``)."""
    if len(pixels) != 3 * width * height:
        raise ValueError(f"expected {3 * width * height} bytes of RGB, got {len(pixels)}")
    stride = 3 * width
    raw = b"".join(b"\x00" + pixels[r * stride : (r + 1) * stride] for r in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 6))
        + _chunk(b"IEND", b"")
    )


def encode_indexed(width: int, height: int, indices: bytes, lut: bytes | None = None) -> bytes:
    """PNG of 8-bit colour-map indices (one byte per pixel) through ``lut`` (default viridis)."""
    table = lut or viridis_lut()
    rgb = b"".join(table[3 * i : 3 * i + 3] for i in bytes(indices))
    return encode_rgb(width, height, rgb)


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def img(png: bytes, *, alt: str = "", width: int | None = None, pixelated: bool = False) -> str:
    """An ``<img>`` element embedding ``png`` (no file, no network)."""
    style = ' style="image-rendering:pixelated"' if pixelated else ""
    size = f' width="{width}"' if width else ""
    return f'<img src="{data_uri(png)}" alt="{esc(alt)}"{size}{style}>'


def is_png(data: Sequence[int] | bytes) -> bool:
    return bytes(data[:8]) == b"\x89PNG\r\n\x1a\n"
