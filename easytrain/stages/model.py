"""Build the network named by `model.type`, sized from the data, and put it on the device."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from easytrain.config.backbones import TorchvisionConfig
from easytrain.config.hf import HFConfig
from easytrain.config.model import CustomModelConfig
from easytrain.data.bundle import DataBundle
from easytrain.engine.checkpoint import write_atomic
from easytrain.engine.optim import output_count
from easytrain.errors import RecipeError
from easytrain.models import ModelSpec
from easytrain.models.budget import check_fits
from easytrain.models.summary import summarize
from easytrain.pipeline.context import RunContext


class TargetScale(nn.Module):
    """Maps standardized outputs back to target units, so every consumer sees real values."""

    def __init__(self, model: nn.Module, mean: float, std: float):
        super().__init__()
        self.model = model
        self.register_buffer("mean", torch.tensor(mean))
        self.register_buffer("std", torch.tensor(std))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x) * self.std + self.mean


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


def build_model(ctx: RunContext, pretrained: bool = True) -> tuple[nn.Module, ModelSpec]:
    """The network for ctx.data; pretrained=False skips loading weights (a plan on the meta device)."""
    data, config = ctx.data, ctx.recipe.model
    assert data is not None, "the preprocess stage runs first"
    outputs = output_count(ctx.recipe.train, data.task, data.classes, data.num_outputs)
    text = data.preprocessing.encoded("text")
    table = data.preprocessing.encoded("table")
    categories: tuple[int, ...] = ()
    if table.get("categorical_encoding") == "index":  # category numbers, 0 = unknown
        categories = tuple(len(c["categories"]) + 1 for c in table["categorical"].values())
    spec = ModelSpec(
        data.input_shape,
        outputs,
        data.task,
        categories=categories,
        vocab_size=text.get("vocab_size"),
    )
    if isinstance(config, HFConfig):  # a pretrained model: its files, frozen parts, adapters
        from easytrain.models.hf import build_hf

        torch.manual_seed(ctx.recipe.seed)  # the new head's initial weights
        if data.task == "language_model":
            from easytrain.models.hf_causal import build_causal

            chat = data.preprocessing.encoded("chat")
            # unpacked data: no batch has to be read back to tell (a GPU sync per step)
            packed = None if getattr(ctx.recipe.data, "packing", False) else False
            return build_causal(config, chat, pretrained, ctx.device, packed), spec
        image = data.preprocessing.encoding.get("hf_image")
        if image is not None:  # an image classifier (data.hf_images)
            from easytrain.models.hf_image import build_hf_image

            return build_hf_image(config, spec, image, data.classes, pretrained), spec
        model: nn.Module = build_hf(config, spec, text, data.classes, pretrained)
        return _scaled(model, data), spec
    build, config = _builder(ctx, config, data, pretrained)
    if not isinstance(config, CustomModelConfig):  # a user's class is not built twice
        check_fits(build, config, spec)  # before allocating: refused with the estimate if too big
    torch.manual_seed(ctx.recipe.seed)  # the same seed gives the same initial weights
    model = build(config, spec)
    return _scaled(model, data), spec


def _builder(
    ctx: RunContext, config: Any, data: DataBundle, pretrained: bool
) -> tuple[Callable[..., nn.Module], Any]:
    """The function that builds model.type's network, and the config it is given."""
    if isinstance(config, CustomModelConfig):
        from easytrain.models import custom

        return custom.build, config
    if isinstance(config, TorchvisionConfig):
        from easytrain.models import backbone

        if not pretrained:
            config = config.model_copy(update={"weights": None})
        return backbone.build, config
    component = ctx.registry.get("model", config.type)
    _check_inputs(config.type, (component.info or {}).get("inputs", "numbers"), data)
    return component.load(), config


def _scaled(model: nn.Module, data: DataBundle) -> nn.Module:
    """Regression: outputs in target units."""
    if data.task == "regression":
        target = data.preprocessing.target
        assert target is not None, "regression data carries its target scale"
        model = TargetScale(model, target.mean, target.std)
    return model


class ModelStage:
    def __init__(self, config: object = None):
        self.config = config

    def run(self, ctx: RunContext) -> None:
        assert ctx.data is not None
        model, spec = build_model(ctx)
        ctx.model = model.to(ctx.device)
        ctx.model_summary = summarize(ctx.model, spec, ctx.data.train.x.dtype)
        # the layers as PyTorch prints them, after the table: the whole architecture, for the record
        if ctx.world.main:
            text = f"{ctx.model_summary}\n\n{model}\n"
            write_atomic(ctx.run_dir / "model.txt", lambda file: file.write(text.encode()))
        ctx.artifacts["model_summary"] = "model.txt"
        ctx.reporter.info(f"model: {ctx.recipe.model.type}\n{ctx.model_summary}")
