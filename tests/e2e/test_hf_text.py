"""A pretrained text model end to end, as a user runs it: LoRA fine-tuning with dropout, killed
with SIGKILL mid-run and resumed, ends with the weights of a run that was never interrupted (bit
for bit, CPU); early stopping, gates, plots and the report work as for any model; `tune` searches
lr, lora.r and epochs."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
import torch

from tests.conftest import cli, easytrain, summary
from tests.engine.test_resume import assert_same_weights, start, wait_for
from tests.hf_models import text_setup

pytest.importorskip("peft")

RECIPE = """name: hf-e2e
seed: 5
data: {{source: text, path: {csv}, text: review, target: verdict}}
model:
  type: hf
  name: {model}
  max_length: 24
  trainable: lora
  lora: {{r: 4, alpha: 8, dropout: 0.1}}
  dropout: 0.1
train:
  epochs: 4
  batch_size: 8
  optimizer: {{name: adamw, lr: 5.0e-3, layer_decay: 0.8}}
  scheduler: {{name: linear, warmup_ratio: 0.1}}
  checkpoint_every_steps: 1
  tensorboard: false
evaluate: {{metrics: [accuracy]}}
"""


@pytest.fixture(scope="module")
def recipe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hf-e2e")
    csv, model = text_setup(folder, count=160)
    path = folder / "recipe.yaml"
    path.write_text(RECIPE.format(csv=csv, model=model))
    return path


def weights(out: Path) -> dict[str, torch.Tensor]:
    return torch.load(out / "checkpoints" / "last.pt", weights_only=True)["model"]


@pytest.mark.slow
def test_lora_run_killed_and_resumed_ends_bit_equal(recipe: Path, tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    done = cli("run", str(recipe), "--out", str(reference))
    assert done.returncode == 0, done.stderr
    out, last = tmp_path / "killed", tmp_path / "killed" / "checkpoints" / "last.pt"
    process = start(recipe, out)
    assert wait_for(last, process, timeout=180)  # the first step's checkpoint
    process.send_signal(signal.SIGKILL)  # at once: a quiet machine runs the 4 epochs in ~1 s
    process.wait()
    state = torch.load(last, weights_only=True)["state"]
    assert state["epoch"] < 4, "the run finished before it was killed"
    resumed = easytrain("run", str(recipe), "--out", str(out), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming after epoch" in resumed.stderr
    assert_same_weights(weights(out), weights(reference))
    assert any("lora_A" in key for key in weights(out))
    assert summary(out)["epochs_completed"] == 4


def test_early_stopping_gates_plots_and_report(recipe: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    done = cli(
        "run",
        str(recipe),
        "--out",
        str(out),
        "model.trainable=all",
        "train.epochs=12",
        "~train.checkpoint_every_steps",
        "train.early_stopping={monitor: val_loss, patience: 1}",
        "evaluate.gates={accuracy: 1.01}",
    )
    assert done.returncode == 3, done.stderr  # an impossible gate: exit 3, the run is kept
    result = summary(out)
    assert result["status"] == "gate_failed" and result["epochs_completed"] <= 12
    assert (out / "plots" / "curves.png").is_file()
    report = cli("report", str(out))
    assert report.returncode == 0, report.stderr
    assert (out / "report.html").is_file() or list(out.rglob("report.html"))


@pytest.mark.slow
def test_tune_searches_lr_lora_rank_and_epochs(recipe: Path, tmp_path: Path) -> None:
    text = recipe.read_text().replace("  checkpoint_every_steps: 1\n", "") + (
        "tune:\n  metric: val_accuracy\n  trials: 2\n  space:\n"
        "    train.optimizer.lr: {loguniform: [1.0e-3, 1.0e-2]}\n"
        "    model.lora.r: {choice: [2, 4]}\n    train.epochs: {choice: [1, 2]}\n"
    )
    tuned = tmp_path / "tune.yaml"
    tuned.write_text(text)
    done = cli("tune", str(tuned), "--out", str(tmp_path / "tune"))
    assert done.returncode == 0, done.stderr
    import yaml

    trials = sorted((tmp_path / "tune" / "trials").iterdir())
    assert len(trials) == 2
    for trial in trials:
        resolved = yaml.safe_load((trial / "recipe.yaml").read_text())
        assert resolved["model"]["lora"]["r"] in (2, 4) and resolved["train"]["epochs"] in (1, 2)
        assert summary(trial)["status"] in ("succeeded", "pruned")
    assert (tmp_path / "tune" / "best.yaml").is_file()


@pytest.mark.slow
def test_the_shipped_recipe_runs_with_a_model_folder(tmp_path: Path) -> None:
    """recipes/text-finetune.yaml as a user copies it, with a tiny model in place of MiniLM."""
    from tests.hf_models import sentiment_rows, tiny_bert

    copied = cli("recipes", "copy", "text-finetune", "recipe.yaml", "--with-data", cwd=tmp_path)
    assert copied.returncode == 0, copied.stderr
    tiny_bert(tmp_path / "models" / "all-MiniLM-L6-v2", [t for t, _ in sentiment_rows()])
    done = cli("run", "recipe.yaml", "train.epochs=1", "--out", "run", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    result = summary(tmp_path / "run")
    assert result["status"] == "succeeded" and result["metrics"]["test"]
    assert {"export_hf", "export_onnx"} <= result["artifacts"].keys()


COMMON = ["model.dropout=0.0", "model.trainable=all", "train.epochs=1",
          "train.optimizer={name: sgd, lr: 0.05}", "~train.checkpoint_every_steps"]  # fmt: skip


@pytest.fixture(scope="module")
def single(recipe: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, torch.Tensor]:
    out = tmp_path_factory.mktemp("single") / "run"
    done = cli("run", str(recipe), "--out", str(out), "train.batch_size=16", *COMMON)
    assert done.returncode == 0, done.stderr
    return weights(out)


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["ddp", "fsdp"])
def test_two_processes_fine_tune_like_one(
    recipe: Path, single: dict[str, torch.Tensor], tmp_path: Path, strategy: str
) -> None:
    """2 CPU processes × 8 texts take the steps of 1 × 16 (no dropout: the same arithmetic, up
    to each process padding its share to its own longest text)."""
    two = easytrain(
        "run", str(recipe), "--out", str(tmp_path / "two"), "--nproc-per-node", "2",
        "train.batch_size=8", f"train.strategy={strategy}", *COMMON,
    )  # fmt: skip
    assert two.returncode == 0, two.stderr
    double = weights(tmp_path / "two")
    assert single.keys() == double.keys()
    for name in single:
        torch.testing.assert_close(double[name], single[name], rtol=1e-4, atol=1e-5)
    assert "2 processes (global batch 16)" in two.stderr
