"""track.mlflow: the run, read back from the store with MLflow's own client."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.conftest import RECIPES, cli, summary

pytest.importorskip("mlflow")


def _client(store: Path):
    from mlflow import MlflowClient

    return MlflowClient(f"sqlite:///{store}")


@pytest.mark.slow
def test_a_tracked_run_logs_params_every_epoch_the_test_metrics_and_artifacts(
    tmp_path: Path,
) -> None:
    store = tmp_path / "mlflow.db"
    track = f"track.mlflow={{uri: 'sqlite:///{store}', experiment: flowers}}"
    done = cli(
        "run",
        str(RECIPES / "iris.yaml"),
        "train.epochs=4",
        "~evaluate.gates",
        track,
        "--out",
        str(tmp_path / "run"),
    )
    assert done.returncode == 0, done.stderr
    client = _client(store)
    experiment = client.get_experiment_by_name("flowers")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.status == "FINISHED"
    assert run.data.params["train.epochs"] == "4"
    assert run.data.params["model.hidden"] == "[32, 32]"
    history = client.get_metric_history(run.info.run_id, "val_loss")
    with (tmp_path / "run" / "metrics.csv").open() as file:
        rows = list(csv.DictReader(file))
    assert [m.step for m in history] == [1, 2, 3, 4]
    assert [m.value for m in history] == pytest.approx([float(r["val_loss"]) for r in rows])
    test = summary(tmp_path / "run")["metrics"]["test"]
    assert run.data.metrics["test_accuracy"] == pytest.approx(test["accuracy"])
    best = summary(tmp_path / "run")["metrics"]["val"]
    assert run.data.metrics["best_val_loss"] == pytest.approx(best["loss"])
    logged = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"plots", "export", "summary.json", "recipe.yaml"} <= logged
    exported = {a.path for a in client.list_artifacts(run.info.run_id, "export")}
    assert "export/model.pt2" in exported
    assert not (tmp_path / "mlruns").exists() and not Path("mlruns").exists()


@pytest.mark.slow
def test_tuning_trials_are_nested_under_the_search(tmp_path: Path) -> None:
    store = tmp_path / "mlflow.db"
    track = f"track.mlflow={{uri: 'sqlite:///{store}'}}"
    done = cli(
        "tune",
        str(RECIPES / "iris-tune.yaml"),
        "train.epochs=2",
        "tune.trials=3",
        track,
        "--out",
        str(tmp_path / "tune"),
    )
    assert done.returncode == 0, done.stderr
    client = _client(store)
    experiment = client.get_experiment_by_name("iris-tune")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1 and len(children) == 3
    assert {r.data.tags["mlflow.parentRunId"] for r in children} == {parents[0].info.run_id}
    assert len({r.data.params["train.optimizer.lr"] for r in children}) == 3


def test_a_store_that_cannot_be_opened_fails_the_run_before_training(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    track = f"track.mlflow={{uri: 'sqlite:///{tmp_path}/file/mlflow.db'}}"
    done = cli("run", str(RECIPES / "iris.yaml"), track, "--out", str(tmp_path / "run"))
    assert done.returncode == 1
    assert "track.mlflow: cannot log to sqlite:///" in done.stderr
    assert not (tmp_path / "run" / "checkpoints").exists()
