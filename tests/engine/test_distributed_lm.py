"""Language models on two CPU processes (gloo), launched by `easytrain run --nproc-per-node 2`:
2 processes × batch 4 × train.accumulate 2 take the steps of 1 process × batch 16, with DDP and
FSDP, training all weights or LoRA adapters, on chats whose answers are 1 to 31 words long (so
each process's share of a step holds a different number of answer tokens). The distributed run's
folder is whole and its export (the merged model, checked against the adapted one) loads."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
import torch

from tests.conftest import easytrain
from tests.engine.test_token_weighting import uneven_chats

pytest.importorskip("transformers")
pytest.importorskip("peft")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(os.name != "posix", reason="POSIX processes")]

RECIPE = """name: lm-ddp
seed: 4
data: {{source: chat, path: {path}, max_length: 64, split: {{val: 0.2, test: 0.0}},
       prompts_to_sample: 1}}
model: {{type: hf, name: {model}, trainable: {trainable}, lora: {{r: 4, alpha: 8, dropout: 0.0}}}}
train: {{epochs: 2, batch_size: 16, optimizer: {{name: sgd, lr: 0.5}}, tensorboard: false}}
export: {{formats: [hf]}}
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.hf_models import tiny_llama

    folder = tmp_path_factory.mktemp("lm-ddp")
    rows = uneven_chats(20)  # 16 to train, 4 to validate
    (folder / "chats.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    tiny_llama(folder / "tiny-llama", [m["content"] for row in rows for m in row["messages"]])
    return folder


def recipe(folder: Path, trainable: str) -> Path:
    path = folder / f"{trainable}.yaml"
    text = RECIPE.format(
        path=folder / "chats.jsonl", model=folder / "tiny-llama", trainable=trainable
    )
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def one_process(folder: Path) -> dict[str, Path]:
    """The reference runs: one process, batch 16 (one step per epoch), by trainable."""
    runs = {}
    for trainable in ("all", "lora"):
        out = folder / f"one-{trainable}"
        done = easytrain("run", str(recipe(folder, trainable)), "--out", str(out))
        assert done.returncode == 0, done.stderr
        runs[trainable] = out
    return runs


def weights(out: Path) -> dict[str, torch.Tensor]:
    return torch.load(out / "checkpoints" / "last.pt", weights_only=True)["model"]


def train_losses(out: Path) -> list[float]:
    with (out / "metrics.csv").open() as file:
        return [float(row["train_loss"]) for row in csv.DictReader(file)]


@pytest.mark.parametrize(
    ("trainable", "strategy"), [("all", "ddp"), ("lora", "ddp"), ("lora", "fsdp")]
)
def test_two_processes_take_the_steps_of_one(
    folder: Path, one_process: dict[str, Path], tmp_path: Path, trainable: str, strategy: str
) -> None:
    out = tmp_path / "two"
    two = easytrain(
        "run",
        str(recipe(folder, trainable)),
        "--out",
        str(out),
        "--nproc-per-node",
        "2",
        "train.batch_size=4",
        "train.accumulate=2",
        f"train.strategy={strategy}",
    )
    assert two.returncode == 0, two.stderr
    assert "2 processes (global batch 8)" in two.stderr
    reference = one_process[trainable]
    single, double = weights(reference), weights(out)
    assert single.keys() == double.keys()
    assert (trainable == "lora") == any("lora_A" in name for name in double)
    for name, tensor in single.items():
        torch.testing.assert_close(double[name], tensor, rtol=1e-4, atol=1e-6, msg=name)
    assert train_losses(out) == pytest.approx(train_losses(reference), rel=1e-5)

    # the run folder of a distributed run, written by rank 0, and its export
    result = json.loads((out / "summary.json").read_text())
    assert result["status"] == "succeeded" and result["epochs_completed"] == 2
    assert json.loads((out / "env.json").read_text())["processes"] == 2
    card = json.loads((out / "export" / "model.json").read_text())
    assert card["checks"]["hf"]["max_abs_diff"] <= 1e-5  # merged logits = adapted logits
    assert (out / "export" / "hf" / "model.safetensors").is_file()
    assert (out / "export" / "adapter" / "adapter_config.json").is_file() == (trainable == "lora")
    assert len((out / "samples.jsonl").read_text().splitlines()) == 1
