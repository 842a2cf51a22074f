"""Mixed precision: autocast for the forward pass, a gradient scaler for fp16 on CUDA."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from easytrain.errors import RecipeError

_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


class Precision:
    def __init__(self, name: str, device: torch.device):
        if name == "fp16" and device.type != "cuda":
            raise RecipeError("train.precision: fp16 needs a CUDA device; use bf16 on the CPU")
        self.device_type = device.type
        self.dtype = _DTYPES.get(name)
        self.scaler = torch.amp.GradScaler("cuda") if name == "fp16" else None

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    def backward(self, loss: torch.Tensor) -> None:
        (self.scaler.scale(loss) if self.scaler else loss).backward()

    def step(
        self,
        optimizer: torch.optim.Optimizer,
        params: Iterable[nn.Parameter],
        clip_norm: float | None,
        clip_value: float | None,
    ) -> None:
        """Unscale (fp16), clip, step. No host sync: clipping stays on the device."""
        if self.scaler is not None:
            self.scaler.unscale_(optimizer)
        if clip_norm is not None:
            nn.utils.clip_grad_norm_(params, clip_norm)
        if clip_value is not None:
            nn.utils.clip_grad_value_(params, clip_value)
        if self.scaler is not None:
            self.scaler.step(optimizer)
            self.scaler.update()
        else:
            optimizer.step()

    def state_dict(self) -> dict[str, Any] | None:
        return self.scaler.state_dict() if self.scaler else None

    def load_state_dict(self, state: dict[str, Any] | None) -> None:
        if self.scaler is not None and state:
            self.scaler.load_state_dict(state)
