"""`easytrain init`: the recipe it writes from the data validates, runs unedited, and learns."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.conftest import ROOT, cli, summary
from tests.data.makers import digits_folder, topic_texts


def sklearn_csv(name: str, folder: Path) -> Path:
    from sklearn import datasets

    path = folder / f"{name}.csv"
    getattr(datasets, f"load_{name}")(as_frame=True).frame.to_csv(path, index=False)
    return path


def init_and_run(tmp_path: Path, data: Path, *overrides: str, extra: tuple[str, ...] = ()):
    recipe = tmp_path / "recipe.yaml"
    made = cli("init", str(data), "--out", str(recipe), *extra, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert cli("validate", str(recipe), cwd=tmp_path).returncode == 0
    out = tmp_path / "run"
    ran = cli("run", str(recipe), *overrides, "--out", str(out), cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    return yaml.safe_load(recipe.read_text()), recipe.read_text(), summary(out)


def test_init_imports_no_torch(tmp_path):
    data = sklearn_csv("iris", tmp_path)
    code = (
        "import sys\nfrom typer.testing import CliRunner\nfrom easytrain.cli import app\n"
        f"r = CliRunner().invoke(app, ['init', {str(data)!r}, '--out', {str(tmp_path / 'r.yaml')!r}])\n"
        "assert r.exit_code == 0, r.output\nprint(sorted(m for m in sys.modules if m.startswith('torch')))"
    )
    found = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == "[]"
    assert (tmp_path / "r.yaml").is_file()


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, metric, least, epochs",
    [
        ("iris", "accuracy", 0.9, 80),
        ("wine", "accuracy", 0.9, 60),
        ("breast_cancer", "accuracy", 0.9, 10),
        ("digits", "accuracy", 0.9, 8),
        ("diabetes", "r2", 0.0, 20),
    ],
)
def test_sklearn_tables_learn(tmp_path, name, metric, least, epochs):
    recipe, _, found = init_and_run(tmp_path, sklearn_csv(name, tmp_path), f"train.epochs={epochs}")
    assert recipe["data"]["target"] == "target"
    assert recipe["data"]["task"] == ("regression" if name == "diabetes" else "classification")
    assert found["metrics"]["test"][metric] >= least


def test_column_kinds_with_reasons(tmp_path):
    rng = np.random.default_rng(0)
    rows = 300
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{i:05d}" for i in range(rows)],
            "row": np.arange(rows),
            "country": ["fr"] * rows,
            "age": rng.integers(18, 80, rows),
            "member": rng.choice([True, False], rows),
            "plan": rng.choice(["basic", "pro", "team"], rows),
            "note": [
                " ".join(rng.choice(["good", "slow", "app", "price", "nice"], 8))
                for _ in range(rows)
            ],
            "churned": rng.choice(["yes", "no"], rows),
        }
    )
    path = tmp_path / "customers.csv"
    frame.to_csv(path, index=False)
    made = cli("init", str(path), "--target", "churned", "--out", "r.yaml", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    text = (tmp_path / "r.yaml").read_text()
    recipe = yaml.safe_load(text)
    assert recipe["data"]["features"] == ["age", "member", "plan", "note"][:3]
    assert "left out: customer_id (identifier" in text
    assert "left out: row (identifier" in text
    assert "left out: country (constant: the same value in every row" in text
    assert "left out: note (text: free text" in text
    assert "- member  # boolean" in text and "- plan  # categorical: 3 categories" in text
    assert recipe["evaluate"]["metrics"] == ["accuracy", "f1_macro", "roc_auc"]


def test_imbalanced_classes_get_weights_or_a_balanced_sampler(tmp_path):
    rng = np.random.default_rng(0)
    for share, key in ((0.2, "class_weights"), (0.05, "sampler")):
        rows = 400
        label = np.where(rng.random(rows) < share, "rare", "common")
        pd.DataFrame({"x": rng.normal(size=rows), "label": label}).to_csv(
            tmp_path / "t.csv", index=False
        )
        assert cli("init", "t.csv", "--out", "r.yaml", "--force", cwd=tmp_path).returncode == 0
        recipe = yaml.safe_load((tmp_path / "r.yaml").read_text())
        if key == "class_weights":
            assert recipe["train"]["class_weights"] == "auto" and "sampler" not in recipe["data"]
        else:
            assert (
                recipe["data"]["sampler"] == "balanced" and "class_weights" not in recipe["train"]
            )
        assert "balanced_accuracy" in recipe["evaluate"]["metrics"]


def test_refusals_say_what_to_do(tmp_path):
    pd.DataFrame({"a": [1, 2, 3], "b": [4, 5, 6]}).to_csv(tmp_path / "t.csv", index=False)
    found = cli("init", "t.csv", cwd=tmp_path)
    assert found.returncode == 2
    assert "pass --target COLUMN, one of: a, b" in found.stderr
    pd.DataFrame({"price": [1, 2, 3], "label": [0, 1, 0]}).to_csv(tmp_path / "u.csv", index=False)
    found = cli("init", "u.csv", "--target", "lable", cwd=tmp_path)
    assert found.returncode == 2 and "did you mean 'label'" in found.stderr
    assert not list(tmp_path.glob("*.yaml"))


def test_chat_data(tmp_path):
    """A chat source where this easytrain has one (with --pretrained), else a plain refusal."""
    from easytrain.init.chat import has_chat_source

    chat = tmp_path / "chat.jsonl"
    rows = [{"instruction": f"say {w}", "output": f"{w} {w}"} for w in ("hi", "yo", "hey") * 5]
    chat.write_text("".join(json.dumps(row) + "\n" for row in rows))
    found = cli("init", str(chat), cwd=tmp_path)
    assert found.returncode == 2
    if not has_chat_source():
        assert "no data source for language-model fine-tuning" in found.stderr
        return
    assert "pass --pretrained DIR" in found.stderr
    model = tmp_path / "lm"
    model.mkdir()
    (model / "config.json").write_text("{}")
    made = cli("init", str(chat), "--pretrained", str(model), "--out", "c.yaml", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    recipe = yaml.safe_load((tmp_path / "c.yaml").read_text())
    assert recipe["data"] | {"path": None} == {
        "source": "chat",
        "path": None,
        "prompt": "instruction",
        "completion": "output",
        "max_length": 128,
        "split": {"val": 0.1, "test": 0.1, "stratify": False},
    }
    assert recipe["model"] == {"type": "hf", "name": str(model), "trainable": "lora"}


@pytest.mark.slow
def test_image_folder(tmp_path):
    folder = digits_folder(tmp_path / "digits", size=16, limit=600)
    recipe, text, found = init_and_run(tmp_path, folder, "train.epochs=4")
    assert recipe["data"]["source"] == "image_folder"
    assert recipe["data"]["channels"] == 1 and recipe["data"]["image_size"] == [16, 16]
    assert recipe["model"]["type"] == "cnn"
    assert found["metrics"]["test"]["accuracy"] >= 0.8


@pytest.mark.slow
def test_text_table_and_run_at_once(tmp_path):
    data = topic_texts(tmp_path / "topics.csv", rows=400)
    recipe_path = tmp_path / "topics.yaml"
    made = cli(
        "init", str(data), "--target", "topic", "--out", str(recipe_path), "--run", cwd=tmp_path
    )
    assert made.returncode == 0, made.stderr
    recipe = yaml.safe_load(recipe_path.read_text())
    assert recipe["data"]["source"] == "text" and recipe["data"]["text"] == "text"
    assert recipe["model"]["type"] == "embedding_bag"
    run_dir = next((tmp_path / "runs" / "topics").iterdir())
    assert summary(run_dir)["metrics"]["test"]["accuracy"] >= 0.9


@pytest.mark.parametrize("suffix", [".tsv", ".jsonl", ".parquet"])
def test_other_table_formats(tmp_path, suffix):
    from sklearn import datasets

    frame = datasets.load_wine(as_frame=True).frame
    path = tmp_path / f"wine{suffix}"
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
        frame.to_parquet(path)
    elif suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_csv(path, sep="\t", index=False)
    made = cli("init", str(path), "--out", "r.yaml", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    recipe = yaml.safe_load((tmp_path / "r.yaml").read_text())
    assert recipe["data"]["path"] == str(path) and len(recipe["data"]["features"]) == 13
    assert cli("validate", "r.yaml", cwd=tmp_path).returncode == 0
