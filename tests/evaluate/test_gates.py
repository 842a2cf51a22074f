"""Gates: absolute bounds, per-gate splits, drops against a baseline run, and the failure table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from easytrain.config.evaluate import EvaluateConfig
from easytrain.errors import ExitCode, GateFailed
from easytrain.metrics.gates import Gate, check_gates, raise_if_failed
from easytrain.registry import default_registry
from easytrain.tracking.gatetable import plain
from tests.conftest import RECIPES, cli, summary


def _config(**section) -> EvaluateConfig:
    return EvaluateConfig.model_validate(section, context={"registry": default_registry()})


def _baseline(folder: Path, test: dict[str, float]) -> Path:
    path = folder / "summary.json"
    path.write_text(json.dumps({"status": "succeeded", "metrics": {"test": test}}))
    return path


@pytest.mark.parametrize(
    ("metric", "baseline", "value", "passed"),
    [
        ("accuracy", 0.90, 0.885, False),  # fell by 0.015 > 0.01
        ("accuracy", 0.90, 0.895, True),  # fell by 0.005
        ("accuracy", 0.90, 0.95, True),  # rose
        ("log_loss", 0.30, 0.32, False),  # lower is better: a rise of 0.02 is the drop
        ("log_loss", 0.30, 0.305, True),
        ("log_loss", 0.30, 0.10, True),
    ],
)
def test_max_drop_is_direction_aware(
    tmp_path: Path, metric: str, baseline: float, value: float, passed: bool
) -> None:
    config = _config(baseline=_baseline(tmp_path, {metric: baseline}), max_drop={metric: 0.01})
    (gate,) = check_gates(config, {"test": {metric: value}}, default_registry())
    assert gate.passed is passed
    assert gate.baseline == baseline and gate.max_drop == 0.01


def test_a_gate_may_check_its_own_split() -> None:
    config = _config(gates={"accuracy": 0.9, "log_loss": {"bound": "<= 0.5", "split": "val"}})
    metrics = {"val": {"accuracy": 0.1, "log_loss": 0.4}, "test": {"accuracy": 0.95, "log_loss": 9}}
    gates = {g.metric: g for g in check_gates(config, metrics, default_registry())}
    assert gates["accuracy"].split == "test" and gates["accuracy"].passed
    assert gates["log_loss"].split == "val" and gates["log_loss"].passed


def test_the_plain_table_is_aligned() -> None:
    gates = [
        {
            "metric": "accuracy",
            "split": "test",
            "value": 0.8,
            "op": ">=",
            "bound": 0.9,
            "passed": False,
            "missed_by": 0.1,
        },
        {
            "metric": "log_loss",
            "split": "val",
            "value": 0.25,
            "op": "<=",
            "bound": 0.3,
            "baseline": 0.28,
            "max_drop": 0.02,
            "passed": True,
            "missed_by": None,
        },
    ]
    lines = plain([Gate.from_json(g) for g in gates]).splitlines()
    assert lines[0].split() == ["metric", "split", "value", "bound", "baseline", "result"]
    assert lines[1].index("test") == lines[2].index("val") == lines[0].index("split")
    assert "FAIL" in lines[1] and "pass" in lines[2] and "0.2800" in lines[2]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            ["evaluate.baseline=nowhere/summary.json", "evaluate.max_drop={accuracy: 0.01}"],
            ["evaluate.baseline:", "no such file: nowhere/summary.json"],
        ),
        (["evaluate.max_drop={accuracy: 0.01}"], ["set evaluate.baseline too"]),
        (["evaluate.max_drop={acuracy: 0.01}"], ["did you mean 'accuracy'?"]),
        (["evaluate.gates={accuracy: {bound: 0.9, split: train}}"], ["evaluate.gates.accuracy"]),
    ],
)
def test_bad_gate_settings_are_recipe_errors(overrides: list[str], expected: list[str]) -> None:
    done = cli("validate", str(RECIPES / "iris.yaml"), *overrides)
    assert done.returncode == ExitCode.BAD_RECIPE
    for text in expected:
        assert text in done.stderr
    assert "Traceback" not in done.stderr


def test_a_baseline_without_the_metric_is_refused(tmp_path: Path) -> None:
    _baseline(tmp_path, {"accuracy": 0.9})
    done = cli(
        "validate",
        str(RECIPES / "iris.yaml"),
        f"evaluate.baseline={tmp_path}",  # a run folder works as well as its summary.json
        "evaluate.max_drop={f1_macro: 0.01}",
    )
    assert done.returncode == ExitCode.BAD_RECIPE
    assert "has no test f1_macro" in done.stderr


@pytest.mark.slow
def test_a_run_worse_than_its_baseline_fails_with_a_table(tmp_path: Path) -> None:
    iris = ["train.epochs=3", "~export", "evaluate.plots=false", "~evaluate.gates"]
    iris.append("evaluate.metrics=[accuracy, log_loss]")
    first = cli("run", str(RECIPES / "iris.yaml"), "--out", str(tmp_path / "first"), *iris)
    assert first.returncode == 0, first.stderr
    got = summary(tmp_path / "first")["metrics"]["test"]
    relative = ["evaluate.max_drop={accuracy: 0.01, log_loss: 0.01}"]

    # The same recipe and seed give the same metrics; the baseline is made better than them.
    better = tmp_path / "better"
    better.mkdir()
    _baseline(better, {"accuracy": got["accuracy"] + 0.02, "log_loss": got["log_loss"] - 0.005})
    worse = cli(
        "run",
        str(RECIPES / "iris.yaml"),
        "--out",
        str(tmp_path / "worse"),
        *iris,
        f"evaluate.baseline={better}",
        *relative,
    )
    assert worse.returncode == ExitCode.GATE_FAILED, worse.stderr
    lines = worse.stderr.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["metric", "split"])
    assert lines[header].split() == ["metric", "split", "value", "bound", "baseline", "result"]
    accuracy_row, log_loss_row = lines[header + 1], lines[header + 2]
    assert accuracy_row.startswith("accuracy") and log_loss_row.startswith("log_loss")
    assert "FAIL" in accuracy_row and f"{got['accuracy'] + 0.02:.4f}" in accuracy_row
    assert "pass" in log_loss_row  # 0.005 worse than the baseline: within 0.01
    assert "Traceback" not in worse.stderr
    gates = summary(tmp_path / "worse")["gates"]
    assert [g["passed"] for g in gates] == [False, True]

    # Within max_drop of the baseline: the run passes.
    close = tmp_path / "close"
    close.mkdir()
    _baseline(close, {"accuracy": got["accuracy"] + 0.005, "log_loss": got["log_loss"] - 0.005})
    fine = cli(
        "run",
        str(RECIPES / "iris.yaml"),
        "--out",
        str(tmp_path / "fine"),
        *iris,
        f"evaluate.baseline={close / 'summary.json'}",
        *relative,
    )
    assert fine.returncode == 0, fine.stderr
    assert all(g["passed"] for g in summary(tmp_path / "fine")["gates"])


def test_a_gate_keeps_its_json_form_and_a_miss_raises_gate_failed() -> None:
    absolute = Gate.check("accuracy", "test", 0.8, ">=", 0.9)
    relative = Gate.check("log_loss", "val", 0.25, "<=", 0.3, baseline=0.28, max_drop=0.02)
    assert " ".join(absolute.as_json()) == "metric split value op bound passed missed_by"
    assert relative.as_json()["baseline"] == 0.28 and relative.passed
    for gate in (absolute, relative):
        assert Gate.from_json(gate.as_json()) == gate
    raise_if_failed([relative])  # all passed: nothing happens
    with pytest.raises(GateFailed, match="test accuracy = 0.8000 is not >= 0.9") as failed:
        raise_if_failed([absolute, relative])
    assert failed.value.gates == [absolute, relative]
