"""Build the network named by `model.type`, sized from the data, and put it on the device."""

from __future__ import annotations

import torch
from torch import nn

from easytrain.config.model import CustomModelConfig
from easytrain.context import RunContext
from easytrain.data.bundle import DataBundle
from easytrain.engine.optim import output_count
from easytrain.errors import RecipeError
from easytrain.models import ModelSpec


class TargetScale(nn.Module):
    """Maps standardized outputs back to target units, so every consumer sees real values."""

    def __init__(self, model: nn.Module, mean: float, std: float):
        super().__init__()
        self.model = model
        self.register_buffer("mean", torch.tensor(mean))
        self.register_buffer("std", torch.tensor(std))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x) * self.std + self.mean


def summarize(model: nn.Module, spec: ModelSpec) -> str:
    params = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    lines = [
        f"input {tuple(spec.input_shape)} → {spec.num_outputs} output(s) ({spec.task})",
        str(model),
        f"parameters: {params:,} ({trainable:,} trainable)",
    ]
    return "\n".join(lines)


def _check_inputs(name: str, wanted: str, data: DataBundle) -> None:
    """Token ids fit only models that embed them; numbers only models that do not."""
    tokens = not data.train.x.is_floating_point()
    if tokens and wanted != "tokens":
        raise RecipeError(
            f"model.type {name} takes numbers, but these inputs are token ids "
            "(data.source: text); use model.type: embedding_bag"
        )
    if not tokens and wanted == "tokens":
        raise RecipeError(
            f"model.type {name} reads token ids: use it with data.source: text "
            f"(these inputs have shape {list(data.input_shape)})"
        )


def build_model(ctx: RunContext) -> tuple[nn.Module, ModelSpec]:
    data, config = ctx.data, ctx.recipe.model
    assert data is not None, "the preprocess stage runs first"
    outputs = output_count(ctx.recipe.train, data.task, data.classes, data.num_outputs)
    text = data.preprocessing.get("encoding", {}).get("text", {})
    spec = ModelSpec(data.input_shape, outputs, data.task, vocab_size=text.get("vocab_size"))
    if isinstance(config, CustomModelConfig):
        from easytrain.models.custom import build
    else:
        component = ctx.registry.get("model", config.type)
        _check_inputs(config.type, (component.info or {}).get("inputs", "numbers"), data)
        build = component.load()
    torch.manual_seed(ctx.recipe.seed)  # the same seed gives the same initial weights
    model = build(config, spec)
    if data.task == "regression":
        target = data.preprocessing["target"]
        model = TargetScale(model, target["mean"], target["std"])
    return model, spec


class ModelStage:
    def __init__(self, config: object = None):
        self.config = config

    def run(self, ctx: RunContext) -> None:
        model, spec = build_model(ctx)
        ctx.model = model.to(ctx.device)
        ctx.model_summary = summarize(model, spec)
        (ctx.run_dir / "model.txt").write_text(ctx.model_summary + "\n")
        ctx.artifacts["model_summary"] = "model.txt"
        params = sum(p.numel() for p in model.parameters())
        ctx.reporter.info(f"model: {ctx.recipe.model.type}, {params:,} parameters")
