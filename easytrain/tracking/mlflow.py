"""MLflow tracking: one MLflow run per easytrain run, nested under the search for tuning trials.

Everything is logged from rank 0 only, and only when the recipe has `track.mlflow`. mlflow is
imported here alone (it takes seconds), with an error that names the extra to install.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from easytrain.config.track import MlflowConfig
from easytrain.errors import EasytrainError

ARTIFACTS = ("plots", "export", "summary.json", "recipe.yaml")
PARENT_ENV = "EASYTRAIN_MLFLOW_PARENT"  # the search's MLflow run, for trials in worker processes
MAX_PARAM = 6000  # MLflow's limit on a param value's length


def _mlflow() -> Any:
    try:
        import mlflow
    except ImportError:
        raise EasytrainError("track.mlflow needs MLflow: pip install 'easytrain[mlflow]'") from None
    for name in ("mlflow", "alembic"):  # their INFO lines (database set-up) are not ours to print
        logging.getLogger(name).setLevel(logging.WARNING)
    return mlflow


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """The resolved recipe as MLflow params: dotted keys, values as text."""
    flat: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, dict) and value:
            flat |= flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = str(value)[:MAX_PARAM]
    return flat


def _artifact_root(uri: str) -> str | None:
    """Artifacts of a local SQLite store go beside it, not into ./mlruns of wherever one ran."""
    if not uri.startswith("sqlite:///"):
        return None
    database = Path(uri.removeprefix("sqlite:///"))
    return (database.parent.resolve() / "mlartifacts").as_uri()


def _experiment(mlflow: Any, config: MlflowConfig, name: str) -> str:
    """The experiment's id, created on first use with its artifacts beside a local store."""
    uri = config.uri
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    experiment = config.experiment or name
    client = mlflow.MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    if found is not None:
        return str(found.experiment_id)
    return str(client.create_experiment(experiment, artifact_location=_artifact_root(uri)))


class MlflowTracker:
    """Start on creation; `epoch(row)` after every epoch; `finish(summary)` or `fail(...)` at the end."""

    def __init__(self, config: MlflowConfig, name: str, recipe: dict[str, Any], run_dir: Path):
        self.mlflow, self.config, self.run_dir = _mlflow(), config, run_dir
        try:
            self._start(name, recipe)
        except Exception as exc:  # a store we cannot reach fails the run before training
            raise EasytrainError(f"track.mlflow: cannot log to {config.uri}: {exc}") from exc

    def _start(self, name: str, recipe: dict[str, Any]) -> None:
        mlflow = self.mlflow
        nested = mlflow.active_run() is not None  # a tuning trial, under the search's run
        self.run = mlflow.start_run(
            experiment_id=_experiment(mlflow, self.config, name),
            run_name=self.run_dir.name,
            nested=nested,
            parent_run_id=None if nested else os.environ.get(PARENT_ENV),
        )
        mlflow.set_tags({"easytrain.run_dir": str(self.run_dir.resolve())})
        mlflow.log_params(flatten(recipe))

    def epoch(self, row: dict[str, float]) -> None:
        step = int(row["epoch"])
        self.mlflow.log_metrics({k: v for k, v in row.items() if k != "epoch"}, step=step)

    def finish(self, summary: dict[str, Any]) -> None:
        metrics = summary.get("metrics") or {}
        # the evaluated checkpoint is best.pt: its val scores must not join the per-epoch series
        final = {
            f"{'best_val' if split == 'val' else split}_{name}": value
            for split, values in metrics.items()
            for name, value in (values or {}).items()
            if isinstance(value, int | float)
        }
        self.mlflow.log_metrics(final)
        self.mlflow.set_tag("easytrain.status", summary.get("status"))
        if self.config.artifacts:
            for name in ARTIFACTS:
                path = self.run_dir / name
                if path.is_dir():
                    self.mlflow.log_artifacts(str(path), artifact_path=name)
                elif path.is_file():
                    self.mlflow.log_artifact(str(path))
        status = "FINISHED" if summary.get("status") in ("succeeded", "pruned") else "FAILED"
        self.mlflow.end_run(status=status)

    def fail(self, interrupted: bool = False) -> None:
        self.mlflow.end_run(status="KILLED" if interrupted else "FAILED")


def start(
    config: MlflowConfig | None, name: str, recipe: dict[str, Any], run_dir: Path
) -> MlflowTracker | None:
    """A tracker when the recipe asks for one, else None."""
    if config is None:
        return None
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    return MlflowTracker(config, name, recipe, run_dir)


def start_search(config: MlflowConfig | None, name: str, folder: Path) -> Any:
    """The MLflow run of an `easytrain tune` search, whose trials become its nested runs."""
    if config is None:
        return None
    mlflow = _mlflow()
    try:
        run = mlflow.start_run(
            experiment_id=_experiment(mlflow, config, name), run_name=folder.name
        )
    except Exception as exc:
        raise EasytrainError(f"track.mlflow: cannot log to {config.uri}: {exc}") from exc
    mlflow.set_tags({"easytrain.tune_dir": str(folder.resolve())})
    os.environ[PARENT_ENV] = run.info.run_id  # worker processes inherit it
    return mlflow


def end_search(mlflow: Any, failed: bool) -> None:
    if mlflow is None:
        return
    os.environ.pop(PARENT_ENV, None)
    mlflow.end_run(status="FAILED" if failed else "FINISHED")
