"""`trainable: layers` on the tiny offline models: only the chosen blocks (and the head) change,
--dry-run counts exactly their parameters, a resumed run ends bit-equal, a pattern that matches
nothing and an index past the blocks are refused naming the blocks, and the image and language
models select the same way."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from easytrain.config.hf import HFConfig
from easytrain.errors import ExitCode, RecipeError
from tests.conftest import cli
from tests.engine.test_resume import assert_same_weights
from tests.hf_models import chat_setup, text_setup
from tests.models.test_hf import best, pretrained, write_recipe

pytest.importorskip("transformers")
pytest.importorskip("peft")

LAST = ("trainable=layers", "layers=[-1]")  # the last of the tiny BERT's 2 blocks


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return text_setup(tmp_path_factory.mktemp("hf-layers"), count=96)


def recipe_for(folder: Path, setup: tuple[Path, Path], **keys: str) -> Path:
    csv, model = setup
    # a constant rate: a run of 1 epoch resumed to 2 steps exactly as a run of 2
    return write_recipe(folder, csv, model, trainable="layers", layers="[-1]", **keys)


def test_only_the_last_block_and_the_head_change(setup: tuple[Path, Path], tmp_path: Path) -> None:
    recipe = recipe_for(tmp_path, setup)
    done = cli("run", str(recipe), "--out", str(tmp_path / "run"), "train.epochs=2")
    assert done.returncode == 0, done.stderr
    before, after = pretrained(setup[1]), best(tmp_path / "run")
    changed = {k for k, v in before.items() if not torch.equal(after[f"model.bert.{k}"], v)}
    assert changed and all(k.startswith("encoder.layer.1.") for k in changed), changed
    head = [k for k in after if k.startswith("model.classifier.")]
    assert head and all(after[k].abs().sum() > 0 for k in head)


def test_dry_run_counts_the_chosen_blocks_and_the_head(
    setup: tuple[Path, Path], tmp_path: Path
) -> None:
    recipe = recipe_for(tmp_path, setup)
    done = cli("run", str(recipe), "--dry-run", "--json")
    assert done.returncode == 0, done.stderr
    block = sum(
        v.numel() for k, v in pretrained(setup[1]).items() if k.startswith("encoder.layer.1.")
    )
    assert json.loads(done.stdout)["trainable_parameters"] == block + 66  # head: 32 × 2 + 2
    patterns = cli("run", str(recipe), "--dry-run", "--json", "model.layers=[embeddings]")
    assert patterns.returncode == 0, patterns.stderr
    embeddings = sum(v.numel() for k, v in pretrained(setup[1]).items() if k.startswith("embed"))
    assert json.loads(patterns.stdout)["trainable_parameters"] == embeddings + 66


@pytest.mark.slow
def test_a_resumed_run_ends_bit_equal(setup: tuple[Path, Path], tmp_path: Path) -> None:
    recipe = recipe_for(tmp_path, setup)
    text = recipe.read_text().replace("  scheduler: {name: linear, warmup_ratio: 0.1}\n", "")
    recipe.write_text(text.replace("epochs: 6", "epochs: 2"))
    whole, part = tmp_path / "whole", tmp_path / "part"
    assert cli("run", str(recipe), "--out", str(whole)).returncode == 0
    assert cli("run", str(recipe), "--out", str(part), "train.epochs=1").returncode == 0
    resumed = cli("run", str(recipe), "--out", str(part), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming after epoch 1" in resumed.stderr
    last = "checkpoints/last.pt"
    assert_same_weights(
        torch.load(part / last, weights_only=True)["model"],
        torch.load(whole / last, weights_only=True)["model"],
    )


def test_a_pattern_or_index_that_matches_nothing_names_the_blocks(
    setup: tuple[Path, Path], tmp_path: Path
) -> None:
    recipe = recipe_for(tmp_path, setup)
    done = cli("run", str(recipe), "--dry-run", "model.layers=[decoder]")
    assert done.returncode == ExitCode.BAD_RECIPE
    assert "model.layers: 'decoder' matches no weight of this model" in done.stderr
    assert "bert.encoder.layer.0, bert.encoder.layer.1" in done.stderr
    done = cli("run", str(recipe), "--dry-run", "model.layers=[2]")
    assert done.returncode == ExitCode.BAD_RECIPE
    assert "model.layers: 2 is not a block of this model: it has 2" in done.stderr


def test_layers_and_trainable_go_together(setup: tuple[Path, Path], tmp_path: Path) -> None:
    csv, model = setup
    recipe = write_recipe(tmp_path, csv, model, trainable="layers")
    done = cli("validate", str(recipe))
    assert done.returncode == ExitCode.BAD_RECIPE
    assert "recipe.yaml:3:1 model: trainable: layers needs the blocks" in done.stderr
    done = cli("validate", str(recipe), "model.trainable=head", "model.layers=[-1]")
    assert done.returncode == ExitCode.BAD_RECIPE
    assert "model.layers: 'layers' is read with trainable: layers only" in done.stderr


def test_a_language_model_trains_its_chosen_block_and_output_layer(tmp_path: Path) -> None:
    from easytrain.config.chat import ChatData
    from easytrain.data import chat
    from easytrain.models.hf_causal import build_causal

    path, model = chat_setup(tmp_path)
    config = HFConfig(name=str(model), trainable="layers", layers=[0, "norm"])
    raw = chat.load(ChatData(path=path, split={"val": 0.0, "test": 0.0}), config)
    built = build_causal(config, raw.encoding["chat"]).model
    trained = {n for n, p in built.named_parameters() if p.requires_grad}
    assert trained and all(
        n.startswith(("model.layers.0.", "model.norm.", "lm_head.")) for n in trained
    )
    assert any(n.startswith("lm_head.") for n in trained) and "model.norm.weight" in trained
    with pytest.raises(RecipeError, match=r"model.layers: -3 is not a block .* it has 2"):
        build_causal(config.model_copy(update={"layers": [-3]}), raw.encoding["chat"])
