"""Resolve `device:` (recipe or --device) to a torch.device that exists here."""

from __future__ import annotations

import torch

from easytrain.errors import RecipeError


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise RecipeError(
                f"device: '{name}' was asked for, but CUDA is not available here; use auto or cpu"
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise RecipeError(
                f"device: '{name}' does not exist; this machine has {torch.cuda.device_count()} GPU(s)"
            )
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise RecipeError(
            "device: 'mps' was asked for, but it is not available here; use auto or cpu"
        )
    return device
