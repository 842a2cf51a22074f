"""preprocess.augment → a transform of training batches, drawn anew for every example.

torchvision's v2 transforms draw one set of random parameters per call, so they are called once
per example. They draw from torch's global generator, which checkpoints capture: a resumed run
sees the same augmentations. Colour transforms need pixels in [0, 1], so 8-bit images are mapped
back there (undoing rescale and normalize) and forth again around the transforms.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch

from easytrain.config.augment import (
    ColorJitterItem,
    HFlipItem,
    RandomCropItem,
    RotationItem,
    VFlipItem,
)
from easytrain.data.inputs import pixel_scale
from easytrain.errors import RecipeError

if TYPE_CHECKING:  # importing torchvision costs 1–3 s (it imports torch._dynamo): only when used
    from torchvision.transforms import v2


def _transform(item: Any, size: tuple[int, int]) -> v2.Transform:
    from torchvision.transforms import v2

    if isinstance(item, HFlipItem):
        return v2.RandomHorizontalFlip(item.hflip.p)
    if isinstance(item, VFlipItem):
        return v2.RandomVerticalFlip(item.vflip.p)
    if isinstance(item, RandomCropItem):
        wanted = item.random_crop.size or size
        crop = (wanted, wanted) if isinstance(wanted, int) else (wanted[0], wanted[1])
        if crop != size:
            raise RecipeError(
                f"preprocess.augment: random_crop size {list(crop)} differs from the image size "
                f"{list(size)}; val and test see whole images, so the crop must keep the size "
                "(use padding to let it shift, or data.image_size to change the size)"
            )
        return v2.RandomCrop(list(crop), padding=item.random_crop.padding or None)
    if isinstance(item, RotationItem):
        return v2.RandomRotation(item.rotation.degrees)
    if isinstance(item, ColorJitterItem):
        jitter = item.color_jitter
        return v2.ColorJitter(jitter.brightness, jitter.contrast, jitter.saturation, jitter.hue)
    raise RecipeError(f"preprocess.augment: no transform for {type(item).__name__}")


class Augment:
    """Callable on a batch (n, channels, height, width) on any device; returns a new batch."""

    def __init__(self, transform: v2.Transform, scale: tuple[float, list, list] | None):
        self.transform = transform
        self.unit: tuple[float, torch.Tensor, torch.Tensor] | None = None
        if scale is not None:
            k, mean, std = scale
            self.unit = (
                k,
                torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1),
                torch.tensor(std, dtype=torch.float32).view(-1, 1, 1),
            )

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        if self.unit is not None:
            k, mean, std = self.unit
            mean, std = mean.to(batch.device), std.to(batch.device)
            batch = (batch * std + mean) / k
        threads = torch.get_num_threads()
        if batch.device.type == "cpu":  # per-image ops are tiny: threads only add overhead
            torch.set_num_threads(1)
        try:
            out = torch.stack([self.transform(image) for image in batch])
        finally:
            torch.set_num_threads(threads)
        if self.unit is not None:
            out = (out * k - mean) / std
        return out


def build_augment(
    items: list[Any], input_shape: tuple[int, ...], info: dict[str, Any]
) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """The training-batch transform for preprocess.augment, or None when it is empty."""
    if not items:
        return None
    if len(input_shape) != 3:
        raise RecipeError(
            f"preprocess.augment: augmentations are for images, but these inputs have shape "
            f"{list(input_shape)}"
        )
    scale = pixel_scale(info)
    if scale is None and any(isinstance(item, ColorJitterItem) for item in items):
        raise RecipeError(
            "preprocess.augment: color_jitter needs 8-bit images (image_folder, torchvision), "
            "whose pixel range is known"
        )
    from torchvision.transforms import v2

    size = (int(input_shape[1]), int(input_shape[2]))
    return Augment(v2.Compose([_transform(item, size) for item in items]), scale)
