"""The `track:` section: experiment trackers beside the run folder's own TensorBoard files."""

from __future__ import annotations

from pydantic import Field

from easytrain.config.base import Section


class MlflowConfig(Section):
    """Log the run to MLflow: the resolved recipe as params, every epoch's metrics, the test metrics, plots and the exported model as artifacts."""

    uri: str = Field("sqlite:///runs/mlflow.db", min_length=1)
    """The tracking store: a local SQLite file by default (works offline; `mlflow ui --backend-store-uri sqlite:///runs/mlflow.db` shows it), or an MLflow server's http(s):// address, which receives the recipe, metrics and artifacts."""
    experiment: str | None = Field(None, min_length=1)
    """The MLflow experiment; defaults to the recipe's name."""
    artifacts: bool = True
    """Log plots/, export/, summary.json and recipe.yaml as the run's artifacts."""


class TrackConfig(Section):
    """Experiment trackers that follow the run; each is optional."""

    mlflow: MlflowConfig | None = None
    """MLflow tracking (needs easytrain[mlflow])."""
