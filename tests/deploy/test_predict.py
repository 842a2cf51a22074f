"""`easytrain predict` on raw inputs gives the evaluate stage's answers, in every format."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from easytrain.deploy.loaded import load_run
from easytrain.deploy.predict import sources
from easytrain.deploy.predictor import Predictor
from easytrain.errors import ExitCode
from easytrain.metrics.scoring import predictions
from tests.conftest import cli
from tests.deploy.conftest import FAMILIES, Family


def _predict(family: Family, out: Path, *args: str) -> list[dict]:
    done = cli("predict", str(family.run), *map(str, family.raw), "--out", str(out), *args)
    assert done.returncode == 0, done.stderr
    return json.loads(out.read_text())


@pytest.mark.parametrize("name", FAMILIES)
def test_predict_on_the_raw_test_split_gives_the_evaluate_stages_answers(
    name: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    family: Family = request.getfixturevalue(name)
    predictor = Predictor(load_run(family.run))
    # the raw files prepared by predict are, bit for bit, the tensors the evaluate stage scored
    (source,) = sources(predictor, family.raw, [])
    assert torch.equal(source.batch(0, len(source.names)), family.test_x)
    answers = _predict(family, tmp_path / "answers.json", "--batch-size", "50")
    classes = predictor.classes
    assert classes is not None and len(answers) == len(family.test_y)
    with torch.no_grad():
        out = load_run(family.run).model(family.test_x)
    expected = predictions("classification", out, family.test_y, predictor.threshold)
    assert [a["class"] for a in answers] == [classes[i] for i in expected.pred]
    probabilities = np.array([[a["probabilities"][c] for c in classes] for a in answers])
    assert np.abs(probabilities - expected.proba).max() < 1e-6
    truth = [classes[i] for i in family.test_y]
    accuracy = np.mean([a["class"] == t for a, t in zip(answers, truth, strict=True)])
    assert accuracy == pytest.approx(family.summary["metrics"]["test"]["accuracy"], abs=1e-12)
    onnx = _predict(family, tmp_path / "onnx.json", "--format", "onnx")
    for a, b in zip(onnx, answers, strict=True):
        assert a["input"] == b["input"]
        assert max(abs(a["probabilities"][c] - b["probabilities"][c]) for c in classes) < 1e-5
        top = sorted(b["probabilities"].values())[-2:]
        assert a["class"] == b["class"] or top[1] - top[0] < 1e-5  # only a near-tie may flip


def test_binary_answers_use_the_runs_threshold(table_family: Family, tmp_path: Path) -> None:
    threshold = table_family.summary["threshold"]["value"]
    answers = _predict(table_family, tmp_path / "answers.json")
    for answer in answers:  # "yes" exactly where its probability reaches the chosen threshold
        assert (answer["class"] == "yes") == (answer["probabilities"]["yes"] >= threshold)


def test_regression_answers_are_in_target_units(regression_family: Family, tmp_path: Path) -> None:
    answers = _predict(regression_family, tmp_path / "answers.json")
    values = np.array([a["value"] for a in answers])
    with torch.no_grad():
        expected = load_run(regression_family.run).model(regression_family.test_x).squeeze(-1)
    assert np.abs(values - expected.numpy()).max() < 1e-3
    mae = np.abs(values - regression_family.test_y.numpy()).mean()
    assert mae == pytest.approx(regression_family.summary["metrics"]["test"]["mae"], rel=1e-5)
    assert values.mean() > 50  # the target spans 25–346: standardized outputs would be near 0
    onnx = _predict(regression_family, tmp_path / "onnx.json", "--format", "onnx")
    assert np.abs(np.array([a["value"] for a in onnx]) - values).max() < 1e-3


def test_images_from_a_folder_and_answers_as_csv(image_family: Family, tmp_path: Path) -> None:
    folder = image_family.raw[0].parent.parent  # digits/<class>/<n>.png
    out = tmp_path / "answers.csv"
    done = cli("predict", str(image_family.run), str(folder), "--out", str(out))
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 500 and list(rows[0]) == ["input", "class", *[f"p_{d}" for d in range(10)]]
    assert rows[0]["input"].endswith("0/0000.png")
    assert abs(sum(float(rows[0][f"p_{d}"]) for d in range(10)) - 1) < 1e-5


def test_texts_from_the_command_line_and_a_text_file(text_family: Family, tmp_path: Path) -> None:
    texts = text_family.texts or []
    lines = tmp_path / "texts.txt"
    lines.write_text("\n".join(texts[:3]) + "\n\n")  # a blank line is not a text
    done = cli("predict", str(text_family.run), str(lines), "--text", texts[0])
    assert done.returncode == 0, done.stderr
    answers = [json.loads(line) for line in done.stdout.splitlines()]  # JSON lines on stdout
    assert [a["input"] for a in answers] == ["--text 1", *[f"{lines}:{i}" for i in (1, 2, 3)]]
    assert answers[0]["probabilities"] == answers[1]["probabilities"]
    empty = cli("predict", str(text_family.run), "--text", "  ")
    assert empty.returncode == ExitCode.BAD_RECIPE and "--text 1: the text is empty" in empty.stderr


def test_inputs_that_do_not_fit_the_run_are_refused_with_the_reason(
    table_family: Family, image_family: Family, tmp_path: Path
) -> None:
    rows = tmp_path / "rows.csv"
    rows.write_text("age,income\n41,30000\n")
    cases = [
        ((table_family, str(rows)), "no column(s) member, city"),
        ((table_family, str(tmp_path / "nope.csv")), "no such file or folder"),
        ((table_family, str(rows), "--text", "hello"), "--text: this run's model reads table"),
        ((table_family, str(rows), "--format", "onxx"), "--format: expected one of checkpoint"),
        ((image_family, str(rows)), "this run's model reads images"),
        ((table_family, str(rows), "--out", str(tmp_path / "a.txt")), "give a .csv, .json"),
    ]
    for (family, *args), words in cases:
        done = cli("predict", str(family.run), *args)
        assert done.returncode == ExitCode.BAD_RECIPE, (args, done.stderr)
        assert words in done.stderr and "Traceback" not in done.stderr
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG not really")
    done = cli("predict", str(image_family.run), str(broken))
    assert (
        done.returncode == ExitCode.BAD_RECIPE
        and "broken.png: cannot read the image" in done.stderr
    )


def test_an_export_that_is_not_there_says_how_to_make_it(
    regression_family: Family, tmp_path: Path
) -> None:
    done = cli(
        "predict",
        str(regression_family.run),
        str(regression_family.raw[0]),
        "--format",
        "torchscript",
    )
    assert done.returncode == ExitCode.BAD_RECIPE
    assert f"easytrain export {regression_family.run} --format torchscript" in done.stderr


def test_a_run_without_a_data_card_rebuilds_it_from_its_data(
    table_family: Family, tmp_path: Path
) -> None:
    import shutil

    run = tmp_path / "old-run"  # as runs were before preprocessing.json existed
    shutil.copytree(table_family.run, run)
    (run / "preprocessing.json").unlink()
    (run / "sample_inputs.pt").unlink()
    parquet = tmp_path / "rows.parquet"
    pd.read_csv(table_family.raw[0]).to_parquet(parquet)
    done = cli("predict", str(run), str(parquet), "--out", str(tmp_path / "old.json"))
    assert done.returncode == 0, done.stderr
    old = json.loads((tmp_path / "old.json").read_text())
    new = _predict(table_family, tmp_path / "new.json")
    assert [a["class"] for a in old] == [a["class"] for a in new]
    assert old[0]["input"] == f"{parquet} row 1"
