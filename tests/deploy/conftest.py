"""One short real run per recipe family, each exported in every format; shared by the deploy tests.

Each family also gives its test split twice: as raw inputs (files, rows, texts, what a user
would pass to `easytrain predict`) and as the tensors the evaluate stage scored, rebuilt from the
run's recipe (the same seed gives the same split).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch

from tests.conftest import cli, summary
from tests.data.makers import digits_folder, mixed_table, topic_texts

ALL_FORMATS = "export={formats: [pt2, onnx, torchscript, state_dict]}"
QUICK = ("train.tensorboard=false", "evaluate.plots=false", "evaluate.gates={}")


@dataclass
class Family:
    name: str
    run: Path
    test_x: torch.Tensor  # the test split as the evaluate stage scored it
    test_y: torch.Tensor
    raw: list[Path] = None  # type: ignore[assignment]  # the test split as raw files
    texts: list[str] | None = None

    @property
    def summary(self) -> dict[str, Any]:
        return summary(self.run)


def train(out: Path, recipe: Path | str, *overrides: str) -> Path:
    done = cli("run", str(recipe), "--out", str(out), *QUICK, ALL_FORMATS, *overrides)
    assert done.returncode == 0, done.stderr
    return out


def test_split(run: Path) -> tuple[Any, Any, torch.Tensor, torch.Tensor]:
    """(raw data, its test indices, test inputs, test labels) rebuilt from the run's recipe."""
    from easytrain.config.load import load_recipe
    from easytrain.context import RunContext
    from easytrain.data.split import split_indices
    from easytrain.registry import default_registry
    from easytrain.stages.preprocess import PreprocessStage
    from easytrain.tracking.console import PlainReporter

    recipe = load_recipe(run / "recipe.yaml")
    registry = default_registry()
    raw = registry.get("data", recipe.data.source).load()(recipe.data)
    parts = split_indices(raw, recipe.data.split, recipe.seed)
    ctx = RunContext(recipe, run, torch.device("cpu"), registry, PlainReporter(io.StringIO()))
    PreprocessStage(recipe.preprocess).run(ctx)
    assert ctx.data is not None and ctx.data.test is not None
    return raw, parts["test"], ctx.data.test.x, ctx.data.test.y


def _family(
    name: str, run: Path, raw_files: Callable[[Any, Any, Path], list[Path]] | None = None
) -> Family:
    raw, test, x, y = test_split(run)
    family = Family(name, run, x, y)
    if raw_files is not None:
        family.raw = raw_files(raw, test, run.parent)
    return family


def _rows_file(source: Path) -> Callable[[Any, Any, Path], list[Path]]:
    """The test rows of a table or text file, written to a CSV of their own (target included)."""

    def write(raw: Any, test: Any, folder: Path) -> list[Path]:
        rows = [int(raw.where(int(i)).rsplit(":", 1)[1]) - 2 for i in test]  # "file.csv:LINE"
        path = folder / "test-rows.csv"
        pd.read_csv(source).iloc[rows].to_csv(path, index=False)
        return [path]

    return write


@pytest.fixture(scope="session")
def image_family(tmp_path_factory: pytest.TempPathFactory) -> Family:
    """Digit PNGs (16×16, resized to 12×12 by the run) and a small CNN."""
    root = tmp_path_factory.mktemp("images")
    folder = digits_folder(root / "digits", size=16, limit=500)
    recipe = root / "images.yaml"
    recipe.write_text(
        f"name: images\ndata: {{source: image_folder, path: {folder}, channels: 1, "
        "image_size: 12, cache: false, split: {val: 0.2, test: 0.3}}\n"
        "model: {type: cnn, layers: [{conv: {channels: 8, padding: same}}, {pool: 2}, flatten, "
        "{dense: {units: 32}}]}\n"
        "train: {epochs: 3, batch_size: 32, optimizer: {lr: 0.003}}\n"
    )
    run = train(root / "run", recipe)
    return _family("images", run, lambda raw, test, _: [Path(raw.where(int(i))) for i in test])


@pytest.fixture(scope="session")
def resnet_family(tmp_path_factory: pytest.TempPathFactory) -> Family:
    """resnet18 on scikit-learn's 8×8 digits (numbers, not files), one epoch."""
    root = tmp_path_factory.mktemp("resnet")
    run = train(
        root / "run",
        Path(__file__).parents[2] / "recipes" / "digits.yaml",
        "model={type: resnet18}",
        "train.epochs=1",
        "train.batch_size=16",  # a dozen steps: enough for the answers to differ between inputs
        # plain SGD: no optimizer state, so last.pt is 45 MB, not Adam's 134 MB (written twice)
        "train.optimizer={name: sgd, lr: 0.05, momentum: 0.0}",
        "~train.early_stopping",
        "data.split={val: 0.1, test: 0.8}",
    )

    def write(raw: Any, test: Any, folder: Path) -> list[Path]:
        path = folder / "test-digits.csv"
        pixels = raw.x[test].reshape(len(test), -1)
        pd.DataFrame(pixels, columns=[f"pixel{i}" for i in range(64)]).to_csv(path, index=False)
        return [path]

    return _family("resnet18", run, write)


@pytest.fixture(scope="session")
def table_family(tmp_path_factory: pytest.TempPathFactory) -> Family:
    """Numeric, categorical and boolean columns with empty cells; two classes, a tuned threshold."""
    root = tmp_path_factory.mktemp("table")
    data = mixed_table(root / "mixed.csv", rows=600)
    recipe = root / "table.yaml"
    recipe.write_text(
        f"name: table\ndata: {{source: table, path: {data}, target: label}}\n"
        "model: {type: mlp, hidden: [16]}\n"
        "train: {epochs: 5, batch_size: 32, optimizer: {lr: 0.01}}\n"
        "evaluate: {threshold: {optimize: f1}}\n"
    )
    return _family("table", train(root / "run", recipe), _rows_file(data))


@pytest.fixture(scope="session")
def text_family(tmp_path_factory: pytest.TempPathFactory) -> Family:
    root = tmp_path_factory.mktemp("text")
    data = topic_texts(root / "topics.csv", rows=400)
    recipe = root / "text.yaml"
    recipe.write_text(
        f"name: text\ndata: {{source: text, path: {data}, text: text, target: topic, "
        "max_length: 24, min_freq: 1}\n"
        "model: {type: embedding_bag, embed_dim: 16, hidden: [16]}\n"
        "train: {epochs: 4, batch_size: 32, optimizer: {lr: 0.01}}\n"
    )
    family = _family("text", train(root / "run", recipe), _rows_file(data))
    family.texts = pd.read_csv(family.raw[0])["text"].tolist()
    return family


@pytest.fixture(scope="session")
def regression_family(tmp_path_factory: pytest.TempPathFactory) -> Family:
    """scikit-learn's diabetes: a regression whose answers must come back in target units."""
    from sklearn.datasets import load_diabetes

    root = tmp_path_factory.mktemp("regression")
    run = train(
        root / "run",
        Path(__file__).parents[2] / "recipes" / "diabetes.yaml",
        "train.epochs=3",
        "export={formats: [onnx, pt2]}",
    )

    def write(raw: Any, test: Any, folder: Path) -> list[Path]:
        bunch = load_diabetes()
        path = folder / "test-patients.csv"
        frame = pd.DataFrame(bunch.data[test], columns=bunch.feature_names)
        frame.assign(target=bunch.target[test]).to_csv(path, index=False)
        return [path]

    return _family("regression", run, write)


FAMILIES = ["image_family", "resnet_family", "table_family", "text_family"]
