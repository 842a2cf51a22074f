"""explain works for every model type easytrain trains, and says when an explanation does not."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.conftest import RECIPES, cli
from tests.data.makers import mixed_table, topic_texts

QUICK = (
    "train.epochs=1",
    "train.tensorboard=false",
    "evaluate.plots=false",
    "evaluate.gates={}",
    "export=null",
)
CUSTOM = """
import math
from torch import nn


class Linear(nn.Module):
    def __init__(self, input_shape, num_outputs):
        super().__init__()
        self.linear = nn.Linear(math.prod(input_shape), num_outputs)

    def forward(self, x):
        return self.linear(x.flatten(1).float())
"""


def explained(tmp_path: Path, recipe: str, *overrides: str) -> dict:
    out = tmp_path / f"run{len(list(tmp_path.glob('run*')))}"
    ran = cli("run", recipe, "--out", str(out), *QUICK, *overrides, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    allow = ("--allow-code",) if "--allow-code" in overrides else ()
    done = cli("explain", str(out), "--n", "2", "--repeats", "1", *allow)
    assert done.returncode == 0, done.stderr
    return json.loads((out / "explain" / "summary.json").read_text())


@pytest.mark.slow
@pytest.mark.parametrize(
    "model, files",
    [
        ("{type: mlp, hidden: [8]}", "attributions.csv"),
        ("{type: cnn, layers: [{conv: {channels: 4}}, flatten]}", "images.png"),
    ],
)
def test_builtin_data(tmp_path, model, files):
    recipe = RECIPES / ("iris.yaml" if "mlp" in model else "digits.yaml")
    found = explained(tmp_path, str(recipe), f"model={model}")
    assert files in found["files"]


@pytest.mark.slow
def test_torchvision_model(tmp_path):
    from tests.explain.test_explain import corner_folder

    folder = corner_folder(tmp_path / "corner", per_class=16)
    recipe = tmp_path / "t.yaml"
    recipe.write_text(
        f"data: {{source: image_folder, path: {folder}, channels: 1, cache: false}}\n"
    )
    found = explained(tmp_path, str(recipe), "model={type: resnet18}")
    assert "images.png" in found["files"] and len(found["explained"]) == 2


@pytest.mark.slow
def test_tabular_embeddings_by_ablation(tmp_path):
    data = mixed_table(tmp_path / "mixed.csv")
    recipe = tmp_path / "t.yaml"
    recipe.write_text(
        f"data: {{source: table, path: {data}, target: label, categorical: index}}\n"
        "model: {type: tabular, hidden: [8]}\n"
    )
    found = explained(tmp_path, str(recipe))
    assert found["attribution_method"] == "feature_ablation"
    assert {r["column"] for r in found["importance"]} == {"age", "income", "city", "member"}


@pytest.mark.slow
@pytest.mark.parametrize(
    "model",
    [
        "{type: lstm, hidden: 8, embed_dim: 8}",
        "{type: transformer, embed_dim: 8, heads: 2, layers: 1, ff_dim: 8}",
    ],
)
def test_sequence_models(tmp_path, model):
    data = topic_texts(tmp_path / "topics.csv", rows=120)
    recipe = tmp_path / "t.yaml"
    recipe.write_text(f"data: {{source: text, path: {data}, target: topic, max_length: 24}}\n")
    found = explained(tmp_path, str(recipe), f"model={model}")
    assert found["attribution_method"] == "layer_integrated_gradients"


@pytest.mark.slow
def test_custom_model_and_one_without_embeddings(tmp_path, monkeypatch):
    (tmp_path / "my_models.py").write_text(CUSTOM)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("my_models", None)
    found = explained(
        tmp_path, str(RECIPES / "iris.yaml"), "model={type: 'my_models:Linear'}", "--allow-code"
    )
    assert found["attribution_method"] == "integrated_gradients"
    data = topic_texts(tmp_path / "topics.csv", rows=80)
    recipe = tmp_path / "t.yaml"
    recipe.write_text(f"data: {{source: text, path: {data}, target: topic, max_length: 16}}\n")
    found = explained(tmp_path, str(recipe), "model={type: 'my_models:Linear'}", "--allow-code")
    assert "token attributions do not apply" in found["notes"][0]
