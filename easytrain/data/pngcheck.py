"""PNG files checked before torchvision decodes them.

torchvision 0.29's decode_png kills the whole process (SIGSEGV) on any error that libpng raises
while it reads the pixel rows: a CRC mismatch in the image data, a corrupt zlib stream, fewer rows
than the header promises, a bad filter byte. A third of randomly corrupted PNGs did that
(tests/hardening/test_data_fuzz.py), and one such file ended a training run or a server. So the
file is read here first the way libpng will read it, and refused with a reason instead.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # colour type → samples per pixel
DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
ADAM7 = (
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
)
KNOWN_CRITICAL = {b"IHDR", b"PLTE", b"IDAT", b"IEND"}


def png_problem(data: memoryview, max_pixels: int) -> str | None:
    """Why this PNG cannot be decoded safely (or is too large), or None when it can."""
    if len(data) < 33 or bytes(data[12:16]) != b"IHDR":
        return "corrupted PNG: no IHDR header"
    width, height, depth, colour, compression, filtering, interlace = struct.unpack_from(
        ">IIBBBBB", data, 16
    )
    if not (0 < width < 2**31 and 0 < height < 2**31) or depth not in DEPTHS.get(colour, ()):
        return (
            f"corrupted PNG: invalid header ({width}×{height}, colour type {colour}, depth {depth})"
        )
    if compression or filtering or interlace > 1:
        return "corrupted PNG: invalid header (unknown compression, filter or interlace method)"
    if width * height > max_pixels:
        return too_large(width, height, max_pixels)
    chunks = _image_data(data)
    if isinstance(chunks, str):
        return chunks
    rows = _rows(width, height, CHANNELS[colour] * depth, bool(interlace))
    inflate = zlib.decompressobj()
    try:
        pixels = inflate.decompress(chunks, sum(count * size for count, size in rows))
    except zlib.error as exc:
        return f"corrupted PNG: bad image data ({exc})"
    if not _ends(inflate):
        return "corrupted PNG: the image data is truncated (its compressed stream does not end)"
    view, offset = np.frombuffer(pixels, np.uint8), 0
    for count, size in rows:
        if offset + count * size > len(view):
            return "corrupted PNG: the image data is truncated"
        if view[offset : offset + count * size : size].max() > 4:
            return "corrupted PNG: a row has an unknown filter type"
        offset += count * size
    return None


def _ends(inflate: zlib._Decompress) -> bool:
    """After the rows libpng reads the stream to its end, and running out of data first is fatal
    to it too (a zlib error there is not: it only warns)."""
    try:
        while inflate.unconsumed_tail and not inflate.eof:
            inflate.decompress(inflate.unconsumed_tail, 1 << 16)  # the output is not needed
        if not inflate.eof:
            inflate.flush()
    except zlib.error:
        return True
    return inflate.eof


def too_large(width: int, height: int, max_pixels: int) -> str:
    return (
        f"{width}×{height} is {width * height:,} pixels, over the limit of {max_pixels:,} "
        "(a decompression bomb?)"
    )


def _image_data(data: memoryview) -> bytes | str:
    """The IDAT chunks joined, or why the chunk structure is broken."""
    parts: list[memoryview] = []
    at = 8
    while at + 12 <= len(data):
        (length,), kind = struct.unpack_from(">I", data, at), bytes(data[at + 4 : at + 8])
        end = at + 12 + length
        if end > len(data) or (parts and kind != b"IDAT"):
            break  # libpng reads the image from the first run of IDAT chunks, and no further
        critical = kind[:1].isupper()
        if critical and kind not in KNOWN_CRITICAL:
            return f"corrupted PNG: unknown critical chunk {kind!r}"
        (crc,) = struct.unpack_from(">I", data, end - 4)
        if critical and zlib.crc32(data[at + 4 : end - 4]) != crc:
            return f"corrupted PNG: CRC error in the {kind.decode('latin-1')} chunk"
        if kind == b"IDAT":
            parts.append(data[at + 8 : end - 4])
        elif kind == b"IEND":
            break
        at = end
    if not parts:
        return "corrupted PNG: the file is truncated (no complete image data)"
    return b"".join(parts)


def _rows(width: int, height: int, bits: int, interlaced: bool) -> list[tuple[int, int]]:
    """(rows, bytes per row with its filter byte) of each pass over the image."""
    passes = ADAM7 if interlaced else ((0, 0, 1, 1),)
    rows = []
    for x0, y0, dx, dy in passes:
        w, h = -(-(width - x0) // dx), -(-(height - y0) // dy)
        if w > 0 and h > 0:
            rows.append((h, 1 + -(-(w * bits) // 8)))
    return rows
