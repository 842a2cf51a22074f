"""Every shipped recipe runs offline as a user gets it: copied with its sample data, then run."""

from __future__ import annotations

from pathlib import Path

import pytest

from easytrain.config.templates import shipped
from tests.conftest import cli, summary

# Short runs: one or two epochs, small images. The recipes themselves are run as shipped.
SHORT = ["train.epochs=1", "~train.early_stopping"]
EXTRA: dict[str, list[str]] = {
    "cats-vs-dogs": ["data.image_size=[64,64]"],
    # offline there are no ImageNet weights to download: the same network from scratch
    "resnet18-images": ["data.image_size=[32,32]", "~model.weights", "~preprocess.augment"],
    "iris-tune": [],
}
# a pretrained model's folder (90 MB): tests/e2e/test_hf_text.py runs it with a tiny one
NEEDS_MODEL = {
    "text-finetune": "fine-tunes models/all-MiniLM-L6-v2",
    # a language model's folder: tests/models/test_hf_causal.py runs it with a tiny Llama
    "llm-sft": "fine-tunes models/Qwen2.5-0.5B-Instruct",
}
# run end to end, as shipped, by tests of their own (the suite's time is spent once)
RUN_ELSEWHERE = {
    "digits": "tests/e2e/test_quickstart.py",
    "iris": "tests/test_api.py",
    "resnet18-images": "tests/models/test_shipped_models.py",
    "mnist": "test_mnist_runs_offline_on_the_original_files below",
}


def _overrides(name: str, recipe: Path) -> list[str]:
    text = recipe.read_text()
    short = [o for o in SHORT if o != "~train.early_stopping" or "early_stopping:" in text]
    if "unfreeze_after" in text:
        short.append("model.unfreeze_after=0")
    return short + EXTRA.get(name, [])


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(set(shipped()) - set(NEEDS_MODEL) - set(RUN_ELSEWHERE)))
def test_every_shipped_recipe_runs_offline_with_its_sample_data(name: str, tmp_path: Path) -> None:
    copied = cli("recipes", "copy", name, "recipe.yaml", "--with-data", cwd=tmp_path)
    assert copied.returncode == 0, copied.stderr
    done = cli(
        "run", "recipe.yaml", *_overrides(name, shipped()[name]), "--out", "run", cwd=tmp_path
    )
    assert done.returncode in (0, 3), done.stderr  # one epoch may miss a recipe's gate
    result = summary(tmp_path / "run")
    assert result["status"] in ("succeeded", "gate_failed")
    assert result["metrics"]["test"], "the test split was scored"


def test_every_recipe_that_reads_files_has_a_sample() -> None:
    from easytrain.config.samples import sample_for

    for name, path in shipped().items():
        if "path:" in path.read_text() or "source: torchvision" in path.read_text():
            assert sample_for(path) is not None, f"{name} reads a file that has no sample"


@pytest.mark.slow
def test_mnist_runs_offline_on_the_original_files(tmp_path: Path) -> None:
    """A clone's MNIST files pass torchvision's MD5 checks, so nothing is downloaded; one epoch
    on the first 2,000 images of each split is far above chance, and the export loads."""
    import torch

    copied = cli("recipes", "copy", "mnist", "recipe.yaml", "--with-data", cwd=tmp_path)
    assert copied.returncode == 0, copied.stderr
    assert "→ data/MNIST/raw (4 files)" in copied.stderr
    overrides = ["data.limit=2000", "train.epochs=1", "~evaluate.gates"]
    done = cli("run", "recipe.yaml", *overrides, "--out", "run", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "train 1800, val 200, test 2000" in done.stderr
    result = summary(tmp_path / "run")
    assert result["metrics"]["test"]["accuracy"] > 0.5  # chance: 0.1; 0.63 after these 15 steps
    assert (tmp_path / "data/MNIST/raw/train-images-idx3-ubyte").stat().st_size == 47_040_016
    exported = torch.export.load(tmp_path / "run/export/model.pt2").module()
    assert exported(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
