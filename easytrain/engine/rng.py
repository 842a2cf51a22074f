"""Seeding and capturing every random number generator, so that a resumed run is exact."""

from __future__ import annotations

import os
import random
from typing import Any

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def deterministic(enabled: bool) -> None:
    """Deterministic kernels only (train.deterministic); set either way so nothing leaks between runs."""
    if enabled:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # cuBLAS needs it to be exact
    # Only when it changes: the call imports torch._inductor (1–3 s) to set its flag too.
    if enabled or torch.are_deterministic_algorithms_enabled():
        torch.use_deterministic_algorithms(enabled, warn_only=False)
    torch.backends.cudnn.deterministic = enabled
    torch.backends.cudnn.benchmark = not enabled and torch.cuda.is_available()


def capture() -> dict[str, Any]:
    """RNG states in types that `torch.load(weights_only=True)` accepts."""
    numpy_state = np.random.get_state(legacy=True)
    assert isinstance(numpy_state, tuple)  # legacy=True: (kind, keys, pos, has_gauss, cached)
    kind, keys, pos, has_gauss, cached = numpy_state
    version, internal, gauss = random.getstate()
    state: dict[str, Any] = {
        # its 625 numbers as one tensor: pickled one by one they slowed every checkpoint
        "python": [version, torch.tensor(internal, dtype=torch.int64), gauss],
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore(state: dict[str, Any]) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(torch.as_tensor(internal).tolist()), gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def epoch_order(n: int, seed: int, epoch: int, weights: torch.Tensor | None = None) -> torch.Tensor:
    """The examples of one epoch, in order; it depends only on (seed, epoch), so resuming
    mid-epoch needs no state. With weights: n draws with replacement (a balanced sampler)."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    if weights is not None:
        return torch.multinomial(weights, n, replacement=True, generator=generator)
    return torch.randperm(n, generator=generator)


def balanced_weights(labels: torch.Tensor) -> torch.Tensor:
    """Per-example weights that make every class equally likely to be drawn."""
    counts = torch.bincount(labels.cpu())
    return (1.0 / counts.clamp(min=1).double())[labels.cpu()]
