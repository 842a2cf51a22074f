"""Each data source, run as a user runs it (the real CLI), on real data the tests write to disk."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from sklearn.datasets import load_diabetes
from typer.testing import CliRunner

from easytrain.cli import app
from easytrain.errors import ExitCode
from tests.conftest import RECIPES, ROOT, easytrain, summary
from tests.data.makers import digits_folder, mixed_table, mnist_files, topic_texts

DIGITS_RECIPE = """
name: digit-folder
data:
  source: image_folder
  path: {path}
  channels: 1
  image_size: 16
  split: {{val: 0.15, test: 0.15}}
model:
  type: cnn
  layers:
    - conv: {{channels: 16, kernel: 3, padding: same}}
    - pool: 2
    - conv: {{channels: 32, kernel: 3, padding: same}}
    - pool: 2
    - flatten
    - dense: {{units: 64}}
train: {{epochs: 10, batch_size: 64, optimizer: {{lr: 0.003}}, tensorboard: false}}
evaluate: {{gates: {{accuracy: 0.95}}}}
export: {{formats: [pt2]}}
"""


runner = CliRunner()


def cli(*args: str, env: dict[str, str] | None = None):
    """The same command in this process: no interpreter and torch start-up (seconds) per run."""
    result = runner.invoke(app, list(args), env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a crash, not a refusal
    assert "Traceback" not in result.output
    return result


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return {"EASYTRAIN_CACHE": str(tmp_path_factory.mktemp("cache"))}


@pytest.mark.slow
def test_digit_pngs_in_folders_reach_95_percent(tmp_path: Path, cache: dict[str, str]) -> None:
    folder = digits_folder(tmp_path / "digits", size=16)
    recipe = tmp_path / "digits.yaml"
    recipe.write_text(DIGITS_RECIPE.format(path=folder))
    done = easytrain("run", str(recipe), "--out", str(tmp_path / "run"), env=cache)
    assert done.returncode == 0, done.stderr
    result = summary(tmp_path / "run")
    assert result["metrics"]["test"]["accuracy"] >= 0.95
    card = json.loads((tmp_path / "run/export/model.json").read_text())
    assert card["input"]["shape"] == [1, 16, 16] and card["input"]["rescale"] is True
    assert len(card["input"]["normalize"]["mean"]) == 1  # per channel
    again = cli("run", str(recipe), "--dry-run", env=cache)
    assert again.exit_code == 0, again.output
    assert "image cache hit" in again.stderr


@pytest.mark.slow
def test_cats_vs_dogs_recipe_builds_its_model_on_150px_images(
    tmp_path: Path, cache: dict[str, str]
) -> None:
    rng = np.random.default_rng(0)
    for label in ("cats", "dogs"):
        (tmp_path / "train" / label).mkdir(parents=True)
        for index in range(5):
            pixels = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / "train" / label / f"{index}.jpg")
    done = cli(
        "run",
        str(RECIPES / "cats-vs-dogs.yaml"),
        f"data.path={tmp_path / 'train'}",
        "data.split={val: 0.2, test: 0.2, stratify: false}",
        "--dry-run",
        env=cache,
    )
    assert done.exit_code == 0, done.output
    assert "input (3, 150, 150) → 2 output(s)" in done.stderr
    assert "3,453,634" in done.stderr  # the Keras book's model: 3,453,121 + 513 for a second output


def test_validating_an_image_folder_recipe_imports_no_torch(tmp_path: Path) -> None:
    probe = (
        "import sys\nfrom easytrain.cli import app\n"
        f"try:\n    app(['validate', {str(RECIPES / 'cats-vs-dogs.yaml')!r}, 'data.path={tmp_path}'])\n"
        "except SystemExit as exit:\n    assert exit.code == 0, exit.code\n"
        "print([m for m in ('torch', 'torchvision', 'pandas') if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stderr


@pytest.mark.slow
def test_mixed_csv_with_empty_cells_trains(tmp_path: Path) -> None:
    data = mixed_table(tmp_path / "people.csv", rows=800)
    done = cli(
        "run",
        str(RECIPES / "table-classification.yaml"),
        "--out",
        str(tmp_path / "run"),
        f"data.path={data}",
        "data.target=label",
        "~data.features",
        "data.numeric_columns=[age, income]",
        "~data.categorical_columns",
        "train.epochs=25",
    )
    assert done.exit_code == 0, done.output
    result = summary(tmp_path / "run")
    assert result["metrics"]["test"]["accuracy"] >= 0.85
    table = json.loads((tmp_path / "run/export/model.json").read_text())["input"]["encoding"]
    assert table["table"]["categorical"]["city"]["categories"] == [
        "<missing>",
        "lyon",
        "nice",
        "paris",
    ]
    assert set(table["table"]["numeric"]) == {"age", "income", "member"}


@pytest.mark.slow
def test_regression_table_from_parquet(tmp_path: Path) -> None:
    diabetes = load_diabetes(as_frame=True).frame
    diabetes["sex"] = np.where(diabetes["sex"] > 0, "m", "f")  # a real categorical column
    path = tmp_path / "diabetes.parquet"
    diabetes.to_parquet(path)
    done = cli(
        "run",
        str(RECIPES / "table-regression.yaml"),
        "--out",
        str(tmp_path / "run"),
        f"data.path={path}",
        "data.target=target",
        "train.batch_size=32",
    )
    assert done.exit_code == 0, done.output
    test = summary(tmp_path / "run")["metrics"]["test"]
    assert test["r2"] > 0.1 and test["mse"] > 100  # better than the mean; in target units


@pytest.mark.slow
def test_text_csv_trains_well_above_chance(tmp_path: Path) -> None:
    data = topic_texts(tmp_path / "topics.csv", rows=500)
    done = cli(
        "run",
        str(RECIPES / "text-classification.yaml"),
        "--out",
        str(tmp_path / "run"),
        f"data.path={data}",
        "data.text=text",
        "data.target=topic",
        "data.min_freq=1",
        "data.max_length=32",
        "train.epochs=4",
    )
    assert done.exit_code == 0, done.output
    assert summary(tmp_path / "run")["metrics"]["test"]["accuracy"] >= 0.85  # chance: 0.5
    card = json.loads((tmp_path / "run/export/model.json").read_text())
    assert card["input"]["dtype"] == "int64"
    assert "goal" in card["input"]["encoding"]["text"]["vocab"]


@pytest.mark.slow
def test_mnist_recipe_on_local_files(tmp_path: Path) -> None:
    root = mnist_files(tmp_path / "data", train=800, test=200)
    done = cli(
        "run",
        str(RECIPES / "mnist.yaml"),
        "--out",
        str(tmp_path / "run"),
        f"data.root={root}",
        "data.download=false",
        "train.epochs=3",
        "~evaluate.gates",
    )
    assert done.exit_code == 0, done.output
    assert "train 720, val 80, test 200" in done.stderr
    assert summary(tmp_path / "run")["metrics"]["test"]["accuracy"] >= 0.85


def refused(tmp_path: Path, recipe: str, *overrides: str):
    path = tmp_path / "r.yaml"
    path.write_text(recipe)
    return cli("run", str(path), "--out", str(tmp_path / "run"), *overrides)


def test_bad_inputs_exit_with_a_message_naming_the_place(tmp_path: Path) -> None:
    folder = digits_folder(tmp_path / "digits", size=8, limit=30)
    broken = sorted(folder.rglob("*.png"))[3]
    broken.write_bytes(broken.read_bytes()[:40])
    result = refused(
        tmp_path,
        f"data: {{source: image_folder, path: {folder}, cache: false}}\ntrain: {{epochs: 1}}\n",
    )
    assert result.exit_code == ExitCode.RUN_FAILED and str(broken) in result.stderr

    texts = tmp_path / "texts.csv"
    pd.DataFrame({"text": ["fine", "", "ok"] * 4, "y": [0, 1, 1] * 4}).to_csv(texts, index=False)
    result = refused(
        tmp_path,
        f"data: {{source: text, path: {texts}, target: y}}\n",
        "--out",
        str(tmp_path / "r2"),
    )
    assert result.exit_code == ExitCode.RUN_FAILED
    assert f"{texts}:3: the text column 'text' is empty" in result.stderr

    result = refused(
        tmp_path,
        f"data: {{source: torchvision, name: FashionMNIST, root: {tmp_path / 'none'}}}\n",
        "--out",
        str(tmp_path / "r3"),
    )
    assert result.exit_code == ExitCode.BAD_RECIPE
    assert f"{tmp_path / 'none'}/FashionMNIST/raw/" in result.stderr

    result = refused(
        tmp_path,
        f"data: {{source: table, path: {texts}, target: text}}\nmodel: {{type: embedding_bag}}\n",
        "--out",
        str(tmp_path / "r4"),
    )
    assert result.exit_code == ExitCode.BAD_RECIPE and "reads token ids" in result.stderr


def test_augmented_runs_resume_exactly(tmp_path: Path, cache: dict[str, str]) -> None:
    """Augmentations draw from torch's generator, which checkpoints keep: a resumed run ends
    with the same weights as an uninterrupted one."""
    import torch

    folder = digits_folder(tmp_path / "digits", size=8, limit=240)
    recipe = tmp_path / "aug.yaml"
    recipe.write_text(
        f"data: {{source: image_folder, path: {folder}, channels: 1}}\n"
        "preprocess: {augment: [hflip, {random_crop: {padding: 1}}, {rotation: 10},"
        " {color_jitter: {brightness: 0.3}}]}\n"
        "model: {type: mlp, hidden: [32]}\ntrain: {epochs: 2, batch_size: 32, tensorboard: false}\n"
    )
    whole, halves = tmp_path / "whole", tmp_path / "halves"
    assert cli("run", str(recipe), "--out", str(whole), env=cache).exit_code == 0
    assert cli("run", str(recipe), "--out", str(halves), "train.epochs=1", env=cache).exit_code == 0
    resumed = cli("run", str(recipe), "--out", str(halves), "--resume", env=cache)
    assert resumed.exit_code == 0, resumed.output
    a = torch.load(whole / "checkpoints/last.pt", weights_only=True)["model"]
    b = torch.load(halves / "checkpoints/last.pt", weights_only=True)["model"]
    assert all(torch.equal(a[name], b[name]) for name in a)


def test_a_streamed_image_folder_trains_exactly_like_an_in_memory_one(
    tmp_path: Path, cache: dict[str, str]
) -> None:
    """Streaming changes where inputs are made (a DataLoader worker, a batch at a time), not
    what they are: same batches, same losses, same weights; and it resumes."""
    import torch

    folder = digits_folder(tmp_path / "digits", size=8, limit=300)
    recipe = tmp_path / "stream.yaml"
    recipe.write_text(
        f"data: {{source: image_folder, path: {folder}, channels: 1, workers: 1}}\n"
        "model: {type: mlp, hidden: [32]}\ntrain: {epochs: 2, batch_size: 32, tensorboard: false}\n"
    )
    memory, streamed = tmp_path / "memory", tmp_path / "streamed"
    assert (
        cli("run", str(recipe), "--out", str(memory), "data.stream=false", env=cache).exit_code == 0
    )
    first = cli(
        "run", str(recipe), "--out", str(streamed), "data.stream=true", "train.epochs=1", env=cache
    )
    assert first.exit_code == 0, first.output
    assert "streaming 300 images a batch at a time" in first.stderr
    resumed = cli("run", str(recipe), "--out", str(streamed), "--resume", env=cache)
    assert resumed.exit_code == 0, resumed.output
    logged = [
        (tmp_path / run / "metrics.csv").read_text().splitlines() for run in ("memory", "streamed")
    ]
    drop_seconds = [[",".join(line.split(",")[:-1]) for line in lines] for lines in logged]
    assert drop_seconds[0] == drop_seconds[1] and len(drop_seconds[0]) == 3
    a = torch.load(memory / "checkpoints/last.pt", weights_only=True)["model"]
    b = torch.load(streamed / "checkpoints/last.pt", weights_only=True)["model"]
    assert all(torch.equal(a[name], b[name]) for name in a)
    assert summary(memory)["metrics"] == summary(streamed)["metrics"]
