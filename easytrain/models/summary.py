"""A one-screen model summary: blocks, output shapes and parameter counts, from one probe pass."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from easytrain.models import ModelSpec

MAX_ROWS = 30


def _blocks(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The top-level blocks, looking through wrappers that hold a single child."""
    prefix = ""
    while len(children := list(model.named_children())) == 1:
        name, model = children[0]
        prefix += name + "."
    return [(prefix + name, child) for name, child in model.named_children()] or [(prefix, model)]


def probe_input(spec: ModelSpec, dtype: torch.dtype) -> torch.Tensor:
    if dtype == torch.int64:  # token ids: 1 (unknown) rather than 0 (padding, masked out)
        return torch.ones(2, *spec.input_shape, dtype=torch.int64)
    return torch.zeros(2, *spec.input_shape, dtype=dtype)


def summarize(model: nn.Module, spec: ModelSpec, dtype: torch.dtype = torch.float32) -> str:
    blocks = _blocks(model)
    shapes: dict[str, str] = {}

    def record(name: str) -> Callable[[nn.Module, object, object], None]:
        def hook(module: nn.Module, inputs: object, output: object) -> None:
            if isinstance(output, torch.Tensor):
                shapes[name] = str(tuple(output.shape[1:]))

        return hook

    handles = [module.register_forward_hook(record(name)) for name, module in blocks]
    was_training = model.training
    try:
        with torch.no_grad():
            model.eval()(probe_input(spec, dtype).to(next(model.parameters()).device))
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    lines = [f"{'block':<28} {'type':<24} {'output':<18} {'parameters':>12}"]
    for name, module in blocks[:MAX_ROWS]:
        count = sum(p.numel() for p in module.parameters())
        lines.append(
            f"{name:<28} {type(module).__name__:<24} {shapes.get(name, '-'):<18} {count:>12,}"
        )
    if len(blocks) > MAX_ROWS:
        lines.append(f"… {len(blocks) - MAX_ROWS} more blocks")
    lines += [
        f"input {tuple(spec.input_shape)} → {spec.num_outputs} output(s) for {spec.task}",
        f"parameters: {total:,} ({trainable:,} trainable)",
    ]
    return "\n".join(lines)
