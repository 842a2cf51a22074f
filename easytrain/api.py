"""The Python API: the same engine as the `easytrain` command, for notebooks and scripts.

    import easytrain
    result = easytrain.run("recipes/iris.yaml", overrides={"train.epochs": 20})
    result.metrics["test"]["accuracy"]
    result.predict([{"sepal length (cm)": 5.1, ...}])

Errors are the exceptions the command maps to exit codes: `RecipeError` (2), `EasytrainError`
(1), `GateFailed` (3), `Interrupted` (130). Nothing here imports torch until a run starts.
"""

from __future__ import annotations

import copy
import csv
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from easytrain.config.recipe import Recipe
    from easytrain.deploy.predictor import Predictor


def _override_strings(overrides: Mapping[str, Any] | Sequence[str] | None) -> list[str]:
    """{"train.epochs": 3, "~export": None} → ["train.epochs=3", "~export"].

    JSON is YAML, so every value keeps its type; a key that starts with ~ deletes that key.
    """
    if overrides is None:
        return []
    if isinstance(overrides, Mapping):
        return [
            key if key.startswith("~") else f"{key}={json.dumps(value)}"
            for key, value in overrides.items()
        ]
    return [str(item) for item in overrides]


def load_recipe(
    recipe: str | os.PathLike[str] | Mapping[str, Any],
    overrides: Mapping[str, Any] | Sequence[str] | None = None,
    *,
    allow_code: bool = False,
) -> Recipe:
    """The validated recipe, from a YAML file or a dict; raises RecipeError listing every problem."""
    from easytrain.config import load

    if not isinstance(recipe, Mapping):
        return load.load_recipe(Path(recipe), _override_strings(overrides), allow_code=allow_code)
    from easytrain.config.overrides import apply_overrides
    from easytrain.config.yamlpos import Positions
    from easytrain.registry import default_registry

    data, positions = copy.deepcopy(dict(recipe)), Positions()
    apply_overrides(data, positions, _override_strings(overrides))
    data.setdefault("name", "run")
    return load.validate_data(data, positions, allow_code=allow_code, registry=default_registry())


def validate(
    recipe: str | os.PathLike[str] | Mapping[str, Any],
    overrides: Mapping[str, Any] | Sequence[str] | None = None,
    *,
    allow_code: bool = False,
) -> dict[str, Any]:
    """The recipe with every default filled in, as `easytrain validate` prints it."""
    return load_recipe(recipe, overrides, allow_code=allow_code).model_dump(mode="json")


@dataclass
class Run:
    """A run folder: its summary, its per-epoch history and predictions from its model."""

    run_dir: Path
    summary: dict[str, Any]
    allow_code: bool = False
    _predictor: Predictor | None = field(default=None, repr=False, compare=False)

    @property
    def status(self) -> str:
        return str(self.summary.get("status"))

    @property
    def metrics(self) -> dict[str, dict[str, float]]:
        return self.summary.get("metrics") or {}

    @property
    def history(self) -> list[dict[str, float]]:
        """metrics.csv: one row per epoch, numbers as floats."""
        path = self.run_dir / "metrics.csv"
        if not path.is_file():
            return []
        with path.open(newline="") as file:
            return [
                {k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(file)
            ]

    def predict(self, inputs: Any, *, batch_size: int = 256) -> list[dict[str, Any]]:
        """Answers for raw inputs, prepared as the run prepared its data.

        inputs: table rows (a pandas DataFrame, a list of dicts or one dict), texts (strings) or
        image files (paths), as the run's data; one answer dict per input, in order.
        """
        from easytrain.deploy.predict import predict

        predictor = self._load()
        return [
            {k: v for k, v in row.items() if k != "input"}
            for row in predict(predictor, [_source(predictor, inputs)], batch_size)
        ]

    def _load(self) -> Predictor:
        if self._predictor is None:
            from easytrain.deploy.loaded import load_run as load
            from easytrain.deploy.predictor import Predictor

            self._predictor = Predictor(load(self.run_dir, self.allow_code))
        return self._predictor


def _source(predictor: Predictor, inputs: Any) -> Any:
    """Python inputs as one predict Source of the run's kind of data."""
    import pandas as pd

    from easytrain.deploy.predict import Source, sources
    from easytrain.errors import RecipeError

    kind, prep = predictor.run.kind, predictor.prepare
    if isinstance(inputs, str | os.PathLike | Mapping):
        inputs = [inputs]
    if kind == "text" and not isinstance(inputs, pd.DataFrame):
        texts = [str(text) for text in inputs]
        return sources(predictor, [], texts)[0]
    if kind == "image":
        return sources(predictor, [Path(p) for p in inputs], [])[0]
    frame = inputs if isinstance(inputs, pd.DataFrame) else pd.DataFrame(list(inputs))
    if frame.empty:
        raise RecipeError("predict: no inputs")
    names = [f"inputs[{i}]" for i in range(len(frame))]
    return Source(names, lambda a, b: prep.rows(frame.iloc[a:b], lambda i: names[i], "inputs"))


def load_run(path: str | os.PathLike[str], *, allow_code: bool = False) -> Run:
    """A finished run folder, ready to predict."""
    from easytrain.errors import RecipeError

    run_dir = Path(path)
    summary = run_dir / "summary.json"
    if not summary.is_file():
        raise RecipeError(f"{run_dir}: not a run folder (no summary.json)")
    return Run(run_dir, json.loads(summary.read_text()), allow_code)


def run(
    recipe: str | os.PathLike[str] | Mapping[str, Any],
    overrides: Mapping[str, Any] | Sequence[str] | None = None,
    *,
    out: str | os.PathLike[str] | None = None,
    resume: bool = False,
    device: str | None = None,
    allow_code: bool = False,
    quiet: bool = False,
) -> Run:
    """Run the whole pipeline, as `easytrain run` does; the finished run.

    A missed quality gate raises GateFailed once the run folder is complete; its `run_dir`
    names the folder, for `load_run(exc.run_dir)`.
    """
    from easytrain.errors import GateFailed
    from easytrain.pipeline.run import RunOptions, open_run_dir, run_pipeline
    from easytrain.registry import default_registry
    from easytrain.tracking.console import SilentReporter, make_reporter

    loaded = load_recipe(recipe, overrides, allow_code=allow_code)
    options = RunOptions(out=Path(out) if out is not None else None, resume=resume, device=device)
    run_dir = open_run_dir(loaded, options)
    reporter = SilentReporter() if quiet else make_reporter()
    try:
        summary = run_pipeline(loaded, run_dir, default_registry(), reporter, options)
    except GateFailed as exc:
        exc.run_dir = run_dir
        raise
    finally:
        reporter.close()
    return Run(run_dir, summary, allow_code)
