"""easytrain.config.overrides.apply_overrides: KEY=VALUE and ~KEY on the loaded recipe data."""

from __future__ import annotations

from textwrap import dedent

import pytest

from easytrain.config.overrides import apply_overrides
from easytrain.config.yamlpos import load_text
from easytrain.errors import RecipeError

RECIPE = dedent(
    """\
    data: {name: digits}
    model:
      type: cnn
      layers:
        - conv: {channels: 4, kernel: 3}
        - conv: {channels: 16}
        - flatten
    train:
      epochs: 5
      optimizer: {name: adam, lr: 0.01}
      scheduler: {name: cosine}
    """
)


@pytest.fixture
def loaded():
    return load_text(RECIPE, "r.yaml")


def test_nested_set_creates_missing_mappings():
    data, positions = load_text("data: {name: iris}\n", "r.yaml")
    apply_overrides(data, positions, ["train.optimizer.lr=0.1"])
    assert data == {"data": {"name": "iris"}, "train": {"optimizer": {"lr": 0.1}}}
    assert positions[("train", "optimizer", "lr")] == "override train.optimizer.lr=0.1"


def test_set_replaces_a_scalar_and_keeps_siblings(loaded):
    data, positions = loaded
    apply_overrides(data, positions, ["train.epochs=3"])
    assert data["train"]["epochs"] == 3
    assert data["train"]["optimizer"] == {"name": "adam", "lr": 0.01}
    assert positions[("train", "optimizer", "lr")] == "r.yaml:10:27"


def test_list_index_set(loaded):
    data, positions = loaded
    apply_overrides(data, positions, ["model.layers.0.conv.channels=8"])
    assert data["model"]["layers"][0] == {"conv": {"channels": 8, "kernel": 3}}
    assert data["model"]["layers"][1] == {"conv": {"channels": 16}}
    label = "override model.layers.0.conv.channels=8"
    assert positions[("model", "layers", 0, "conv", "channels")] == label
    assert positions[("model", "layers", 0, "conv", "kernel")] == "r.yaml:5:27"


def test_delete_a_key(loaded):
    data, positions = loaded
    apply_overrides(data, positions, ["~train.scheduler"])
    assert "scheduler" not in data["train"]
    assert data["train"]["epochs"] == 5


def test_delete_a_list_item(loaded):
    data, positions = loaded
    apply_overrides(data, positions, ["~model.layers.1"])
    assert data["model"]["layers"] == [{"conv": {"channels": 4, "kernel": 3}}, "flatten"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("[128,64]", [128, 64]),
        ("{name: sgd}", {"name": "sgd"}),
        ("null", None),
        ("", None),
        ("3", 3),
        ("'3'", "3"),
        ("1e-3", "1e-3"),  # YAML 1.1: a float needs a dot; pydantic still accepts the text
        ("0.5", 0.5),
        ("true", True),
        ("a=b", "a=b"),  # only the first '=' separates key and value
    ],
)
def test_values_are_yaml(loaded, value, expected):
    data, positions = loaded
    apply_overrides(data, positions, [f"train.extra={value}"])
    assert data["train"]["extra"] == expected
    assert type(data["train"]["extra"]) is type(expected)


def test_replacing_a_mapping_drops_its_old_positions(loaded):
    data, positions = loaded
    apply_overrides(data, positions, ["train.optimizer={name: sgd}"])
    assert data["train"]["optimizer"] == {"name": "sgd"}
    label = "override train.optimizer={name: sgd}"
    assert ("train", "optimizer", "lr") not in positions
    assert positions.nearest(("train", "optimizer", "name")) == label
    assert positions.nearest(("train", "optimizer", "lr")) == label
    assert positions[("train", "epochs")] == "r.yaml:9:3"


def test_later_override_wins(loaded):
    data, positions = loaded
    apply_overrides(data, positions, ["train.epochs=1", "train.epochs=2"])
    assert data["train"]["epochs"] == 2
    assert positions[("train", "epochs")] == "override train.epochs=2"


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("train.epochs", "KEY=VALUE"),
        ("..=3", "is not a dotted key"),
        ("=3", "is not a dotted key"),
        ("~train.nosuch", "nothing to delete"),
        ("~nosuch.key", "nothing to delete"),
        ("model.layers.9.conv.channels=8", "not an index of this list"),
        ("model.layers.x=1", "not an index of this list"),
        ("model.hidden=[1,", "YAML syntax error"),
    ],
)
def test_bad_override_names_itself(loaded, item, message):
    data, positions = loaded
    with pytest.raises(RecipeError) as info:
        apply_overrides(data, positions, [item])
    (problem,) = info.value.problems
    assert problem.where.startswith(f"override {item}")
    assert message in problem.message


def test_all_bad_overrides_are_reported_together(loaded):
    data, positions = loaded
    with pytest.raises(RecipeError) as info:
        apply_overrides(data, positions, ["..=3", "train.epochs=4", "nokey", "~train.nosuch"])
    wheres = [problem.where for problem in info.value.problems]
    assert wheres == ["override ..=3", "override nokey", "override ~train.nosuch"]
    assert data["train"]["epochs"] == 4, "the good override in between still applied"


def test_positions_follow_list_items_after_a_deletion(loaded):
    data, positions = loaded
    apply_overrides(data, positions, ["~model.layers.0"])
    assert data["model"]["layers"][0] == {"conv": {"channels": 16}}
    assert positions.nearest(("model", "layers", 0, "conv", "channels")) == "r.yaml:6:14"
