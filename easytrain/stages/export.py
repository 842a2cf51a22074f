"""Export the trained model, check each export against it on real inputs, and write model.json."""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from easytrain import __version__
from easytrain.config.export import ExportConfig
from easytrain.context import RunContext
from easytrain.engine.checkpoint import write_atomic
from easytrain.errors import RunFailed
from easytrain.runs import write_json

FILES = {"pt2": "model.pt2", "torchscript": "model.ts", "state_dict": "model.state_dict.pt"}


def _export_pt2(model: nn.Module, example: torch.Tensor, path: Path) -> Callable:
    batch = torch.export.Dim("batch")
    program = torch.export.export(model, (example,), dynamic_shapes=({0: batch},))
    write_atomic(path, lambda file: torch.export.save(program, file))
    return torch.export.load(path).module()


def _export_torchscript(model: nn.Module, example: torch.Tensor, path: Path) -> Callable:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's deprecation notice; we say so in the docs
        traced = torch.jit.trace(model, example)
    write_atomic(path, lambda file: torch.jit.save(traced, file))
    return torch.jit.load(str(path))


def _export_state_dict(model: nn.Module, example: torch.Tensor, path: Path) -> Callable:
    write_atomic(path, lambda file: torch.save(model.state_dict(), file))
    reloaded = copy.deepcopy(model)
    reloaded.load_state_dict(torch.load(path, weights_only=True))
    return reloaded


EXPORTERS = {
    "pt2": _export_pt2,
    "torchscript": _export_torchscript,
    "state_dict": _export_state_dict,
}


def model_card(ctx: RunContext) -> dict:
    """What a consumer of the export needs to feed it and read its output."""
    data = ctx.data
    assert data is not None
    return {
        "easytrain": __version__,
        "name": ctx.recipe.name,
        "task": data.task,
        "classes": data.classes,
        "threshold": ctx.threshold,  # two classes: class 1 when its probability reaches this
        "input": {
            "shape": list(data.input_shape),
            "dtype": "float32",
            "feature_names": data.feature_names,
            **data.preprocessing,
        },
        "output": (
            "logits: softmax gives the probability of each class"
            if data.task == "classification"
            else "values in target units"
        ),
    }


class ExportStage:
    def __init__(self, config: ExportConfig):
        self.config = config

    def run(self, ctx: RunContext) -> None:
        assert ctx.model is not None and ctx.data is not None
        folder = ctx.run_dir / "export"
        folder.mkdir(exist_ok=True)
        model = copy.deepcopy(ctx.model).cpu().eval()
        inputs = (ctx.data.val or ctx.data.test or ctx.data.train).x[:64]
        if len(inputs) < 2:  # a batch of one would fix the batch size in the export
            inputs = inputs.repeat(2, *[1] * (inputs.ndim - 1))
        with torch.no_grad():
            expected = model(inputs)
        card = model_card(ctx) | {"files": {}, "checks": {}}
        failures = []
        for name in self.config.formats:
            path = folder / FILES[name]
            try:
                with torch.no_grad():
                    reloaded = EXPORTERS[name](model, inputs[:2], path)
                    difference = float((reloaded(inputs) - expected).abs().max())
            except Exception as exc:  # one format failing must not stop the others
                failures.append(
                    f"{name}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
                )
                path.unlink(missing_ok=True)
                continue
            if difference > self.config.tolerance:
                failures.append(
                    f"{name}: outputs differ from the model by {difference:.3g} "
                    f"(export.tolerance {self.config.tolerance})"
                )
                continue
            card["files"][name] = FILES[name]
            card["checks"][name] = {"max_abs_diff": difference, "inputs": len(inputs)}
            ctx.artifacts[f"export_{name}"] = f"export/{FILES[name]}"
            ctx.reporter.info(
                f"export: {name} → export/{FILES[name]} (max |diff| {difference:.2g})"
            )
        write_json(folder / "model.json", card)
        ctx.artifacts["model_card"] = "export/model.json"
        if failures:
            raise RunFailed("export failed for " + "; ".join(failures))
