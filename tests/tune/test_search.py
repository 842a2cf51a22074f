"""`easytrain tune` end to end: a real search on iris, pruning, best.yaml, --resume."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import RECIPES, Result, cli
from tests.tune.conftest import metrics_rows, study_rows, summary, write_search

EPOCHS, TRIALS = 8, 8


@pytest.fixture(scope="module")
def search(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Result]:
    """(recipe, tune folder, CLI result) of one 8-trial search, shared by this module's tests."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        root = tmp_path_factory.mktemp("search")
        recipe = write_search(root, EPOCHS, TRIALS)
        result = cli("tune", str(recipe), "--out", str(root / "tune"))
    finally:
        torch.set_num_threads(threads)
    assert result.returncode == 0, result.stderr
    return recipe, root / "tune", result


def _values(rows: list[dict[str, str]]) -> list[float]:
    return [float(row["value"]) for row in rows if row["value"]]


def test_the_search_leaves_every_result(search: tuple[Path, Path, Result]) -> None:
    _, folder, result = search
    rows = study_rows(folder)
    assert [int(row["number"]) for row in rows] == list(range(TRIALS))
    assert {row["state"] for row in rows} <= {"complete", "pruned"}
    assert sorted(p.name for p in (folder / "trials").iterdir()) == sorted(map(str, range(TRIALS)))
    for name in ("history.png", "importance.png", "parallel_coordinate.png"):
        assert (folder / "plots" / name).stat().st_size > 10_000, name
    found = summary(folder)
    assert found["trials"]["complete"] + found["trials"].get("pruned", 0) == TRIALS
    assert found["direction"] == "maximize"  # auto, from val_accuracy
    assert found["best"]["value"] == max(_values(rows))
    assert f"{TRIALS} trials" in result.stderr and "trial  state     val_accuracy" in result.stderr
    assert "retrain it with: easytrain run" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_best_trial_beats_the_worst_by_a_clear_margin(
    search: tuple[Path, Path, Result],
) -> None:
    values = _values(study_rows(search[1]))
    assert max(values) >= 0.9, values
    assert max(values) - min(values) >= 0.3, values  # a learning rate of 1e-5 learns nothing


def test_the_pruner_stops_bad_trials_early(search: tuple[Path, Path, Result]) -> None:
    folder = search[1]
    pruned = [row for row in study_rows(folder) if row["state"] == "pruned"]
    assert pruned, "no trial was pruned"
    for row in pruned:
        run_dir = folder / row["run_dir"]
        assert len(metrics_rows(run_dir)) == int(row["epochs"]) < EPOCHS
        run = summary(run_dir)
        assert run["status"] == "pruned" and run["epochs_completed"] == int(row["epochs"])
        assert not (run_dir / "export").exists()  # a pruned trial stops after its last epoch


def test_best_yaml_reruns_to_the_same_metric(
    search: tuple[Path, Path, Result], tmp_path: Path
) -> None:
    folder = search[1]
    best = summary(folder)["best"]
    text = (folder / "best.yaml").read_text()
    recipe = yaml.safe_load(text)
    assert "tune" not in recipe
    assert recipe["train"]["optimizer"]["lr"] == best["params"]["train.optimizer.lr"]
    assert recipe["model"]["hidden"] == best["params"]["model.hidden"]
    assert recipe["export"] == {"formats": ["state_dict"]}  # kept for the real run

    result = cli("run", str(folder / "best.yaml"), "--out", str(tmp_path / "rerun"))
    assert result.returncode == 0, result.stderr
    rerun = summary(tmp_path / "rerun")
    value = float(metrics_rows(tmp_path / "rerun")[rerun["best_epoch"] - 1]["val_accuracy"])
    assert value == pytest.approx(best["value"], abs=1e-9)
    trial = folder / best["run_dir"]
    assert metrics_rows(tmp_path / "rerun")[-1]["val_loss"] == metrics_rows(trial)[-1]["val_loss"]


def _cut_off_trial(folder: Path, study_name: str) -> int:
    """What a crash mid-trial leaves: a trial still marked running, its worker gone."""
    import optuna

    storage = f"sqlite:///{folder / 'study.db'}"
    study = optuna.load_study(study_name=study_name, storage=storage)
    trial = study.ask()
    trial.suggest_float("train.optimizer.lr", 1e-5, 1e-1, log=True)
    trial.suggest_categorical("model.hidden", ["[8]", "[32, 16]"])
    trial.set_user_attr("worker", "gone-host:999999")
    return trial.number


def test_resume_finishes_the_budget_and_reruns_a_cut_off_trial(
    search: tuple[Path, Path, Result], tmp_path: Path
) -> None:
    recipe, original, _ = search
    folder = tmp_path / "tune"
    shutil.copytree(original, folder)  # the study lives in the folder: a copy is a new study
    cut = _cut_off_trial(folder, "iris-search")

    result = cli("tune", str(recipe), "--resume", "--out", str(folder), "--trials", str(TRIALS + 2))
    assert result.returncode == 0, result.stderr
    assert f"trial {cut} was cut off; running it again" in result.stderr

    rows = study_rows(folder)
    by_number: dict[int, dict[str, Any]] = {int(row["number"]): row for row in rows}
    assert sorted(by_number) == list(range(len(rows))), "trial numbers are unique and dense"
    assert by_number[cut]["state"] == "fail" and not by_number[cut]["error"]
    retry = [row for row in rows if row["retry_of"] == str(cut)]
    assert len(retry) == 1 and retry[0]["state"] in ("complete", "pruned")
    assert retry[0]["params.model.hidden"] == by_number[cut]["params.model.hidden"]
    counted = [row for row in rows if row["state"] != "fail"]
    assert len(counted) == TRIALS + 2, "the budget counts the retry, not the cut-off trial"
    folders = sorted(int(p.name) for p in (folder / "trials").iterdir())
    assert folders == sorted(int(row["number"]) for row in counted)

    again = cli("tune", str(recipe), "--resume", "--out", str(folder), "--trials", str(TRIALS + 2))
    assert again.returncode == 0, again.stderr
    assert "nothing to run" in again.stderr and len(study_rows(folder)) == len(rows)


def test_a_new_search_refuses_a_used_folder(search: tuple[Path, Path, Result]) -> None:
    recipe, folder, _ = search
    result = cli("tune", str(recipe), "--out", str(folder))
    assert result.returncode == 2 and "already holds files" in result.stderr


def test_run_ignores_the_tune_section(tmp_path: Path) -> None:
    result = cli("run", str(RECIPES / "iris-tune.yaml"), "train.epochs=2", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert summary(tmp_path)["status"] == "succeeded" and summary(tmp_path)["epochs_completed"] == 2
    assert not (tmp_path / "trials").exists()
