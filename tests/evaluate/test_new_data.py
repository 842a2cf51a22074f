"""`easytrain evaluate RUN --data path=NEW`: a new table or text goes through the run's saved
preprocessing, as `predict` prepares it, and every row of it is scored. The preprocess stage
refitted fills, categories and the vocabulary on the new file and refused it ("encoded
differently"), or scored a re-carved share of it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, f1_score

from tests.conftest import cli
from tests.data.makers import mixed_table, topic_texts


def _train(tmp_path: Path, data: str, model: str = "{type: mlp, hidden: [16]}") -> Path:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        f"name: newdata\nseed: 0\ndata: {data}\nmodel: {model}\n"
        "train: {epochs: 3, tensorboard: false}\n"
        "evaluate: {metrics: [accuracy, f1_macro], plots: false}\n"
    )
    run = tmp_path / "run"
    done = cli("run", str(recipe), "--out", str(run))
    assert done.returncode == 0, done.stderr
    return run


def _compare(run: Path, new: Path, target: str, tmp_path: Path) -> None:
    done = cli("evaluate", str(run), "--data", f"path={new}", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    out = tmp_path / "predictions.json"
    assert cli("predict", str(run), str(new), "--out", str(out)).returncode == 0
    predicted = [row["class"] for row in json.loads(out.read_text())]
    truth = pd.read_csv(new)[target].astype(str).tolist()
    scored = result["metrics"]["test"]
    assert sum(row["support"] for row in result["per_class"]["test"].values()) == len(truth)
    assert scored["accuracy"] == pytest.approx(accuracy_score(truth, predicted), abs=1e-9)
    expected_f1 = f1_score(truth, predicted, average="macro")
    assert scored["f1_macro"] == pytest.approx(expected_f1, abs=1e-6)


def test_a_new_table_with_unseen_categories_and_empty_cells_is_scored_whole(
    tmp_path: Path,
) -> None:
    train = mixed_table(tmp_path / "train.csv", rows=300)
    run = _train(tmp_path, f"{{source: table, path: {train}, target: label}}")
    new = tmp_path / "new.csv"
    frame = pd.read_csv(mixed_table(tmp_path / "other.csv", rows=90, seed=7))
    frame.loc[::9, "city"] = "marseille"  # a category the run never saw
    frame.loc[::7, "income"] = np.nan  # empty cells: the run's fill value
    frame.to_csv(new, index=False)
    _compare(run, new, "label", tmp_path)


def test_a_new_text_file_with_unseen_words_is_scored_whole(tmp_path: Path) -> None:
    train = topic_texts(tmp_path / "train.csv", rows=200)
    data = f"{{source: text, path: {train}, target: topic}}"
    run = _train(tmp_path, data, "{type: embedding_bag, embed_dim: 16}")
    frame = pd.read_csv(topic_texts(tmp_path / "other.csv", rows=60, seed=3))
    frame["text"] = frame["text"] + " zyzzyva quokka"  # words outside the vocabulary
    new = tmp_path / "new.csv"
    frame.to_csv(new, index=False)
    _compare(run, new, "topic", tmp_path)
