"""`easytrain run --dry-run`: what a run would do, without training or writing anything.

The data is read through the preprocess stage (a cached image folder reads no image twice),
the model is built on the meta device (no memory for weights), and the training memory is
estimated from the parameters, the optimizer's state and the activations of one batch.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from easytrain.config.recipe import Recipe
from easytrain.engine.device import resolve_device
from easytrain.models.summary import probe_input, summarize
from easytrain.pipeline.context import RunContext
from easytrain.registry import Registry
from easytrain.tracking.console import Reporter

OPTIMIZER_STATES = {"adam": 2, "adamw": 2, "rmsprop": 2, "sgd": 1}  # tensors per parameter


def _activation_bytes(model: nn.Module, example: torch.Tensor, batch: int) -> int:
    """Bytes of every module's output for one batch: what autograd keeps for the backward pass."""
    total = 0

    def hook(module: nn.Module, inputs: object, output: object) -> None:
        nonlocal total
        if isinstance(output, torch.Tensor) and not list(module.children()):
            total += output[0].numel() * output.element_size() * batch

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    try:
        with torch.no_grad():
            model.eval()(example)
    finally:
        for handle in handles:
            handle.remove()
    return total


def _megabytes(count: int) -> str:
    return f"{count / 2**20:,.1f} MiB"


def plan(
    recipe: Recipe, registry: Registry, reporter: Reporter, device: str | None
) -> dict[str, Any]:
    from easytrain.pipeline.bootstrap import bootstrap
    from easytrain.stages.model import build_model

    target = resolve_device(device or recipe.device)
    with tempfile.TemporaryDirectory() as scratch:
        ctx = RunContext(recipe, Path(scratch), target, registry, reporter)
        bootstrap(ctx)  # the data's shape and size, checked against the recipe
    assert ctx.data is not None
    with torch.device("meta"):
        model, spec = build_model(ctx, pretrained=False)
        example = probe_input(spec, ctx.data.train.x.dtype)
        activations = _activation_bytes(model, example[:1], recipe.train.batch_size)
    summary = summarize(model, spec, ctx.data.train.x.dtype)
    parameters = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    width = 2 if recipe.train.precision in ("bf16", "fp16") else 4
    memory = {
        "weights": parameters * 4,
        "gradients": trainable * 4,
        "optimizer": trainable * 4 * OPTIMIZER_STATES[recipe.train.optimizer.name],
        "activations": activations
        * width
        // 4
        * 2,  # outputs, and about as much again for backward
        "batch": example[0].numel() * example.element_size() * recipe.train.batch_size,
    }
    steps = math.ceil(
        math.ceil(len(ctx.data.train) / recipe.train.batch_size) / recipe.train.accumulate
    )
    result: dict[str, Any] = {
        "device": str(target),
        "examples": {
            name: len(split)
            for name in ("train", "val", "test")
            if (split := ctx.data.split(name)) is not None
        },
        "input_shape": list(spec.input_shape),
        "outputs": spec.num_outputs,
        "parameters": parameters,
        "trainable_parameters": trainable,
        "steps_per_epoch": steps,
        "total_steps": steps * recipe.train.epochs,
        "memory_bytes": memory | {"total": sum(memory.values())},
    }
    breakdown = ", ".join(f"{k} {_megabytes(v)}" for k, v in memory.items())
    reporter.info(summary)
    reporter.info(
        f"plan: {steps} optimizer steps per epoch × {recipe.train.epochs} epochs = "
        f"{result['total_steps']} steps, batch {recipe.train.batch_size} on {target}"
    )
    reporter.info(f"training memory ≈ {_megabytes(result['memory_bytes']['total'])} ({breakdown})")
    return result
