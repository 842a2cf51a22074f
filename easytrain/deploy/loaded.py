"""A finished run, loaded for export, predict and serve: recipe, data card, weights, sample inputs.

Everything comes from the run folder (recipe.yaml, preprocessing.json, checkpoints/best.pt with
weights_only, sample_inputs.pt). A run from before preprocessing.json existed has its data
rebuilt from recipe.yaml instead (the same seed gives the same splits and statistics).
"""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import torch
from torch import nn

from easytrain.config.load import load_recipe
from easytrain.config.recipe import Recipe
from easytrain.deploy.card import (
    DATA_CARD,
    SAMPLE,
    bundle_from_card,
    data_card,
    input_kind,
    read_json,
    sample_inputs,
)
from easytrain.engine import checkpoint
from easytrain.engine import runfolder_checks as checks
from easytrain.engine.runfolder_checks import load_into, weights
from easytrain.errors import RecipeError
from easytrain.pipeline.runfiles import run_file


@dataclass
class LoadedRun:
    run_dir: Path
    recipe: Recipe
    card: dict[str, Any]  # the data card (preprocessing.json)
    sample: torch.Tensor  # real validation inputs, for checking exports
    threshold: float | None

    @property
    def kind(self) -> str:
        return input_kind(self.card["preprocessing"])

    @property
    def target_std(self) -> float:
        target = self.card["preprocessing"].get("target")
        return float(target["std"]) if target else 1.0

    def architecture(self) -> nn.Module:
        """The run's network with freshly initialised weights, on the CPU, in eval mode."""
        from easytrain.pipeline.context import RunContext
        from easytrain.registry import default_registry
        from easytrain.stages.model import build_model
        from easytrain.tracking.console import PlainReporter

        ctx = RunContext(
            self.recipe, self.run_dir, torch.device("cpu"), default_registry(), PlainReporter()
        )
        ctx.data = bundle_from_card(self.card)
        model, _ = build_model(ctx, pretrained=False)
        return model.eval()

    @cached_property
    def model(self) -> nn.Module:
        """The network with the best checkpoint's weights."""
        from easytrain.engine import checkpoint

        model = self.architecture()
        best = run_file(self.run_dir, "checkpoints/best.pt")
        load_into(model, weights(checkpoint.load(best), best), best)
        return model

    @property
    def outputs(self) -> int:
        with torch.no_grad():
            return int(self.model(self.sample[:2]).shape[-1])


def _threshold(run_dir: Path) -> float | None:
    """The decision threshold the run chose, part of the model like its weights."""
    card = read_json(run_file(run_dir, "export/model.json"))
    if card is not None and "threshold" in card:
        return card["threshold"]
    found = (read_json(run_file(run_dir, "summary.json")) or {}).get("threshold")
    return float(found["value"]) if isinstance(found, dict) and "value" in found else None


def load_run(run_dir: Path, allow_code: bool = False) -> LoadedRun:
    if not run_dir.is_dir():
        raise RecipeError(f"{run_dir}: no such run folder")
    recipe_file, best = run_file(run_dir, "recipe.yaml"), run_file(run_dir, "checkpoints/best.pt")
    for path in (recipe_file, best):
        if not path.is_file():
            raise RecipeError(
                f"{run_dir} is not a finished run: it has no {path.relative_to(run_dir)}"
            )
    recipe = load_recipe(recipe_file, allow_code=allow_code)
    card = read_json(run_file(run_dir, DATA_CARD))
    sample_file = run_file(run_dir, SAMPLE)
    if card is None or not sample_file.is_file():
        card, sample = _rebuild(recipe)
    else:
        card = checks.data_card(card, run_dir / DATA_CARD)
        saved = checkpoint.load(sample_file)  # weights_only, a refusal as a RunFailed
        sample = checks.sample(saved, sample_file, card["input_shape"])
    return LoadedRun(run_dir, recipe, card, sample, _threshold(run_dir))


def _rebuild(recipe: Recipe) -> tuple[dict[str, Any], torch.Tensor]:
    """The data card and sample of a run that saved none: its data, prepared again."""
    from easytrain.pipeline.context import RunContext
    from easytrain.registry import default_registry
    from easytrain.tracking.console import PlainReporter

    registry = default_registry()
    with tempfile.TemporaryDirectory() as scratch:
        ctx = RunContext(
            recipe, Path(scratch), torch.device("cpu"), registry, PlainReporter(io.StringIO())
        )
        stage = registry.get("preprocess", recipe.preprocess.type).load()(recipe.preprocess)
        stage.run(ctx)
    assert ctx.data is not None
    return data_card(ctx.data), sample_inputs(ctx.data)
