"""The model zoo, each model trained through a real `easytrain run` on real or test-made data."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch
import torchvision

from easytrain.config.backbones import torchvision_models
from easytrain.errors import ExitCode
from tests.conftest import RECIPES, cli, summary
from tests.data.makers import mixed_table, topic_texts

DIGITS = str(RECIPES / "digits.yaml")
QUIET = ("~evaluate.gates", "train.tensorboard=false", "~export")
SMALL = "data.split={val: 0.1, test: 0.8}"  # 180 training images: enough to see weights move


def run(out: Path, recipe: str, *overrides: str, quiet: tuple[str, ...] = QUIET) -> dict:
    done = cli("run", recipe, "--out", str(out), *quiet, *overrides)
    assert done.returncode == 0, done.stderr
    return summary(out)


def weights(out: Path, name: str = "last.pt") -> dict[str, torch.Tensor]:
    return torch.load(out / "checkpoints" / name, weights_only=True)["model"]


def test_torchvision_names_are_torchvisions_own() -> None:
    assert set(torchvision_models()) == set(
        torchvision.models.list_models(module=torchvision.models)
    )


@pytest.mark.slow
def test_resnet18_adapts_to_grayscale_and_sizes_its_head_from_the_data(tmp_path: Path) -> None:
    result = run(
        tmp_path / "run",
        DIGITS,
        "model={type: resnet18}",
        "train.epochs=2",
        "data.split={val: 0.1, test: 0.3}",
    )
    state = weights(tmp_path / "run")
    assert state["net.conv1.weight"].shape[1] == 1  # digits are grayscale
    assert state["net.fc.weight"].shape[0] == 10
    assert result["metrics"]["test"]["accuracy"] > 0.5  # ten classes: chance is 0.1
    text = (tmp_path / "run" / "model.txt").read_text()
    assert "net.layer4" in text and "(10,)" in text and "parameters: 11," in text


def test_a_frozen_backbone_trains_only_its_head_until_unfrozen(tmp_path: Path) -> None:
    model = "model={type: mobilenet_v3_small, freeze: backbone, unfreeze_after: 2}"
    run(tmp_path / "a", DIGITS, model, SMALL, "train.epochs=1")
    run(tmp_path / "b", DIGITS, model, SMALL, "train.epochs=3")
    initial = run_initial(tmp_path)
    frozen, thawed = weights(tmp_path / "a"), weights(tmp_path / "b")
    body = "net.features.1.block.0.0.weight"
    head = [name for name in frozen if name.endswith("weight")][-1]
    assert torch.equal(frozen[body], initial[body])  # untouched while frozen
    assert not torch.equal(frozen[head], initial[head])  # the head learned
    assert not torch.equal(thawed[body], initial[body])  # trained after unfreeze_after


def run_initial(tmp_path: Path) -> dict[str, torch.Tensor]:
    """The weights before any step: a zero-learning-rate run from the same seed."""
    run(
        tmp_path / "initial",
        DIGITS,
        "model={type: mobilenet_v3_small}",
        SMALL,
        "train.epochs=1",
        "train.optimizer.lr=1.0e-30",
        "train.optimizer.name=sgd",
        "train.optimizer.momentum=0",
    )
    return weights(tmp_path / "initial")


def test_weights_from_a_local_file_are_loaded(tmp_path: Path) -> None:
    torch.manual_seed(123)
    source = torchvision.models.get_model("resnet18", weights=None)
    path = tmp_path / "resnet18.pth"
    torch.save(source.state_dict(), path)
    run(
        tmp_path / "run",
        DIGITS,
        f"model={{type: resnet18, weights: {path}, freeze: backbone}}",
        SMALL,
        "train.epochs=1",
    )
    loaded = weights(tmp_path / "run")
    assert torch.equal(
        loaded["net.layer3.0.conv1.weight"], source.state_dict()["layer3.0.conv1.weight"]
    )


def test_named_weights_offline_say_where_to_put_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))  # an empty cache
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    done = cli(
        "run",
        DIGITS,
        "--out",
        str(tmp_path / "run"),
        *QUIET,
        "model={type: resnet18, weights: IMAGENET1K_V1}",
    )
    assert done.returncode == ExitCode.BAD_RECIPE
    assert "model.weights" in done.stderr and str(tmp_path / "torch-home") in done.stderr
    bad = cli(
        "run",
        DIGITS,
        "--out",
        str(tmp_path / "bad"),
        *QUIET,
        "model={type: resnet18, weights: NOPE}",
    )
    assert bad.returncode == ExitCode.BAD_RECIPE and "IMAGENET1K_V1" in bad.stderr


def test_new_cnn_layers_train_and_shape_errors_name_the_layer(tmp_path: Path) -> None:
    layers = (
        "model.layers=[{conv: {channels: 16, padding: same}}, {separable_conv: {channels: 32, padding: same}},"
        " depthwise_conv, {residual: {channels: 32, stride: 2}}, {global_pool: avg}, {dense: {units: 32}}]"
    )
    result = run(tmp_path / "run", DIGITS, layers, "train.epochs=6")
    assert result["metrics"]["test"]["accuracy"] > 0.8
    too_big = cli(
        "run",
        DIGITS,
        "--out",
        str(tmp_path / "bad"),
        *QUIET,
        "model.layers=[{conv: {channels: 8}}, {pool: 16}, flatten]",
    )
    assert too_big.returncode == ExitCode.BAD_RECIPE
    assert "model.layers.1 (pool)" in too_big.stderr and "(8, 6, 6)" in too_big.stderr


def test_mlp_with_layer_norm_and_skip_connections(tmp_path: Path) -> None:
    result = run(
        tmp_path / "run",
        str(RECIPES / "wine.yaml"),
        "model={type: mlp, hidden: [32, 32, 32], norm: layer, residual: true}",
    )
    text = (tmp_path / "run" / "model.txt").read_text()
    assert text.count("Residual(") == 2 and "LayerNorm" in text  # 32→32 twice; 13→32 cannot skip
    assert result["metrics"]["test"]["accuracy"] > 0.8


@pytest.mark.parametrize(
    "model",
    [
        "{type: lstm, bidirectional: true, pooling: max, hidden: 32}",
        "{type: gru, pooling: last, hidden: 32}",
        "{type: transformer, layers: 1, embed_dim: 32, ff_dim: 64}",
    ],
)
def test_text_models_learn_topics(tmp_path: Path, model: str) -> None:
    data = topic_texts(tmp_path / "topics.csv", rows=400)
    recipe = tmp_path / "text.yaml"
    recipe.write_text(
        f"name: text\ndata: {{source: text, path: {data}, text: text, target: topic, "
        f"max_length: 24, min_freq: 1}}\nmodel: {model}\n"
        "train: {epochs: 6, batch_size: 32, optimizer: {lr: 0.005}}\n"
    )
    result = run(tmp_path / "run", str(recipe), quiet=("train.tensorboard=false",))
    assert result["metrics"]["test"]["accuracy"] >= 0.8  # two balanced topics: chance is 0.5


def test_tabular_embeds_each_categorical_column(tmp_path: Path) -> None:
    data = mixed_table(tmp_path / "mixed.csv", rows=600)
    recipe = tmp_path / "table.yaml"
    recipe.write_text(
        f"name: tab\ndata: {{source: table, path: {data}, target: label, "
        "categorical: index}\nmodel: {type: tabular, hidden: [32]}\n"
        "train: {epochs: 30, batch_size: 32, optimizer: {lr: 0.003}}\n"
    )
    result = run(tmp_path / "run", str(recipe), quiet=("train.tensorboard=false",))
    state = weights(tmp_path / "run")
    embeddings = sorted(name for name in state if name.startswith("embeddings."))
    assert len(embeddings) == 1  # city (member, a boolean, is a number)
    assert state["embeddings.0.weight"].shape[0] == 5  # paris, lyon, nice, <missing>, <unknown>
    assert result["metrics"]["test"]["accuracy"] > 0.75
    onehot = cli("run", str(recipe), "--out", str(tmp_path / "bad"), "data.categorical=onehot")
    assert onehot.returncode == ExitCode.BAD_RECIPE and "categorical: index" in onehot.stderr


CUSTOM = """
import torch
from torch import nn


