"""One short real run per recipe family, each exported in every format; shared by the deploy tests.

Each family also gives its test split twice: as raw inputs (files, rows, texts, what a user
would pass to `easytrain predict`) and as the tensors the evaluate stage scored, rebuilt from the
run's recipe (the same seed gives the same split).
"""

from __future__ import annotations

import io
import json
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
    from easytrain.data.split import split_indices
    from easytrain.pipeline.context import RunContext
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


def _shared(
    factory: pytest.TempPathFactory, name: str, build: Callable[[Path], tuple[Path, list[Path]]]
) -> Family:
    """The family `build(folder)` trains, once per test session even across xdist workers.

    Workers share the parent of their temporary folders; a file lock lets the first one train
    while the others wait, then read what it left (the run and its raw test files).
    """
    from filelock import FileLock

    base = factory.getbasetemp()
    root = base.parent if base.name.startswith("popen-gw") else base
    folder = root / f"deploy-{name}"
    record = folder / "family.json"
    with FileLock(str(root / f"deploy-{name}.lock")):
        if not record.exists():
            folder.mkdir(exist_ok=True)
            run, raw = build(folder)
            record.write_text(json.dumps({"run": str(run), "raw": [str(p) for p in raw]}))
    saved = json.loads(record.read_text())
    run = Path(saved["run"])
    _, _, x, y = test_split(run)
    return Family(name, run, x, y, [Path(p) for p in saved["raw"]])


def _test_rows(run: Path, source: Path, out: Path) -> list[Path]:
    """The test rows of a table or text file, written to a CSV of their own (target included)."""
    raw, test = _raw_test(run)
    rows = [int(raw.where(int(i)).rsplit(":", 1)[1]) - 2 for i in test]  # "file.csv:LINE"
    pd.read_csv(source).iloc[rows].to_csv(out, index=False)
    return [out]


def _raw_test(run: Path) -> tuple[Any, Any]:
    raw, test, _, _ = test_split(run)
    return raw, test


@pytest.fixture(scope="session")
def image_family(tmp_path_factory: pytest.TempPathFactory) -> Family:
    """Digit PNGs (16×16, resized to 12×12 by the run) and a small CNN."""

    def build(root: Path) -> tuple[Path, list[Path]]:
        folder = digits_folder(root / "digits", size=16, limit=500)
        recipe = root / "images.yaml"
        recipe.write_text(
            f"name: images\ndata: {{source: image_folder, path: {folder}, channels: 1, "
            "image_size: 12, cache: false, split: {val: 0.2, test: 0.3}}\n"
            "model: {type: cnn, layers: [{conv: {channels: 8, padding: same}}, {pool: 2}, "
            "flatten, {dense: {units: 32}}]}\n"
            "train: {epochs: 3, batch_size: 32, optimizer: {lr: 0.003}}\n"
        )
        run = train(root / "run", recipe)
        raw, test = _raw_test(run)
        return run, [Path(raw.where(int(i))) for i in test]

    return _shared(tmp_path_factory, "images", build)


@pytest.fixture(scope="session")
def resnet_family(tmp_path_factory: pytest.TempPathFactory) -> Family:
    """resnet18 on scikit-learn's 8×8 digits (numbers, not files), one epoch."""

    def build(root: Path) -> tuple[Path, list[Path]]:
        run = train(
            root / "run",
            Path(__file__).parents[2] / "recipes" / "digits.yaml",
            "model={type: resnet18}",
            "train.epochs=1",
            "train.batch_size=16",  # a dozen steps: enough for the answers to differ
            # plain SGD: no optimizer state, so last.pt is 45 MB, not Adam's 134 MB
            "train.optimizer={name: sgd, lr: 0.05, momentum: 0.0}",
            "~train.early_stopping",
            "data.split={val: 0.1, test: 0.8}",
        )
        raw, test = _raw_test(run)
        path = root / "test-digits.csv"
        pixels = raw.x[test].reshape(len(test), -1)
        pd.DataFrame(pixels, columns=[f"pixel{i}" for i in range(64)]).to_csv(path, index=False)
        return run, [path]

    return _shared(tmp_path_factory, "resnet18", build)


@pytest.fixture(scope="session")
def table_family(tmp_path_factory: pytest.TempPathFactory) -> Family:
    """Numeric, categorical and boolean columns with empty cells; two classes, a tuned threshold."""

    def build(root: Path) -> tuple[Path, list[Path]]:
        data = mixed_table(root / "mixed.csv", rows=600)
        recipe = root / "table.yaml"
        recipe.write_text(
            f"name: table\ndata: {{source: table, path: {data}, target: label}}\n"
            "model: {type: mlp, hidden: [16]}\n"
            "train: {epochs: 5, batch_size: 32, optimizer: {lr: 0.01}}\n"
            "evaluate: {threshold: {optimize: f1}}\n"
        )
        run = train(root / "run", recipe)
        return run, _test_rows(run, data, root / "test-rows.csv")

    return _shared(tmp_path_factory, "table", build)


@pytest.fixture(scope="session")
def text_family(tmp_path_factory: pytest.TempPathFactory) -> Family:
    def build(root: Path) -> tuple[Path, list[Path]]:
        data = topic_texts(root / "topics.csv", rows=400)
        recipe = root / "text.yaml"
        recipe.write_text(
            f"name: text\ndata: {{source: text, path: {data}, text: text, target: topic, "
            "max_length: 24, min_freq: 1}\n"
            "model: {type: embedding_bag, embed_dim: 16, hidden: [16]}\n"
            "train: {epochs: 4, batch_size: 32, optimizer: {lr: 0.01}}\n"
        )
        run = train(root / "run", recipe)
        return run, _test_rows(run, data, root / "test-rows.csv")

    family = _shared(tmp_path_factory, "text", build)
    family.texts = pd.read_csv(family.raw[0])["text"].tolist()
    return family


@pytest.fixture(scope="session")
def regression_family(tmp_path_factory: pytest.TempPathFactory) -> Family:
    """scikit-learn's diabetes: a regression whose answers must come back in target units."""

    def build(root: Path) -> tuple[Path, list[Path]]:
        from sklearn.datasets import load_diabetes

        run = train(
            root / "run",
            Path(__file__).parents[2] / "recipes" / "diabetes.yaml",
            "train.epochs=3",
            "export={formats: [onnx, pt2]}",
        )
        _, test = _raw_test(run)
        bunch = load_diabetes()
        path = root / "test-patients.csv"
        frame = pd.DataFrame(bunch.data[test], columns=bunch.feature_names)
        frame.assign(target=bunch.target[test]).to_csv(path, index=False)
        return run, [path]

    return _shared(tmp_path_factory, "regression", build)


FAMILIES = ["image_family", "resnet_family", "table_family", "text_family"]
