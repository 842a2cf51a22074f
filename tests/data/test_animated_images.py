"""Animated images (WebP, PNG, GIF) are read as their first frame, as Pillow and torchvision's
ImageFolder read them: a classifier takes one picture, and the first is the one a viewer shows
before it moves. torchvision's WebP decoder refused them, and an animated GIF crashed."""

from __future__ import annotations

import io

import pytest
import torch
from PIL import Image

from easytrain.data.images import decode_bytes

FIRST = (200, 10, 10)


def _animated(fmt: str) -> torch.Tensor:
    frames = [Image.new("RGB", (8, 6), FIRST)] + [Image.new("RGB", (8, 6), (0, 0, 250))] * 2
    buffer = io.BytesIO()
    frames[0].save(
        buffer,
        format=fmt,
        save_all=True,
        append_images=frames[1:],
        duration=50,
        loop=0,
        lossless=True,
    )
    return torch.frombuffer(bytearray(buffer.getvalue()), dtype=torch.uint8)


@pytest.mark.parametrize("fmt", ["WEBP", "PNG", "GIF"])
@pytest.mark.parametrize("channels", [1, 3])
def test_an_animated_image_is_its_first_frame(fmt: str, channels: int) -> None:
    image = decode_bytes(_animated(fmt), channels, None)
    assert image.dtype == torch.uint8 and image.shape == (channels, 6, 8)
    first = torch.tensor(FIRST, dtype=torch.float32)
    expected = first if channels == 3 else (first * torch.tensor([0.2989, 0.587, 0.114])).sum()
    assert torch.allclose(image[:, 3, 4].float(), expected.reshape(-1), atol=3)


def test_an_animated_image_resizes_like_any_other() -> None:
    assert decode_bytes(_animated("WEBP"), 3, (4, 4)).shape == (3, 4, 4)