class TinyNet(nn.Module):
    def __init__(self, input_shape, num_outputs, width=16):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(int(torch.tensor(input_shape).prod()), width),
                                 nn.ReLU(), nn.Linear(width, num_outputs))

    def forward(self, x):
        return self.net(x)


class NotAModule:
    pass


class Broken(nn.Module):
    def __init__(self, depth):
        raise ValueError("depth must be even")
"""


def test_custom_models_need_allow_code_and_report_against_the_recipe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "my_models.py").write_text(CUSTOM)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("my_models", None)
    model = "model={type: my_models:TinyNet, args: {width: 8}}"
    refused = cli("run", DIGITS, "--out", str(tmp_path / "no"), *QUIET, model)
    assert refused.returncode == ExitCode.BAD_RECIPE and "--allow-code" in refused.stderr
    out = tmp_path / "yes"
    allowed = cli("run", DIGITS, "--out", str(out), "--allow-code", *QUIET, model, "train.epochs=2")
    assert allowed.returncode == 0, allowed.stderr
    assert weights(out)["net.1.weight"].shape == (8, 64)
    for bad, words in (
        ("my_models:NotAModule", "not a torch.nn.Module"),
        ("my_models:Broken", "depth must be even"),
        ("my_models:Nope", "cannot import"),
    ):
        done = cli(
            "run",
            DIGITS,
            "--out",
            str(tmp_path / bad.split(":")[1]),
            "--allow-code",
            *QUIET,
            f"model={{type: {bad}, args: {{depth: 3}}}}",
        )
        assert done.returncode == ExitCode.BAD_RECIPE and words in done.stderr, done.stderr


def test_model_summary_is_recorded(tmp_path: Path) -> None:
    run(tmp_path / "run", DIGITS, "train.epochs=1")
    text = (tmp_path / "run" / "model.txt").read_text()
    assert "output" in text and "(32, 8, 8)" in text and "input (1, 8, 8) → 10 output(s)" in text
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["status"] == "succeeded"
