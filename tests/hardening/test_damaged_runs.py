"""Run folders from elsewhere, damaged: each command that reads one answers with one line that
names the file and what is wrong with it (exit 1), never a traceback; a folder it cannot write
is said before any work; a folder where a temporary file goes is stepped around."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from easytrain.errors import ExitCode
from tests.conftest import ROOT, cli
from tests.hardening import tally

RESUME = ("run", "RUN/recipe.yaml", "--out", "RUN", "--resume", "train.epochs=3")
EVALUATE, REPORT = ("evaluate", "RUN"), ("report", "RUN")
EXPORT = ("export", "RUN", "--format", "state_dict")


def _pt(relative: str, change: Callable[[Any], Any]) -> Callable[[Path], None]:
    def damage(run: Path) -> None:
        path = run / relative
        torch.save(change(torch.load(path, weights_only=True)), path)

    return damage


def _json(relative: str, change: Callable[[Any], Any]) -> Callable[[Path], None]:
    def damage(run: Path) -> None:
        path = run / relative
        path.write_text(json.dumps(change(json.loads(path.read_text()))))

    return damage


def _with(key: str, value: Any) -> Callable[[dict], dict]:
    return lambda saved: {**saved, key: value}


def _state(key: str, value: Any) -> Callable[[dict], dict]:
    return lambda saved: {**saved, "state": {**saved["state"], key: value}}


def _without(key: str) -> Callable[[dict], dict]:
    return lambda saved: {k: v for k, v in saved.items() if k != key}


def _shrunk(saved: dict) -> dict:
    return {**saved, "model": {k: torch.zeros(2) for k in saved["model"]}}


def _card_shape(shape: Any) -> Callable[[dict], dict]:
    return lambda card: {
        **card,
        "input_shape": shape,
        "preprocessing": {**card["preprocessing"], "input_shape": shape},
    }


LAST, BEST = "checkpoints/last.pt", "checkpoints/best.pt"
CASES: dict[str, tuple[Callable[[Path], None], tuple[str, ...], str, str]] = {
    # name: (damage, command, the file named, words of the reason)
    "last.pt epoch is text": (_pt(LAST, _state("epoch", "two")), RESUME, LAST, "state.epoch"),
    "last.pt history is text": (_pt(LAST, _state("history", "x")), RESUME, LAST, "state.history"),
    "last.pt history not rows": (_pt(LAST, _state("history", "[1]")), RESUME, LAST, "history"),
    "last.pt recipe not JSON": (_pt(LAST, _with("recipe", "{seed")), RESUME, LAST, "its recipe"),
    "last.pt without optimizer": (_pt(LAST, _without("optimizer")), RESUME, LAST, "no optimizer"),
    "last.pt without state": (_pt(LAST, _without("state")), RESUME, LAST, "no state"),
    "last.pt is a list": (_pt(LAST, lambda _: [1, 2]), RESUME, LAST, "not a mapping"),
    "last.pt weights of another size": (_pt(LAST, _shrunk), RESUME, LAST, "of another size"),
    "last.pt ranks damaged": (_pt(LAST, _with("ranks", [{}])), RESUME, LAST, "ranks"),
    "best.pt weights of another size": (_pt(BEST, _shrunk), EVALUATE, BEST, "of another size"),
    "best.pt without model": (_pt(BEST, _without("model")), EVALUATE, BEST, "no 'model' entry"),
    "best.pt is a list": (_pt(BEST, lambda _: [1]), EXPORT, BEST, "no 'model' entry"),
    "best.pt weights missing": (
        _pt(BEST, lambda s: {**s, "model": dict(list(s["model"].items())[:1])}),
        EVALUATE,
        BEST,
        "missing",
    ),
    "best.pt weights not tensors": (_pt(BEST, _with("model", {"a": 1})), EXPORT, BEST, "tensors"),
    "sample_inputs.pt of another shape": (
        _pt("sample_inputs.pt", lambda s: {"x": torch.zeros(3, 7)}),
        EXPORT,
        "sample_inputs.pt",
        "shape [7]",
    ),
    "sample_inputs.pt is a list": (
        _pt("sample_inputs.pt", lambda _: [1]),
        EXPORT,
        "sample_inputs.pt",
        "no tensor 'x'",
    ),
    "preprocessing.json of another shape": (
        _json("preprocessing.json", _card_shape([7])),
        EXPORT,
        "sample_inputs.pt",
        "[7]",
    ),
    "preprocessing.json absurd input_shape": (
        _json("preprocessing.json", _card_shape([10**6, 10**6])),
        EXPORT,
        "preprocessing.json",
        "numbers per example",
    ),
    "preprocessing.json negative input_shape": (
        _json("preprocessing.json", _card_shape([-3])),
        EXPORT,
        "preprocessing.json",
        "positive whole numbers",
    ),
    "preprocessing.json is a list": (
        _json("preprocessing.json", lambda _: [1]),
        EXPORT,
        "preprocessing.json",
        "not a mapping",
    ),
    "preprocessing.json classes a number": (
        _json("preprocessing.json", _with("classes", 5)),
        EXPORT,
        "preprocessing.json",
        "classes",
    ),
    "summary.json metrics a list": (
        _json("summary.json", _with("metrics", [1])),
        REPORT,
        "summary.json",
        "'metrics'",
    ),
    "summary.json metrics not numbers": (
        _json("summary.json", _with("metrics", {"test": {"accuracy": "high"}})),
        REPORT,
        "summary.json",
        "metrics.test",
    ),
    "summary.json is a list": (
        _json("summary.json", lambda _: [1]),
        REPORT,
        "summary.json",
        "not a mapping",
    ),
    "summary.json gate incomplete": (
        _json("summary.json", _with("gates", [{"metric": 1}])),
        REPORT,
        "summary.json",
        "a gate",
    ),
    "summary.json per_class a number": (
        _json("summary.json", _with("per_class", 7)),
        REPORT,
        "summary.json",
        "'per_class'",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_damaged_run_file_is_named_in_one_line(
    case: str, finished_run: Path, tmp_path: Path
) -> None:
    damage, command, named, reason = CASES[case]
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    damage(run)
    done = cli(*(part.replace("RUN", str(run)) for part in command))  # a crash raises here
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert done.returncode == ExitCode.RUN_FAILED, done.stderr
    assert errors == [errors[0]] and errors[0].startswith(f"error: {run / named}: "), done.stderr
    assert reason in errors[0], errors[0]
    tally.record(f"damaged run folder: a damaged {named}", f"exit {done.returncode}, named")


def test_a_folder_where_a_temporary_file_goes_is_stepped_around(
    finished_run: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    for blocked in (".report.html.tmp", "export/.model.onnx.tmp", "checkpoints/.x.tmp"):
        (run / blocked).mkdir(parents=True)
    assert cli("report", str(run)).returncode == 0
    assert (run / "report.html").is_file()
    done = cli("export", str(run), "--format", "onnx")
    assert done.returncode == 0, done.stderr
    resumed = cli("run", str(run / "recipe.yaml"), "--out", str(run), "--resume", "train.epochs=3")
    assert resumed.returncode == 0, resumed.stderr
    assert (run / "checkpoints" / ".x.tmp").is_dir()  # not ours: left alone
    tally.record(
        "damaged run folder: a folder where a temporary file goes", "exit 0, stepped around", 3
    )


READ_ONLY = """
set -e
mount --bind "$1" "$1"
mount -o remount,bind,ro "$1"
shift
exec "$@"
"""


def _read_only(run: Path, *command: str) -> subprocess.CompletedProcess[str]:
    """The command with `run` mounted read-only (a user and mount namespace: no root needed)."""
    return subprocess.run(
        [
            "unshare",
            "-rm",
            "sh",
            "-c",
            READ_ONLY,
            "sh",
            str(run),
            sys.executable,
            "-m",
            "easytrain",
            *command,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


@pytest.mark.slow
@pytest.mark.parametrize("command", [EVALUATE, REPORT, EXPORT, RESUME], ids=" ".join)
def test_a_read_only_run_folder_is_said_before_any_work(
    command: tuple[str, ...], finished_run: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    probe = _read_only(run, "--help")
    if probe.returncode != 0:
        pytest.skip(f"no read-only mounts here: {probe.stderr.strip()[:100]}")
    done = _read_only(run, *(part.replace("RUN", str(run)) for part in command))
    assert done.returncode == ExitCode.RUN_FAILED, done.stderr
    assert "Traceback" not in done.stderr
    tally.record("damaged run folder: checkpoints/last.pt of another format", "exit 2, refused")
    assert f"error: {run} is not writable (Read-only file system)" in done.stderr, done.stderr
    for work in ("test:", "export:", "epoch 3", "report →"):  # refused before working
        assert work not in done.stderr, done.stderr
    tally.record(
        "damaged run folder: mounted read-only (evaluate, report, export, --resume)",
        f"exit {done.returncode}, before any work",
    )


def test_a_checkpoint_of_another_format_is_refused_before_any_work(
    finished_run: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    _pt(LAST, _with("format", 2))(run)  # what the previous version wrote
    done = cli(*(part.replace("RUN", str(run)) for part in RESUME))
    assert done.returncode == ExitCode.BAD_RECIPE, done.stderr
    assert f"{run / LAST} was written by another version of easytrain" in done.stderr
    assert "Traceback" not in done.stderr
    tally.record("damaged run folder: checkpoints/last.pt of another format", "exit 2, refused")
