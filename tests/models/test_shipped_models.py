"""The shipped model recipes, run end to end on small data the tests make: the loss falls, and
exports reload with the outputs of the model they came from."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch

from easytrain.deploy.loaded import load_run
from tests.conftest import RECIPES, cli, summary
from tests.data.makers import digits_folder, mixed_table, topic_texts


def train_losses(out: Path) -> list[float]:
    return [float(row["train_loss"]) for row in csv.DictReader((out / "metrics.csv").open())]


def run(recipe: str, out: Path, *overrides: str) -> dict:
    done = cli(
        "run", str(RECIPES / recipe), "--out", str(out), "train.tensorboard=false", *overrides
    )
    assert done.returncode == 0, done.stderr
    return summary(out)


def assert_export_reloads_identically(out: Path) -> None:
    card = json.loads((out / "export" / "model.json").read_text())
    loaded = load_run(out)
    program = torch.export.load(out / "export" / "model.pt2").module()
    with torch.no_grad():
        assert torch.equal(program(loaded.sample), loaded.model(loaded.sample))
    assert card["checks"]["pt2"]["max_abs_diff"] <= 1e-6


@pytest.fixture(scope="module")
def digit_images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return digits_folder(tmp_path_factory.mktemp("images") / "train", size=16, limit=400)


@pytest.mark.slow
def test_resnet18_recipe_on_an_image_folder(digit_images: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    run(
        "resnet18-images.yaml",
        out,
        f"data.path={digit_images}",
        "data.channels=1",
        "data.image_size=[32, 32]",
        "~model.weights",
        "~preprocess.mean",
        "~preprocess.std",
        "preprocess.augment=[]",
        "train.precision=32",
        "train.epochs=3",
        "model.unfreeze_after=1",
        "~train.early_stopping",
    )
    losses = train_losses(out)
    assert losses[-1] < losses[0]
    assert_export_reloads_identically(out)


def test_digits_quickstart_exports_and_reloads_identically(tmp_path: Path) -> None:
    out = tmp_path / "run"
    run("digits.yaml", out, "train.epochs=2", "~evaluate.gates")
    assert_export_reloads_identically(out)


@pytest.mark.parametrize("recipe", ["text-lstm.yaml", "text-transformer.yaml"])
def test_text_recipes_learn(recipe: str, tmp_path: Path) -> None:
    data = topic_texts(tmp_path / "topics.csv", rows=300)
    out = tmp_path / "run"
    result = run(
        recipe,
        out,
        f"data.path={data}",
        "data.text=text",
        "data.target=topic",
        "data.min_freq=1",
        "data.max_length=24",
        "train.epochs=4",
    )
    losses = train_losses(out)
    assert losses[-1] < losses[0]
    assert result["metrics"]["test"]["accuracy"] > 0.6  # two topics: chance is 0.5


def test_tabular_embeddings_recipe_learns(tmp_path: Path) -> None:
    data = mixed_table(tmp_path / "mixed.csv", rows=600)
    out = tmp_path / "run"
    run(
        "table-embeddings.yaml",
        out,
        f"data.path={data}",
        "data.target=label",
        "data.features=[age, income, city, member]",
        "data.categorical_columns=[]",
        "train.epochs=15",
    )
    losses = train_losses(out)
    assert losses[-1] < losses[0]
    state = torch.load(out / "checkpoints" / "last.pt", weights_only=True)["model"]
    assert any(name.startswith("embeddings.") for name in state)
