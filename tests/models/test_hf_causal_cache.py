"""A language model trained on batches read from the chat cache (data.stream: true) trains as it
does on chats tokenized in memory (data.cache: false): the same losses, bit-equal weights; and a
streamed run killed mid-way resumes to the weights of an uninterrupted one."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
import torch

from tests.conftest import cli, easytrain
from tests.engine.test_resume import assert_same_weights, start, wait_for
from tests.hf_models import chat_setup

pytest.importorskip("datasets")
pytest.importorskip("transformers")
pytest.importorskip("peft")

RECIPE = """# a LoRA fine-tuning whose batches come from the chat cache
name: sft-stream
seed: 3
data:
  source: chat
  path: {path}
  packing: true
  max_length: 48
  split: {{val: 0.2, test: 0.2}}
  cache_dir: {cache}
  stream: true
model: {{type: hf, name: {model}, trainable: lora, lora: {{r: 4, alpha: 8, dropout: 0.1}}}}
train:
  epochs: 4
  batch_size: 2
  optimizer: {{name: adamw, lr: 5.0e-3}}
  checkpoint_every_steps: 1
  tensorboard: false
"""


@pytest.fixture(scope="module")
def recipe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("stream")
    path, model = chat_setup(folder, count=24)
    recipe = folder / "recipe.yaml"
    recipe.write_text(RECIPE.format(path=path, model=model, cache=folder / "cache"))
    return recipe


def last_weights(run: Path) -> dict[str, torch.Tensor]:
    return torch.load(run / "checkpoints" / "last.pt", weights_only=True)["model"]


def losses(run: Path) -> list[str]:
    """metrics.csv without its seconds column (the only one that may differ)."""
    lines = (run / "metrics.csv").read_text().splitlines()
    return [",".join(line.split(",")[:-1]) for line in lines]


@pytest.fixture(scope="module")
def streamed(recipe: Path) -> Path:
    out = recipe.parent / "streamed"
    done = cli("run", str(recipe), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "batches are read from it (data.stream: true)" in done.stderr
    return out


@pytest.mark.slow
def test_streamed_batches_train_like_chats_in_memory(recipe: Path, streamed: Path) -> None:
    out = recipe.parent / "in-memory"
    done = cli("run", str(recipe), "--out", str(out), "data.cache=false", "data.stream=false")
    assert done.returncode == 0, done.stderr
    assert "chat cache" not in done.stderr
    assert losses(out) == losses(streamed) and len(losses(out)) == 5  # header + 4 epochs
    assert_same_weights(last_weights(out), last_weights(streamed))
    samples = [(run / "samples.jsonl").read_text() for run in (out, streamed)]
    assert samples[0] == samples[1] and samples[0].count("\n") == 3


@pytest.mark.slow
def test_a_killed_streamed_run_resumes_to_the_same_weights(recipe: Path, streamed: Path) -> None:
    out = recipe.parent / "killed"
    last = out / "checkpoints" / "last.pt"
    process = start(recipe, out)
    assert wait_for(last, process, timeout=180)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert torch.load(last, weights_only=True)["state"]["epoch"] < 4, "finished before the kill"
    resumed = easytrain("run", str(recipe), "--out", str(out), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "chat cache hit" in resumed.stderr  # the resumed run did not tokenize again
    assert_same_weights(last_weights(out), last_weights(streamed))
