"""Broken image files: decompression bombs, PNGs that crash libpng, randomly corrupted bytes.

`python -m tests.hardening.corrupt SEED COUNT COMPARE` decodes COUNT corrupted variants of each
base image with easytrain's decoder and prints one JSON line of counts; for COMPARE of each PNG
base it also asks torchvision alone, in a forked child. It runs in a subprocess because what it
looks for is a crash of the process itself (SIGSEGV in a C decoder).
"""

from __future__ import annotations

import io
import json
import os
import random
import struct
import sys
import zlib
from collections import Counter

import numpy as np
from PIL import Image

from easytrain.data.pngcheck import ADAM7, SIGNATURE


def chunk(kind: bytes, data: bytes, crc: int | None = None) -> bytes:
    crc = zlib.crc32(kind + data) if crc is None else crc
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png(width: int, height: int, rows: bytes, colour: int = 0, interlace: int = 0) -> bytes:
    """A PNG with the given raw (filtered) rows, whatever the header says they should be."""
    header = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, interlace)
    return (
        SIGNATURE
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def png_bomb(width: int, height: int) -> bytes:
    """A grey PNG of zeros: width × height pixels in a file of about width × height / 1000 bytes."""
    deflate = zlib.compressobj(9)
    row = bytes(width + 1)
    data = b"".join(deflate.compress(row) for _ in range(height)) + deflate.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width × height (its data is one row)."""
    return png(width, height, bytes(width + 1)[:1000])


def png_short() -> bytes:
    """Fewer rows than the header says: libpng's 'Not enough image data' (a torchvision SIGSEGV)."""
    return png(16, 16, (b"\x00" + bytes(range(16))) * 8)


def png_bad_crc() -> bytes:
    """An IDAT chunk whose CRC does not match: libpng's 'IDAT: CRC error' (a SIGSEGV too)."""
    good = png(16, 16, (b"\x00" + bytes(range(16))) * 16)
    at = good.index(b"IEND") - 8  # the IDAT chunk's CRC
    return good[:at] + bytes(b ^ 0xFF for b in good[at : at + 4]) + good[at + 4 :]


def png_bad_filter() -> bytes:
    """A row with filter type 9: libpng's 'bad adaptive filter value' (a SIGSEGV too)."""
    return png(16, 16, (b"\x09" + bytes(range(16))) * 16)


def png_interlaced(width: int = 13, height: int = 9, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    rows = b""
    for x0, y0, dx, dy in ADAM7:
        w, h = -(-(width - x0) // dx), -(-(height - y0) // dy)
        if w > 0 and h > 0:
            rows += b"".join(
                b"\x00" + rng.integers(0, 255, w * 3, np.uint8).tobytes() for _ in range(h)
            )
    return png(width, height, rows, colour=2, interlace=1)


def with_size(data: bytes, fmt: str, width: int, height: int) -> bytes:
    """A JPEG or BMP whose header is patched to claim width × height."""
    if fmt == "jpeg":
        at = data.index(b"\xff\xc0") + 5  # SOF0: length (2), precision (1), height, width
        return data[:at] + struct.pack(">HH", height, width) + data[at + 4 :]
    if fmt == "bmp":
        return data[:18] + struct.pack("<ii", width, height) + data[26:]
    raise ValueError(fmt)


def encoded(fmt: str, size: tuple[int, int] = (40, 48), mode: str = "RGB") -> bytes:
    pixels = (np.indices(size[::-1]).sum(0)[..., None] * [3, 5, 7] % 256).astype(np.uint8)
    image = Image.fromarray(pixels).convert(mode)
    out = io.BytesIO()
    image.save(out, {"jpg": "JPEG"}.get(fmt, fmt.upper()))
    return out.getvalue()


def fix_crcs(data: bytes) -> bytes:
    """Recompute every complete chunk's CRC, so that a corruption reaches the decompressor."""
    out, at = bytearray(data[:8]), 8
    while at + 12 <= len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        end = at + 12 + length
        if end > len(data):
            break
        out += data[at : end - 4] + struct.pack(">I", zlib.crc32(data[at + 4 : end - 4]))
        at = end
    return bytes(out + data[at:])


def mutate(data: bytes, rng: random.Random) -> bytes:
    """1–4 random byte changes, bit flips, deletions or insertions."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        at, op = rng.randrange(max(len(out), 1)), rng.random()
        if op < 0.4:
            out[at : at + 1] = bytes([rng.randrange(256)])
        elif op < 0.6:
            out[at : at + 1] = bytes([(out[at] if at < len(out) else 0) ^ 1 << rng.randrange(8)])
        elif op < 0.8:
            del out[at : at + rng.randint(1, 64)]
        else:
            out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    return bytes(out)


BASES = {
    "png rgb": lambda: encoded("png"),
    "png grey": lambda: encoded("png", mode="L"),
    "png palette": lambda: encoded("png", mode="P"),
    "png rgba": lambda: encoded("png", mode="RGBA"),
    "png interlaced": png_interlaced,
    "jpeg": lambda: encoded("jpg"),
    "webp": lambda: encoded("webp"),
    "bmp": lambda: encoded("bmp"),
}


def raw_torchvision(data: bytes) -> str:
    """What torchvision alone does with data, in a forked child: 'decodes', 'raises' or 'crashes'."""
    import torch
    from torchvision.io import decode_image

    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(2)  # libpng's own error message
        try:
            decode_image(torch.frombuffer(bytearray(data or b"\0"), dtype=torch.uint8))
        except Exception:
            os._exit(1)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    return {0: "decodes", 1: "raises"}.get(os.waitstatus_to_exitcode(status), "crashes")


def fuzz(seed: int, count: int, compare: int) -> dict[str, dict[str, int]]:
    """{base: {outcome: n}}: every corrupted variant either decodes or is refused. For the first
    `compare` PNG variants of each base, also what torchvision alone would have done with it."""
    import torch

    from easytrain.data.images import try_decode

    rng, counts = random.Random(seed), {}
    for name, make in BASES.items():
        base, outcome = make(), Counter()
        for index in range(count):
            data = mutate(base, rng)
            if name.startswith("png") and rng.random() < 0.7:
                data = fix_crcs(data)
            print(f"{name} #{index}", file=sys.stderr, flush=True)  # the last words of a crash
            tensor = torch.frombuffer(bytearray(data or b"\0"), dtype=torch.uint8)
            result = try_decode(tensor, rng.choice([1, 3]), rng.choice([None, (8, 8)]))
            ours = "refused" if isinstance(result, str) else "decoded"
            outcome[ours] += 1
            if name.startswith("png") and index < compare:
                outcome[f"{ours}, torchvision alone {raw_torchvision(data)}"] += 1
        counts[name] = dict(outcome)
    return counts


if __name__ == "__main__":
    print(json.dumps(fuzz(*(int(arg) for arg in sys.argv[1:4]))))
