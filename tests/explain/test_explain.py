"""`easytrain explain`: on data whose answer is known, the explanation finds it."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image

from tests.conftest import ROOT, cli


def run(tmp_path: Path, recipe: dict, *extra: str) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    out = tmp_path / "run"
    found = cli("run", str(path), "--out", str(out), *extra, cwd=tmp_path)
    assert found.returncode == 0, found.stderr
    return out


def explain(run_dir: Path, *args: str) -> dict:
    found = cli("explain", str(run_dir), *args)
    assert found.returncode == 0, found.stderr
    return json.loads((run_dir / "explain" / "summary.json").read_text())


def two_of_ten(path: Path, rows: int = 800) -> Path:
    """Ten numeric columns; the class is set by x2 and x7 alone."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(rows, 10)), columns=[f"x{i}" for i in range(10)])
    frame["label"] = np.where(frame["x2"] + frame["x7"] > 0, "high", "low")
    frame.to_csv(path, index=False)
    return path


@pytest.mark.slow
def test_table_two_columns_decide(tmp_path):
    data = two_of_ten(tmp_path / "t.csv")
    run_dir = run(
        tmp_path,
        {
            "data": {"source": "table", "path": str(data), "target": "label"},
            "model": {"type": "mlp", "hidden": [32, 32]},
            "train": {"epochs": 15, "batch_size": 32},
            "evaluate": {"metrics": ["f1_macro", "accuracy"], "gates": {"accuracy": 0.5}},
        },
    )
    found = explain(run_dir, "--n", "6", "--repeats", "3")
    assert found["metric"] == "accuracy"  # the gated metric
    ranked = [row["column"] for row in found["importance"]]
    assert set(ranked[:2]) == {"x2", "x7"}
    assert found["importance"][1]["importance_mean"] > 5 * max(
        abs(r["importance_mean"]) for r in found["importance"][2:]
    )
    with (run_dir / "explain" / "attributions.csv").open() as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 12 and {r["group"] for r in rows} == {"least confident", "most confident"}
    share = np.mean(
        [
            (abs(float(r["x2"])) + abs(float(r["x7"])))
            / sum(abs(float(r[f"x{i}"])) for i in range(10))
            for r in rows
        ]
    )
    assert share > 0.7
    report = (run_dir / "report.html").read_text()
    assert "Why the model decides so" in report and "Permutation importance" in report
    for name in ("importance.png", "attributions.png", "importance.csv"):
        assert (run_dir / "explain" / name).stat().st_size > 100
    code = (  # the report shows explain/ without importing torch
        "import sys\nfrom pathlib import Path\nfrom easytrain.tracking.report import render\n"
        f"assert 'Why the model decides so' in render(Path({str(run_dir)!r}))\n"
        "print(any(m.startswith('torch') for m in sys.modules))"
    )
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert shown.stdout.strip() == "False", shown.stderr


def corner_folder(root: Path, per_class: int = 120) -> Path:
    """16×16 gray noise; the class 'square' has a bright 5×5 square in the top-left corner."""
    rng = np.random.default_rng(0)
    for label in ("square", "plain"):
        (root / label).mkdir(parents=True)
        for index in range(per_class):
            pixels = rng.integers(0, 90, (16, 16)).astype(np.uint8)
            if label == "square":
                top, left = rng.integers(0, 3, 2)
                pixels[top : top + 5, left : left + 5] = 250
            Image.fromarray(pixels).save(root / label / f"{index}.png")
    return root


