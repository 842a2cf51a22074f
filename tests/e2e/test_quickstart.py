"""The quickstart, run as a user runs it, checked by what it leaves in the run folder."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch
import yaml

from easytrain.config.load import load_recipe
from easytrain.errors import ExitCode
from tests.conftest import RECIPES, cli, easytrain, summary


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("digits") / "run"
    done = easytrain("run", str(RECIPES / "digits.yaml"), "--out", str(out), "--json")
    assert done.returncode == 0, done.stderr
    return out, done.stdout


@pytest.mark.slow
def test_quickstart_reaches_the_promised_accuracy(digits_run: tuple[Path, str]) -> None:
    out, stdout = digits_run
    result = summary(out)
    assert result["status"] == "succeeded"
    assert result["metrics"]["test"]["accuracy"] >= 0.97
    assert json.loads(stdout) == result  # --json prints exactly summary.json


@pytest.mark.slow
def test_run_folder_holds_everything(digits_run: tuple[Path, str]) -> None:
    out, _ = digits_run
    for name in (
        "recipe.yaml",
        "env.json",
        "metrics.csv",
        "summary.json",
        "model.txt",
        "checkpoints/last.pt",
        "checkpoints/best.pt",
        "export/model.pt2",
        "export/model.json",
    ):
        assert (out / name).is_file(), name
    assert not list(out.rglob("*.tmp")), "a temp file was left behind"
    resolved = load_recipe(out / "recipe.yaml")  # the resolved recipe runs as it is
    assert (
        resolved.train.epochs
        == yaml.safe_load((RECIPES / "digits.yaml").read_text())["train"]["epochs"]
    )
    env = json.loads((out / "env.json").read_text())
    assert env["torch"] == torch.__version__ and env["device"] == "cpu"
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    result = summary(out)
    assert len(rows) == result["epochs_completed"]
    assert list(rows[0]) == [
        "epoch",
        "train_loss",
        "val_loss",
        "val_accuracy",
        "val_f1_macro",
        "lr",
        "seconds",
    ]
    best = min(rows, key=lambda r: float(r["val_loss"]))
    assert int(best["epoch"]) == result["best_epoch"]


@pytest.mark.slow
def test_checkpoints_and_export_agree(digits_run: tuple[Path, str]) -> None:
    out, _ = digits_run
    last = torch.load(out / "checkpoints/last.pt", weights_only=True)
    best = torch.load(out / "checkpoints/best.pt", weights_only=True)
    assert last["state"]["epoch"] == summary(out)["epochs_completed"]
    assert best["epoch"] == summary(out)["best_epoch"]
    program = torch.export.load(out / "export/model.pt2").module()
    card = json.loads((out / "export/model.json").read_text())
    assert card["classes"] == [str(i) for i in range(10)]
    # The export answers for any batch size, like the model it came from.
    for batch in (1, 7):
        x = torch.randn(batch, *card["input"]["shape"])
        assert program(x).shape == (batch, 10)


@pytest.mark.slow
def test_regression_reports_metrics_in_target_units(tmp_path: Path) -> None:
    out = tmp_path / "run"
    done = cli("run", str(RECIPES / "diabetes.yaml"), "--out", str(out), "train.epochs=10")
    assert done.returncode == 0, done.stderr
    test = summary(out)["metrics"]["test"]
    assert set(test) == {"loss", "mse", "mae", "r2"}
    assert test["r2"] > 0  # better than predicting the mean
    assert test["mae"] ** 2 <= test["mse"]  # true of any errors; fails if units were mixed up
    assert test["mse"] > 100  # the target spans 25–346: a standardized-unit MSE would be ~1


@pytest.mark.slow
def test_a_missed_gate_exits_3_and_says_by_how_much(tmp_path: Path) -> None:
    out = tmp_path / "run"
    done = cli(
        "run",
        str(RECIPES / "iris.yaml"),
        "--out",
        str(out),
        "train.epochs=1",
        "evaluate.gates={accuracy: 0.999, f1_macro: '>= 0.1'}",
    )
    assert done.returncode == ExitCode.GATE_FAILED, done.stderr
    assert "accuracy" in done.stderr and "missed by" in done.stderr
    assert "Traceback" not in done.stderr
    result = summary(out)
    assert result["status"] == "gate_failed"
    by_metric = {g["metric"]: g for g in result["gates"]}
    assert by_metric["accuracy"]["passed"] is False and by_metric["f1_macro"]["passed"] is True
    assert (out / "export/model.pt2").exists()  # the model is kept for inspection


@pytest.mark.slow
def test_overrides_reach_the_run(tmp_path: Path) -> None:
    out = tmp_path / "run"
    done = cli(
        "run",
        str(RECIPES / "wine.yaml"),
        "--out",
        str(out),
        "train.epochs=3",
        "model.hidden=[8]",
        "~train.scheduler",
        "~export",
        "~evaluate.gates",
    )
    assert done.returncode == 0, done.stderr
    resolved = yaml.safe_load((out / "recipe.yaml").read_text())
    assert resolved["train"]["epochs"] == 3 and resolved["model"]["hidden"] == [8]
    assert resolved["train"]["scheduler"] is None and resolved["export"] is None
    assert len(list(csv.DictReader((out / "metrics.csv").open()))) == 3
    assert not (out / "export").exists()
    lrs = {row["lr"] for row in csv.DictReader((out / "metrics.csv").open())}
    assert len(lrs) == 1  # no scheduler: a constant learning rate


@pytest.mark.slow
def test_runs_without_out_get_their_own_folders(tmp_path: Path) -> None:
    for _ in range(2):
        done = cli(
            "run", str(RECIPES / "iris.yaml"), "train.epochs=1", "~evaluate.gates", cwd=tmp_path
        )
        assert done.returncode == 0, done.stderr
    folders = sorted((tmp_path / "runs" / "iris").iterdir())
    assert len(folders) == 2
    assert all((f / "summary.json").exists() for f in folders)


def test_out_folder_with_files_is_refused(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("precious")
    done = cli("run", str(RECIPES / "iris.yaml"), "--out", str(tmp_path))
    assert done.returncode == ExitCode.BAD_RECIPE
    assert "already holds files" in done.stderr
    assert (tmp_path / "keep.txt").read_text() == "precious"
