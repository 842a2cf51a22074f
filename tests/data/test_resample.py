"""`data.resample` rebalances the training split only, and helps the rare class."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.conftest import cli, summary


def rare_class_table(path, rows: int = 1500):
    """Two overlapping features; the class 'rare' is about 6 % of the rows."""
    rng = np.random.default_rng(0)
    rare = rng.random(rows) < 0.06
    x = rng.normal(size=(rows, 2)) + np.where(rare[:, None], 1.3, 0.0)
    frame = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "label": np.where(rare, "rare", "common")})
    frame.to_csv(path, index=False)
    return path


def run(tmp_path, data, resample: str | None, name: str):
    recipe = {
        "name": name,
        "data": {"source": "table", "path": str(data), "target": "label"},
        "model": {"type": "mlp", "hidden": [16]},
        "train": {"epochs": 6, "batch_size": 32, "tensorboard": False},
        "evaluate": {"plots": False},
    }
    if resample:
        recipe["data"]["resample"] = resample
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(recipe))
    found = cli("run", str(path), "--out", str(tmp_path / name), cwd=tmp_path)
    assert found.returncode == 0, found.stderr
    return summary(tmp_path / name)


@pytest.mark.slow
def test_smote_and_undersample_touch_only_the_training_split(tmp_path):
    data = rare_class_table(tmp_path / "rare.csv")
    plain = run(tmp_path, data, None, "plain")
    counts = plain["data"]["class_counts"]
    assert counts["train"]["rare"] / plain["data"]["sizes"]["train"] < 0.1
    recall = {"plain": plain["per_class"]["test"]["rare"]["recall"]}
    for method in ("smote", "undersample"):
        found = run(tmp_path, data, method, method)
        resample = found["data"]["resample"]
        assert resample["method"] == method and resample["before"] == counts["train"]
        after = resample["after"]
        assert after["rare"] == after["common"]  # balanced
        if method == "smote":
            assert after["common"] == counts["train"]["common"]  # new rare rows, none dropped
        else:
            assert after["rare"] == counts["train"]["rare"]  # common rows dropped
        assert found["data"]["class_counts"]["train"] == after
        for split in ("val", "test"):  # never resampled
            assert found["data"]["class_counts"][split] == counts[split]
        recall[method] = found["per_class"]["test"]["rare"]["recall"]
    assert recall["smote"] > recall["plain"] and recall["undersample"] > recall["plain"], recall


def test_resample_is_for_classes(tmp_path):
    frame = pd.DataFrame({"a": np.arange(40.0), "y": np.arange(40.0) * 0.5})
    frame.to_csv(tmp_path / "r.csv", index=False)
    recipe = {
        "data": {"source": "table", "path": "r.csv", "target": "y", "resample": "smote"},
        "train": {"epochs": 1},
    }
    (tmp_path / "r.yaml").write_text(yaml.safe_dump(recipe))
    found = cli("run", "r.yaml", "--out", "out", cwd=tmp_path)
    assert found.returncode == 2 and "data.resample: smote balances classes" in found.stderr


@pytest.mark.slow
def test_resampled_run_resumes_exactly(tmp_path):
    import torch

    data = rare_class_table(tmp_path / "rare.csv", rows=600)
    recipe = {
        "name": "resume",
        "data": {"source": "table", "path": str(data), "target": "label", "resample": "smote"},
        "model": {"type": "mlp", "hidden": [16], "dropout": 0.2},
        "train": {"epochs": 4, "batch_size": 32, "tensorboard": False},
        "evaluate": {"plots": False},
    }
    (tmp_path / "r.yaml").write_text(yaml.safe_dump(recipe))
    assert cli("run", "r.yaml", "--out", "whole", cwd=tmp_path).returncode == 0
    assert cli("run", "r.yaml", "train.epochs=2", "--out", "part", cwd=tmp_path).returncode == 0
    resumed = cli("run", "r.yaml", "--out", "part", "--resume", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr

    def weights(name):
        return torch.load(tmp_path / name / "checkpoints" / "last.pt", weights_only=True)["model"]

    whole, part = weights("whole"), weights("part")
    assert all(torch.equal(whole[k], part[k]) for k in whole)
