"""`easytrain evaluate RUN_DIR`: score a finished run again, on its own data or on new data.

The run's recipe.yaml rebuilds the data (same seed: the same splits and statistics) and the model;
checkpoints/best.pt supplies the weights (weights_only). A new file (`--data path=…`) is
prepared with the run's saved preprocessing, as predict prepares it, and scored whole
(pipeline/newdata.py); other --data changes (another split) are standardized with the run's
saved statistics and must be encoded the same way. The result goes to
RUN_DIR/evaluations/<timestamp>.json; gates apply as in the run.
"""

from __future__ import annotations

import json
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import torch

from easytrain.config.load import load_recipe
from easytrain.config.recipe import Recipe
from easytrain.data.bundle import DataBundle, Split, SplitInputs
from easytrain.data.stream import ImageStream
from easytrain.errors import RecipeError, RunFailed
from easytrain.metrics.gates import raise_if_failed
from easytrain.pipeline.bootstrap import bootstrap, preprocess
from easytrain.pipeline.context import RunContext
from easytrain.pipeline.newdata import new_data_of
from easytrain.pipeline.runfiles import read_text, run_file
from easytrain.registry import Registry
from easytrain.tracking.console import Reporter


def run_files(run_dir: Path) -> tuple[Path, Path]:
    """recipe.yaml and checkpoints/best.pt of a finished run, or a usage error saying which is missing."""
    if not run_dir.is_dir():
        raise RecipeError(f"{run_dir}: no such run folder")
    recipe, best = run_file(run_dir, "recipe.yaml"), run_file(run_dir, "checkpoints/best.pt")
    for path in (recipe, best):
        if not path.is_file():
            raise RecipeError(
                f"{run_dir} is not a finished run: it has no {path.relative_to(run_dir)}"
            )
    return recipe, best


def _saved_threshold(run_dir: Path) -> float | None:
    """The threshold the run chose (it is part of the model, like its weights)."""
    try:
        summary = json.loads(read_text(run_dir, "summary.json") or "{}")
    except json.JSONDecodeError:
        return None
    found = summary.get("threshold")
    return float(found["value"]) if isinstance(found, dict) and "value" in found else None


