"""easytrain.config.yamlpos.load_text: plain data plus a 1-based "file:line:col" for every path."""

from __future__ import annotations

import time
from textwrap import dedent

import pytest

from easytrain.config.yamlpos import load_text
from easytrain.errors import RecipeError

NESTED = dedent(
    """\
    data:
      name: digits
      split: {val: 0.1, test: 0.2}
    model:
      layers:
        - conv: {channels: 8}
        - flatten
    """
)


def _problems(text: str) -> list[str]:
    with pytest.raises(RecipeError) as info:
        load_text(text, "r.yaml")
    return [str(problem) for problem in info.value.problems]


def test_nested_keys_and_list_items_have_their_line_and_column():
    data, positions = load_text(NESTED, "r.yaml")
    assert data["model"]["layers"] == [{"conv": {"channels": 8}}, "flatten"]
    assert positions[("data",)] == "r.yaml:1:1"
    assert positions[("data", "name")] == "r.yaml:2:3"
    assert positions[("data", "split")] == "r.yaml:3:3"
    assert positions[("data", "split", "test")] == "r.yaml:3:21"
    assert positions[("model", "layers", 0)] == "r.yaml:6:7"
    assert positions[("model", "layers", 0, "conv", "channels")] == "r.yaml:6:14"
    assert positions[("model", "layers", 1)] == "r.yaml:7:7"


def test_nearest_falls_back_to_the_closest_ancestor():
    _, positions = load_text(NESTED, "r.yaml")
    assert positions.nearest(("data", "split", "stratify")) == "r.yaml:3:3"
    assert positions.nearest(("model", "layers", 0, "conv", "kernel")) == "r.yaml:6:7"
    assert positions.nearest(("nosuch",)) == "r.yaml:1:1"  # the document itself


def test_empty_text_is_none_without_positions():
    assert load_text("", "r.yaml") == (None, {})
    assert load_text("# only a comment\n", "r.yaml") == (None, {})


def test_merge_key_fills_in_and_explicit_keys_win():
    text = dedent(
        """\
        defaults: &opt {name: sgd, lr: 0.1, momentum: 0.5}
        train:
          optimizer:
            <<: *opt
            lr: 0.01
        """
    )
    data, positions = load_text(text, "r.yaml")
    assert data["train"]["optimizer"] == {"name": "sgd", "lr": 0.01, "momentum": 0.5}
    assert data["defaults"]["lr"] == 0.1, "the anchored mapping itself is unchanged"
    assert positions[("train", "optimizer", "lr")] == "r.yaml:5:5"


def test_merge_of_several_mappings_prefers_the_first():
    text = "a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\nc:\n  <<: [*a, *b]\n  z: 3\n"
    data, _ = load_text(text, "r.yaml")
    assert data["c"] == {"x": 1, "y": 1, "z": 3}


def test_explicit_key_before_merge_keeps_its_own_position():
    text = "base: &b {lr: 1}\nopt:\n  lr: 5\n  <<: *b\n"
    data, positions = load_text(text, "r.yaml")
    assert data["opt"] == {"lr": 5}
    assert positions[("opt", "lr")] == "r.yaml:3:3"


def test_anchors_and_aliases_expand_to_equal_independent_values():
    data, _ = load_text("a: &x {hidden: [64, 32]}\nb: *x\n", "r.yaml")
    assert data["b"] == {"hidden": [64, 32]}
    assert data["b"] is not data["a"], "an alias expands to its own copy"


def test_duplicate_keys_are_refused_naming_both_lines():
    problems = _problems("data: {name: digits}\ntrain:\n  epochs: 3\n  lr: 1\n  epochs: 4\n")
    assert problems == ["r.yaml:5:3 train.epochs: duplicate key 'epochs' (first at line 3)"]


def test_every_duplicate_key_is_reported():
    problems = _problems("a: 1\nb: {c: 1, c: 2}\na: 3\n")
    assert len(problems) == 2
    assert "r.yaml:2:11 b.c: duplicate key 'c' (first at line 2)" in problems
    assert "r.yaml:3:1 a: duplicate key 'a' (first at line 1)" in problems


def test_duplicate_number_keys_name_the_first_line():
    problems = _problems("gates:\n  1: 0.5\n  1: 0.6\n")
    assert problems == ["r.yaml:3:3 gates.1: duplicate key '1' (first at line 2)"]


def test_python_tags_are_refused_without_running_anything():
    problems = _problems('train:\n  epochs: !!python/object/apply:os.system ["echo hi"]\n')
    assert len(problems) == 1
    assert problems[0].startswith("r.yaml:2:11 train.epochs: YAML tag")
    assert "is not allowed" in problems[0]


def test_syntax_error_is_located():
    problems = _problems("data:\n  name: [digits\n")
    assert len(problems) == 1
    assert problems[0].startswith("r.yaml:3:1 YAML syntax error")


def test_alias_bomb_is_refused_quickly():
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    start = time.perf_counter()
    problems = _problems("\n".join(lines) + "\n")
    elapsed = time.perf_counter() - start
    assert "alias bomb" in problems[0]
    assert elapsed < 10.0, f"took {elapsed:.2f} s"  # a real expansion would take minutes


def test_deep_nesting_is_a_recipe_error_not_a_crash():
    with pytest.raises(RecipeError, match="nested too deeply"):
        load_text("x: " + "[" * 1500 + "]" * 1500 + "\n", "r.yaml")
