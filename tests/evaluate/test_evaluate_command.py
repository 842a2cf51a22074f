"""`easytrain evaluate RUN_DIR`: re-evaluates a finished run from its recipe and best checkpoint."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from easytrain.errors import ExitCode
from tests.conftest import ROOT, cli, summary


def _evaluations(run: Path) -> list[Path]:
    return sorted((run / "evaluations").glob("*.json"))


def test_evaluate_reproduces_the_run_s_test_metrics(image_run: Path) -> None:
    before = _evaluations(image_run) if (image_run / "evaluations").exists() else []
    done = cli("evaluate", str(image_run), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    expected = summary(image_run)["metrics"]["test"]
    assert result["metrics"]["test"] == pytest.approx(expected, rel=1e-6)
    written = [p for p in _evaluations(image_run) if p not in before]
    assert len(written) == 1 and json.loads(written[0].read_text()) == result
    assert "accuracy" in done.stderr and "pass" in done.stderr  # metrics and the gate table


def test_evaluate_val_split_and_the_saved_threshold(binary_run: Path) -> None:
    done = cli("evaluate", str(binary_run), "--split", "val", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    run = summary(binary_run)
    assert result["threshold"]["value"] == run["threshold"]["value"]  # reused, not re-chosen
    assert result["metrics"]["val"] == pytest.approx(run["metrics"]["val"], rel=1e-6)


def test_evaluate_exits_3_with_the_table_when_a_gate_fails(binary_run: Path) -> None:
    recipe = binary_run / "recipe.yaml"
    saved = recipe.read_text()
    try:
        recipe.write_text(saved.replace("accuracy: 0.5", "accuracy: 0.9999"))
        done = cli("evaluate", str(binary_run))
    finally:
        recipe.write_text(saved)
    assert done.returncode == ExitCode.GATE_FAILED, done.stderr
    assert "FAIL" in done.stderr and "quality gate failed" in done.stderr
    assert "Traceback" not in done.stderr


def test_evaluate_on_other_data_of_the_same_shape(image_run: Path) -> None:
    """Another split of the data is new data to the model; inputs are put on the run's scale."""
    done = cli("evaluate", str(image_run), "--data", "split={val: 0.3, test: 0.3}", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["data_overrides"] == ["split={val: 0.3, test: 0.3}"]
    assert result["metrics"]["test"]["accuracy"] > 0.5


def test_evaluate_refuses_data_of_another_shape(binary_run: Path) -> None:
    done = cli("evaluate", str(binary_run), "--data", "name=wine")
    assert done.returncode != 0
    assert "shape" in done.stderr or "classes" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--split", "train"], "expected test or val"),
        (["--data", "nmae=iris"], "nmae"),
    ],
)
def test_evaluate_usage_errors(binary_run: Path, args: list[str], message: str) -> None:
    done = cli("evaluate", str(binary_run), *args)
    assert done.returncode == ExitCode.BAD_RECIPE and message in done.stderr


def test_evaluate_needs_a_finished_run(tmp_path: Path) -> None:
    done = cli("evaluate", str(tmp_path))
    assert done.returncode == ExitCode.BAD_RECIPE and "not a finished run" in done.stderr


def test_new_commands_answer_help_without_torch() -> None:
    probe = (
        "import sys\nfrom easytrain.cli import app\n"
        "for args in (['evaluate', '--help'], ['report', '--help']):\n"
        "    try:\n        app(args)\n    except SystemExit:\n        pass\n"
        "heavy = [m for m in ('torch', 'sklearn', 'matplotlib') if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert "HEAVY=\n" in done.stderr + "\n", done.stderr
