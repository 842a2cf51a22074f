"""Image files → one uint8 tensor (n, channels, height, width), decoded by torchvision.io."""

from __future__ import annotations

import math
import os
import re
import tempfile
import time
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torchvision.io import ImageReadMode, decode_image, read_file
from torchvision.transforms.v2 import functional as F

from easytrain.data.pngcheck import SIGNATURE, png_problem, too_large
from easytrain.errors import RecipeError

if TYPE_CHECKING:
    import PIL.Image

# torchvision 0.29 marks its image codecs deprecated (TorchCodec is to replace them) and warns on
# every call; they are what this project decodes with, so the notice is silenced here only.
warnings.filterwarnings(
    "ignore", message="The image decoding and encoding capabilities", category=DeprecationWarning
)

EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp")
# Pillow's default limit (≈ 9459×9459): bigger images are refused before decoding, since a small
# file can claim a huge image (a 1 MB PNG decoded to 1.2 GB; a 2 kB one that claims 60000×60000
# asked for 10 GB).
MAX_PIXELS = 89_478_485
COMPACT_CHUNK = 1024  # images moved at a time when unreadable ones are left out
THREADS_ABOVE_S = 0.001  # decode in threads when one image takes longer than this (big JPEGs)
_CPP_PREFIX = re.compile(
    r"^.*?\.cpp:\d+,\s*"
)  # torchvision's messages start with a source location


@dataclass
class Decoded:
    images: torch.Tensor  # uint8 (n_good, channels, height, width), in the order of the good files
    good: list[int]  # indices into the files given, of the images that decoded
    bad: list[tuple[str, str]] = field(default_factory=list)  # (path, why) of those that did not


def _reason(exc: BaseException) -> str:
    text = _CPP_PREFIX.sub("", str(exc).strip().splitlines()[0] if str(exc).strip() else "")
    if "Unsupported image file" in text:
        return "not a JPEG, PNG, WebP or BMP image"
    return text or type(exc).__name__


def _open(data: bytes | memoryview) -> PIL.Image.Image:
    """Pillow's reader of an image's header, refusing (ValueError) one over MAX_PIXELS."""
    import io

    from PIL import Image

    with warnings.catch_warnings():  # Pillow warns from half its own limit; ours is the check
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
        except Image.DecompressionBombError as exc:
            raise ValueError(f"over the limit of {MAX_PIXELS:,} pixels: {exc}") from None
    width, height = image.size
    if width * height > MAX_PIXELS:
        image.close()
        raise ValueError(too_large(width, height, MAX_PIXELS))
    return image


def decoded_bytes(data: bytes) -> int | None:
    """What the image would take decoded (up to 3 channels; 2 bytes a sample for a 16-bit PNG),
    from its header alone; None when the header says nothing (the decoder will refuse it)."""
    if data[:8] == SIGNATURE and len(data) >= 25 and data[12:16] == b"IHDR":
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        return width * height * 3 * (2 if data[24] == 16 else 1)
    try:
        with _open(data) as image:
            width, height = image.size
    except (OSError, ValueError, SyntaxError):
        return None
    return width * height * 3


def _check(data: torch.Tensor, head: bytes) -> None:
    """Refuse, before decoding, what would crash torchvision's decoder or exhaust memory."""
    buffer = data.numpy().data
    if head.startswith(SIGNATURE):
        problem = png_problem(buffer, MAX_PIXELS)
        if problem:
            raise ValueError(problem)
        return
    try:  # JPEG, WebP …: the size from the header (torchvision allocates it before decoding)
        image = _open(buffer)
    except OSError:
        return  # not an image Pillow knows: torchvision's decoder says what is wrong with it
    image.close()


def _decode_bmp(data: bytes) -> torch.Tensor:
    """torchvision.io has no BMP decoder, nor one for animated WebP; Pillow (a torchvision
    dependency) reads both (an animation: its first frame)."""
    import numpy as np

    with _open(data) as image:
        image.load()
        array = np.asarray(image.convert("RGB"))
    return torch.from_numpy(array.copy()).permute(2, 0, 1)


def _animated_webp(head: bytes) -> bool:
    """An animated WebP (VP8X chunk, animation flag): torchvision's decoder refuses those."""
    return head[:4] == b"RIFF" and head[8:16] == b"WEBPVP8X" and bool(head[20] & 0x02)


def _to_channels(image: torch.Tensor, channels: int) -> torch.Tensor:
    if image.shape[0] == channels:
        return image
    if channels == 1:
        return F.rgb_to_grayscale(image[:3])
    return image[:3] if image.shape[0] >= 3 else image[:1].expand(3, -1, -1)


def decode_one(path: Path, channels: int, size: tuple[int, int] | None) -> torch.Tensor:
    """One image as uint8 (channels, height, width), resized (antialiased) when size is given."""
    return decode_bytes(read_file(str(path)), channels, size)