@pytest.mark.slow
def test_image_attribution_falls_in_the_corner(tmp_path):
    folder = corner_folder(tmp_path / "corner")
    run_dir = run(
        tmp_path,
        {
            "data": {"source": "image_folder", "path": str(folder), "channels": 1, "cache": False},
            "model": {
                "type": "cnn",
                "layers": [
                    {"conv": {"channels": 8, "padding": "same"}},
                    {"pool": 2},
                    "flatten",
                    {"dense": {"units": 16}},
                ],
            },
            "train": {"epochs": 4, "batch_size": 32},
        },
    )
    found = explain(run_dir, "--n", "8")
    maps = np.load(run_dir / "explain" / "image_maps.npy")
    assert maps.shape == (8, 16, 16)
    corner = maps[:, :8, :8].sum(axis=(1, 2)) / maps.sum(axis=(1, 2))
    square = np.array([e["true"] == "square" for e in found["explained"]])
    assert square.any() and (~square).any()
    # a quarter of the area holds over half the attribution where the square is, and more than
    # its share where it is missing (its absence is the evidence)
    assert corner[square].mean() > 0.5 and corner[~square].mean() > 0.25  # 0.65, 0.33 measured
    assert (run_dir / "explain" / "images.png").stat().st_size > 1000
    assert "images (" in found["notes"][0]


WORDS = [
    "the",
    "movie",
    "was",
    "plot",
    "actor",
    "scene",
    "long",
    "film",
    "music",
    "story",
    "camera",
    "seen",
    "ending",
    "cast",
    "night",
    "city",
]


def keyword_texts(path: Path, rows: int = 400) -> Path:
    """Filler sentences; the class is 'yes' exactly when the text holds the word 'excellent'."""
    rng = np.random.default_rng(0)
    texts, labels = [], []
    for index in range(rows):
        words = list(rng.choice(WORDS, rng.integers(6, 12)))
        if index % 2:
            words.insert(int(rng.integers(0, len(words))), "excellent")
        texts.append(" ".join(words))
        labels.append("yes" if index % 2 else "no")
    pd.DataFrame({"text": texts, "label": labels}).to_csv(path, index=False)
    return path


@pytest.mark.slow
@pytest.mark.parametrize(
    "model",
    [
        {"type": "embedding_bag", "embed_dim": 16, "hidden": [16]},
        {"type": "gru", "embed_dim": 16, "hidden": 16},
    ],
)
def test_keyword_carries_the_largest_attribution(tmp_path, model):
    data = keyword_texts(tmp_path / "texts.csv")
    run_dir = run(
        tmp_path,
        {
            "data": {"source": "text", "path": str(data), "target": "label", "max_length": 16},
            "model": model,
            "train": {"epochs": 12, "batch_size": 32, "optimizer": {"lr": 0.01}},
        },
    )
    explain(run_dir, "--n", "8")
    texts = json.loads((run_dir / "explain" / "tokens.json").read_text())["texts"]
    with_keyword = [t for t in texts if "excellent" in t["tokens"]]
    assert with_keyword
    for text in with_keyword:
        strongest = int(np.argmax(np.abs(text["attributions"])))
        assert text["tokens"][strongest] == "excellent", text
    page = (run_dir / "explain" / "tokens.html").read_text()
    assert "<span title=" in page and "excellent" in page


def test_refuses_a_folder_that_is_no_run(tmp_path):
    found = cli("explain", str(tmp_path))
    assert found.returncode == 2 and "not a finished run" in found.stderr


@pytest.mark.slow
def test_pretrained_hf_model_from_init_to_explain(tmp_path):
    pytest.importorskip("transformers")
    from tests.hf_models import text_setup

    reviews, model = text_setup(tmp_path, count=120)
    recipe = tmp_path / "reviews.yaml"
    made = cli(
        "init",
        str(reviews),
        "--target",
        "verdict",
        "--pretrained",
        str(model),
        "--out",
        str(recipe),
        cwd=tmp_path,
    )
    assert made.returncode == 0, made.stderr
    written = yaml.safe_load(recipe.read_text())
    assert written["model"]["type"] == "hf" and written["model"]["name"] == str(model)
    assert "vocab_size" not in written["data"]
    out = tmp_path / "run"
    ran = cli("run", str(recipe), "train.epochs=1", "--out", str(out), cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    found = explain(out, "--n", "3")
    assert found["attribution_method"] == "layer_integrated_gradients"
    texts = json.loads((out / "explain" / "tokens.json").read_text())["texts"]
    assert len(texts) == 3 and texts[0]["tokens"][0] == "[CLS]"
    assert len(texts[0]["tokens"]) == len(texts[0]["attributions"])