def _rescaled(x: SplitInputs, own: dict[str, Any], run: dict[str, Any]) -> SplitInputs:
    """x standardized with `own` statistics → standardized with the run's."""
    if not x.is_floating_point() or own.get("normalize") == run.get("normalize"):
        return x
    if isinstance(x, ImageStream):  # made from the 8-bit images: with the run's statistics
        return x.normalized_as({"normalize": run.get("normalize")})
    if not isinstance(x, torch.Tensor):
        raise RunFailed(
            f"--data: inputs of type {type(x).__name__} cannot be put on the run's scale"
        )

    def stats(info: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        norm = info.get("normalize") or {"mean": 0.0, "std": 1.0, "per": "feature"}
        mean = torch.as_tensor(norm["mean"], dtype=torch.float32)
        std = torch.as_tensor(norm["std"], dtype=torch.float32)
        if norm.get("per") == "channel" and x.ndim == 4:
            mean, std = mean.reshape(1, -1, 1, 1), std.reshape(1, -1, 1, 1)
        return mean, std

    (own_mean, own_std), (run_mean, run_std) = stats(own), stats(run)
    return ((x * own_std + own_mean) - run_mean) / run_std


def align_to_run(data: DataBundle, run: dict[str, Any], classes: list[str] | None) -> None:
    """Put new data on the scale the model was trained on (the run's saved preprocessing)."""
    own = data.preprocessing.as_json()
    if data.classes != classes:
        raise RunFailed(
            f"--data: this data's classes {data.classes} are not the run's {classes}, so the "
            "model's outputs would mean other labels"
        )
    if list(data.input_shape) != list(run.get("input_shape", data.input_shape)):
        raise RunFailed(
            f"--data: these inputs have shape {list(data.input_shape)}, the run's model takes "
            f"{run['input_shape']}"
        )
    if own.get("encoding") != run.get("encoding"):
        raise RunFailed(
            "--data: this data is encoded differently from the run's (other categories or "
            "vocabulary), so its columns do not mean what the model learned; evaluate data with "
            "the same categories, or retrain"
        )
    for name in ("train", "val", "test"):
        split = data.split(name)
        if split is not None:
            setattr(data, name, Split(_rescaled(split.x, own, run), split.y))
    data.preprocessing = data.preprocessing.merged(
        {k: run[k] for k in ("normalize", "target") if k in run}
    )


def _run_preprocessing(
    run_dir: Path, registry: Registry, reporter: Reporter
) -> tuple[dict[str, Any], list[str] | None]:
    """The preprocessing and classes the run saved for predict (export/model.json), or, without
    an export, those of its data rebuilt from recipe.yaml (the same seed gives the same ones)."""
    card = run_file(run_dir, "export/model.json")
    if card.is_file():
        saved = json.loads(card.read_text())
        return saved["input"], saved["classes"]
    data = preprocess(_context(load_recipe(run_dir / "recipe.yaml"), Path(), registry, reporter))
    return data.preprocessing.as_json(), data.classes


def _context(recipe: Recipe, scratch: Path, registry: Registry, reporter: Reporter) -> RunContext:
    from easytrain.engine.device import resolve_device

    return RunContext(recipe, scratch, resolve_device(recipe.device), registry, reporter)


def reevaluate(
    run_dir: Path,
    split: str,
    data_overrides: list[str],
    registry: Registry,
    reporter: Reporter,
) -> dict[str, Any]:
    """Evaluate the run's best weights; write and return evaluations/<timestamp>.json's content."""
    from easytrain.engine import checkpoint
    from easytrain.pipeline.folders import check_writable, write_json
    from easytrain.stages.evaluate import evaluate, report_lines
    from easytrain.stages.model import ModelStage

    recipe_file, best = run_files(run_dir)
    check_writable(run_dir, "evaluations/")
    recipe = load_recipe(recipe_file, [f"data.{item}" for item in data_overrides])
    with tempfile.TemporaryDirectory() as scratch:  # nothing but the result lands in the run
        ctx = _context(recipe, Path(scratch), registry, reporter)
        ctx.data = new_data_of(run_dir, recipe, data_overrides)  # a new file: all of it, as is
        if ctx.data is None and data_overrides:
            run_preprocessing = _run_preprocessing(run_dir, registry, reporter)
            bootstrap(ctx, lambda data: align_to_run(data, *run_preprocessing))
        elif ctx.data is None:
            bootstrap(ctx)
        ModelStage().run(ctx)
    assert ctx.model is not None
    from easytrain.engine.runfolder_checks import load_into, weights

    load_into(ctx.model, weights(checkpoint.load(best, map_location=ctx.device), best), best)
    config = recipe.evaluate
    # --split val asks about val: test is neither scored nor gated
    found = evaluate(ctx, config, (split,), threshold=_saved_threshold(run_dir))
    found.gates = [gate for gate in found.gates if gate.split == split]
    for line in report_lines(found):
        reporter.info(line)
    result = {
        "run": str(run_dir),
        "evaluated": datetime.now().isoformat(timespec="seconds"),
        "split": split,
        "data_overrides": data_overrides,
        "checkpoint": "checkpoints/best.pt",
        "metrics": found.metrics,
        "gates": [gate.as_json() for gate in found.gates],
        "threshold": found.threshold,
        **found.tables,
    }
    folder = run_dir / "evaluations"
    folder.mkdir(exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = folder / f"{stamp}.json"
    for attempt in range(1, 1000):  # two evaluations in one second keep both files
        if not path.exists():
            break
        path = folder / f"{stamp}-{attempt}.json"
    write_json(path, result)
    reporter.info(f"evaluation → {path}")
    raise_if_failed(found.gates)
    return result
