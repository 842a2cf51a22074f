"""One trial: a real pipeline run of the recipe with sampled values, into trials/<number>/.

The run reports the tuned metric after every epoch, so the pruner can stop it early; a pruned
run ends cleanly with status "pruned" in its summary.json. Trials skip export (best.yaml keeps
it); everything else is the run `easytrain run` would do.
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from easytrain.config.sampled import validate_params
from easytrain.config.tune import TuneConfig
from easytrain.config.yamlpos import Positions
from easytrain.errors import GateFailed, Pruned, RecipeError, RunFailed
from easytrain.registry import Registry
from easytrain.tune.results import short
from easytrain.tune.study import import_optuna, suggest, worker_id

if TYPE_CHECKING:
    import optuna

TRIALS = "trials"


@dataclass
class Objective:
    """What every trial of this process shares: the recipe as read, and where trials go."""

    data: dict[str, Any]  # the recipe with command-line overrides applied, `tune:` included
    positions: Positions
    config: TuneConfig
    folder: Path  # the tune folder
    registry: Registry
    allow_code: bool = False
    tag: str = ""  # e.g. "[worker 2] ", before each line this process prints

    def __call__(self, trial: optuna.Trial) -> float:
        optuna = import_optuna()
        started = time.perf_counter()
        trial.set_user_attr("worker", worker_id())
        params = suggest(trial, self.config.space)
        run_dir = self.folder / TRIALS / str(trial.number)
        trial.set_user_attr("run_dir", f"{TRIALS}/{trial.number}")
        try:
            result = self._run(trial, params, run_dir)
        except (RecipeError, RunFailed) as exc:  # this trial's own failure: the study goes on
            message = str(exc).replace("\n", " ")
            trial.set_user_attr("error", message)
            self._say(trial, "failed", None, None, started, params, message)
            raise
        epochs = int(result.get("epochs_completed") or 0)
        trial.set_user_attr("epochs", epochs)
        if result["status"] == "pruned":  # Optuna keeps the last reported value
            self._say(trial, "pruned", result["value"], epochs, started, params)
            raise optuna.TrialPruned()
        self._say(trial, "complete", result["value"], epochs, started, params)
        return result["value"]

    def _run(self, trial: optuna.Trial, params: dict[str, Any], run_dir: Path) -> dict[str, Any]:
        from easytrain.pipeline.run import RunOptions, run_pipeline
        from easytrain.tracking.console import SilentReporter

        recipe = validate_params(
            self.data, self.positions, params, allow_code=self.allow_code, registry=self.registry
        )
        recipe = recipe.model_copy(update={"export": None})
        metric = self.config.metric
        rows: dict[int, dict[str, float]] = {}

        def report(row: dict[str, float]) -> None:
            epoch = int(row["epoch"])
            if metric not in row:
                raise RunFailed(
                    f"tune.metric: {metric} is not logged (metrics.csv has {', '.join(row)})"
                )
            rows[epoch] = row
            trial.report(float(row[metric]), epoch)
            if trial.should_prune():
                raise Pruned(epoch)

        run_dir.mkdir(parents=True, exist_ok=False)
        options = RunOptions(out=run_dir, on_epoch=report)
        try:
            result = run_pipeline(recipe, run_dir, self.registry, SilentReporter(), options)
        except GateFailed:  # gates guard what ships; a trial that misses one still has a value
            result = json.loads((run_dir / "summary.json").read_text())
        if result["status"] == "pruned":
            return result | {"value": float(rows[max(rows)][metric])}
        best = result.get("best_epoch") or max(rows, default=0)
        if best not in rows:
            raise RunFailed(f"tune.metric: no epoch logged {metric}")
        value = float(rows[best][metric])
        if not math.isfinite(value):
            raise RunFailed(f"tune.metric: {metric} is {value} at the best epoch ({best})")
        return result | {"value": value}

    def _say(
        self,
        trial: optuna.Trial,
        state: str,
        value: float | None,
        epochs: int | None,
        started: float,
        params: dict[str, Any],
        error: str = "",
    ) -> None:
        """One line per trial: with several workers, per-epoch lines would only interleave."""
        shown = f"{self.config.metric} {value:.4f}" if value is not None else ""
        parts = [
            f"{self.tag}trial {trial.number:<3}",
            f"{state:<8}",
            shown,
            f"{epochs} epoch{'s' if epochs != 1 else ''}" if epochs is not None else "",
            f"{time.perf_counter() - started:.1f} s",
            " ".join(f"{k}={short(v)}" for k, v in params.items()),
            error,
        ]
        print("  ".join(p for p in parts if p), file=sys.stderr, flush=True)
