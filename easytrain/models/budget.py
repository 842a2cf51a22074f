"""Before a model is allocated: does it fit this machine's memory at all?

A recipe such as `hidden: [100000000000]` validates (a positive whole number), then died inside
torch with "can't allocate memory: you tried to allocate 1600000000000 bytes" and a traceback.
The model is built once on the meta device (no memory, no random numbers drawn), its size
counted, and refused with the estimate when the weights alone exceed the free memory.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from easytrain.errors import RecipeError


def free_memory() -> int | None:
    """Bytes this machine can still give (MemAvailable), or None where that cannot be told."""
    try:
        with open("/proc/meminfo", encoding="ascii") as file:
            for line in file:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _widest(model: Any) -> str:
    name, module = max(
        ((n, m) for n, m in model.named_modules() if not list(m.children())),
        key=lambda item: sum(p.numel() for p in item[1].parameters(recurse=False)),
        default=("", model),
    )
    count = sum(p.numel() for p in module.parameters(recurse=False))
    return f"layer {name or '(top)'} {module} holds {count:,}"


def check_fits(build: Callable[[Any, Any], Any], config: Any, spec: Any) -> None:
    """RecipeError (exit 2) naming the size when the model's weights cannot be allocated."""
    import torch

    try:
        with torch.device("meta"):
            probe = build(config, spec)
    except Exception:  # a model that cannot be built on meta: the real build says what is wrong
        return
    if not isinstance(probe, torch.nn.Module):
        return
    tensors = [*probe.parameters(), *probe.buffers()]
    size = sum(t.numel() * t.element_size() for t in tensors)
    free = free_memory()
    if free is None or size <= free:
        return
    count = sum(p.numel() for p in probe.parameters())
    raise RecipeError(
        f"model: {count:,} parameters take {size / 1e9:,.1f} GB ({4 * size / 1e9:,.1f} GB to "
        f"train with Adam: weights, gradients and two moments), more than the "
        f"{free / 1e9:,.1f} GB of memory free here; the {_widest(probe)}: make it smaller"
    )