def decode_bytes(data: torch.Tensor, channels: int, size: tuple[int, int] | None) -> torch.Tensor:
    """decode_one for an encoded image already in memory (uint8 bytes), e.g. sent to a server."""
    head = bytes(data[:32].tolist())
    if head[:2] == b"BM" or _animated_webp(head):  # Pillow reads an animation's first frame
        image = _decode_bmp(data.numpy().tobytes())
    else:
        _check(data, head)
        webp = head[:4] == b"RIFF" and head[8:12] == b"WEBP"  # WebP decodes to colour only
        mode = ImageReadMode.GRAY if channels == 1 and not webp else ImageReadMode.RGB
        image = decode_image(data, mode=mode)
        if image.dtype != torch.uint8:  # 16-bit PNGs: scaled (value >> 8), not cut to the low byte
            image = F.to_dtype(image, torch.uint8, scale=True)
        if image.ndim == 4:  # an animated GIF, every frame: its first, as Pillow shows it
            image = image[0]
    image = _to_channels(image, channels)
    if size is not None and tuple(image.shape[1:]) != size:
        image = F.resize(image, list(size), antialias=True)
    return image.contiguous()


def try_decode(
    source: Path | torch.Tensor, channels: int, size: tuple[int, int] | None
) -> torch.Tensor | str:
    """The decoded image (a file, or its bytes), or why it cannot be decoded."""
    try:
        if isinstance(source, torch.Tensor):
            return decode_bytes(source, channels, size)
        return decode_one(source, channels, size)
    except (RuntimeError, OSError, ValueError, SyntaxError) as exc:  # Pillow raises SyntaxError too
        return _reason(exc)


def decode_all(
    paths: Sequence[Path],
    channels: int,
    size: tuple[int, int] | None,
    spill: tuple[Path, int] | None = None,
) -> Decoded:
    """Decode every file into one preallocated tensor; failures are collected in `bad`.

    spill = (folder, bytes): when the images take more than `bytes`, the tensor is a file in
    `folder` mapped into memory, so the operating system can page it out: a folder bigger than
    the machine's memory still decodes. Small images decode fastest in one thread (the per-call
    overhead dominates); big ones in a thread pool, since torchvision's decoders release the GIL.
    """
    into = _Collector(paths, size, spill)
    started = time.perf_counter()
    probe = min(len(paths), 32)
    for i in range(probe):
        into.put(i, try_decode(paths[i], channels, size))
    slow = (time.perf_counter() - started) / max(probe, 1) > THREADS_ABOVE_S
    rest = range(probe, len(paths))
    if slow and len(rest) > 1:
        with ThreadPoolExecutor(min(8, os.cpu_count() or 1)) as pool:
            for i, result in zip(
                rest, pool.map(lambda i: try_decode(paths[i], channels, size), rest), strict=True
            ):
                into.put(i, result)
    else:
        for i in rest:
            into.put(i, try_decode(paths[i], channels, size))
    return into.done()


class _Collector:
    """Writes each decoded image straight into one tensor, so memory holds each image once."""

    def __init__(
        self, paths: Sequence[Path], size: tuple[int, int] | None, spill: tuple[Path, int] | None
    ):
        self.paths, self.size, self.spill = paths, size, spill
        self.images: torch.Tensor | None = None
        self.first = -1
        self.ok = torch.zeros(len(paths), dtype=torch.bool)
        self.bad: list[tuple[str, str]] = []

    def put(self, i: int, result: torch.Tensor | str) -> None:
        if isinstance(result, str):
            self.bad.append((str(self.paths[i]), result))
            return
        if self.images is None:
            self.images = _allocate((len(self.paths), *result.shape), self.spill)
            self.first = i
        elif result.shape != self.images.shape[1:]:
            raise RecipeError(
                f"images differ in size: {self.paths[self.first]} is {_hw(self.images.shape)}, "
                f"{self.paths[i]} is {_hw(result.shape)}; set data.image_size to resize them all"
            )
        self.images[i] = result
        self.ok[i] = True

    def done(self) -> Decoded:
        good = self.ok.nonzero().flatten()
        if self.images is None:
            return Decoded(torch.empty(0, dtype=torch.uint8), [], self.bad)
        if len(good) == len(self.paths):
            return Decoded(self.images, good.tolist(), self.bad)
        # In place, a chunk at a time: each kept image moves forward (good[j] >= j), so no chunk
        # overwrites an image a later chunk still has to read.
        for start in range(0, len(good), COMPACT_CHUNK):
            rows = good[start : start + COMPACT_CHUNK]
            self.images[start : start + len(rows)] = self.images[rows]
        return Decoded(self.images[: len(good)], good.tolist(), self.bad)


def _allocate(shape: tuple[int, ...], spill: tuple[Path, int] | None) -> torch.Tensor:
    """An uninitialized uint8 tensor: in memory, or past the spill size a mapped file that is
    unlinked at once (its pages stay reachable until the mapping goes, and nothing is left
    behind however the process ends)."""
    count = math.prod(shape)
    if spill is None or count <= spill[1]:
        return torch.empty(shape, dtype=torch.uint8)
    import numpy as np

    spill[0].mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=spill[0], prefix=".decoding-") as file:
        mapped = np.memmap(file.name, dtype=np.uint8, mode="w+", shape=shape)
    return torch.from_numpy(mapped)


def _hw(shape: torch.Size) -> str:
    return f"{shape[-2]}×{shape[-1]}"
