"""Training features, each through a real `easytrain run`, checked by what the run wrote."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
import torch

from easytrain.errors import ExitCode
from tests.conftest import RECIPES, cli, summary

IRIS = str(RECIPES / "iris.yaml")
QUIET = ("~evaluate.gates", "train.tensorboard=false")


def run(out: Path, *overrides: str, recipe: str = IRIS) -> None:
    done = cli("run", recipe, "--out", str(out), *QUIET, *overrides)
    assert done.returncode == 0, done.stderr


def model_weights(out: Path) -> dict[str, torch.Tensor]:
    return torch.load(out / "checkpoints" / "last.pt", weights_only=True)["model"]


def rows(out: Path) -> list[dict[str, str]]:
    return list(csv.DictReader((out / "metrics.csv").open()))


@pytest.mark.slow
def test_accumulating_4_batches_of_16_equals_one_batch_of_64(tmp_path: Path) -> None:
    common = ("model.dropout=0", "train.epochs=3", "train.optimizer={name: sgd, lr: 0.1}")
    run(tmp_path / "big", *common, "train.batch_size=64")
    run(tmp_path / "accumulated", *common, "train.batch_size=16", "train.accumulate=4")
    big, accumulated = model_weights(tmp_path / "big"), model_weights(tmp_path / "accumulated")
    for name in big:
        torch.testing.assert_close(accumulated[name], big[name], rtol=1e-5, atol=1e-6)
    unaccumulated = tmp_path / "plain16"
    run(unaccumulated, *common, "train.batch_size=16")  # the control: this one must differ
    first = next(iter(big))
    assert not torch.allclose(model_weights(unaccumulated)[first], big[first], atol=1e-4)


def test_a_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path: Path) -> None:
    out = tmp_path / "run"
    done = cli(
        "run",
        IRIS,
        "--out",
        str(out),
        *QUIET,
        "train.optimizer={name: sgd, lr: 0.1}",
        "train.scheduler={name: step, step_size: 2, gamma: 1.0e+12}",
    )
    assert done.returncode == ExitCode.RUN_FAILED
    assert "became nan in epoch 3" in done.stderr and "step" in done.stderr
    assert "Traceback" not in done.stderr
    saved = torch.load(out / "checkpoints" / "last.pt", weights_only=True)
    assert saved["state"]["epoch"] == 2
    assert all(torch.isfinite(t).all() for t in saved["model"].values())
    assert summary(out)["status"] == "failed"


def test_early_stopping_stops_after_patience_epochs(tmp_path: Path) -> None:
    out = tmp_path / "run"
    # min_delta 1.0 on accuracy: nothing after the first epoch can count as an improvement
    run(
        out,
        "train.epochs=20",
        "train.early_stopping={monitor: val_accuracy, patience: 3, min_delta: 1.0}",
    )
    result = summary(out)
    assert result["epochs_completed"] == 4 and result["best_epoch"] == 1
    best = torch.load(out / "checkpoints" / "best.pt", weights_only=True)
    assert best["epoch"] == 1 and best["monitor"] == "val_accuracy"


def test_bf16_autocast_trains_on_the_cpu(tmp_path: Path) -> None:
    out = tmp_path / "run"
    run(out, "train.precision=bf16", "train.epochs=40")
    assert summary(out)["metrics"]["test"]["accuracy"] >= 0.8
    assert all(t.dtype == torch.float32 for t in model_weights(out).values())  # fp32 master weights


def test_fp16_on_the_cpu_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    done = cli(
        "run",
        IRIS,
        "--out",
        str(tmp_path / "run"),
        *QUIET,
        "train.precision=fp16",
        "--device",
        "cpu",
    )
    assert done.returncode == ExitCode.BAD_RECIPE
    assert "fp16 needs a CUDA device" in done.stderr


def test_learning_rate_per_epoch_is_logged_with_warmup(tmp_path: Path) -> None:
    out = tmp_path / "run"
    run(out, "train.epochs=6", "train.scheduler={name: cosine, warmup_epochs: 2}")
    lrs = [float(row["lr"]) for row in rows(out)]
    assert lrs[0] < lrs[1]  # rising through the warmup
    assert lrs[2] > lrs[3] > lrs[4] > lrs[5]  # then the cosine decay


def test_class_weights_and_label_smoothing_and_rmsprop_and_clipping(tmp_path: Path) -> None:
    out = tmp_path / "run"
    run(
        out,
        "train.class_weights=auto",
        "train.label_smoothing=0.1",
        "train.grad_clip_norm=1.0",
        "train.optimizer={name: rmsprop, lr: 0.003, weight_decay: 0.001, weight_decay_exclude_norm: true}",
        "train.epochs=30",
    )
    assert summary(out)["metrics"]["test"]["accuracy"] >= 0.8
    groups = torch.load(out / "checkpoints/last.pt", weights_only=True)["optimizer"]["param_groups"]
    assert [g["weight_decay"] for g in groups] == [0.001, 0.0]  # biases spared


def test_binary_cross_entropy_uses_one_logit(tmp_path: Path) -> None:
    out = tmp_path / "run"
    run(out, "train.loss=bce", "train.epochs=10", recipe=str(RECIPES / "breast_cancer.yaml"))
    last_layer = [t for name, t in model_weights(out).items() if name.endswith("weight")][-1]
    assert last_layer.shape[0] == 1
    assert summary(out)["metrics"]["test"]["accuracy"] >= 0.85
    wrong = cli("run", IRIS, "--out", str(tmp_path / "iris"), *QUIET, "train.loss=bce")
    assert wrong.returncode == ExitCode.BAD_RECIPE and "bce is for two classes" in wrong.stderr


def test_tensorboard_event_files_hold_each_logged_value(tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = tmp_path / "run"
    done = cli("run", IRIS, "--out", str(out), "~evaluate.gates", "train.epochs=3")
    assert done.returncode == 0, done.stderr
    events = EventAccumulator(str(out / "tensorboard"))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"train_loss", "val_loss", "val_accuracy", "lr"} <= tags
    logged = [float(row["train_loss"]) for row in rows(out)]
    assert [e.value for e in events.Scalars("train_loss")] == pytest.approx(logged, rel=1e-6)
    assert not math.isnan(logged[-1])


def test_channels_last_trains_the_same_network(tmp_path: Path) -> None:
    digits = str(RECIPES / "digits.yaml")
    common = (
        "train.epochs=2",
        "~export",
        "model.layers=[{conv: {channels: 8}}, {pool: 2}, flatten]",
    )
    run(tmp_path / "plain", *common, recipe=digits)
    run(tmp_path / "last", *common, "train.channels_last=true", recipe=digits)
    plain, last = model_weights(tmp_path / "plain"), model_weights(tmp_path / "last")
    for name in plain:
        torch.testing.assert_close(last[name].contiguous(), plain[name], rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_compiled_training_matches_eager_and_saves_plain_weights(tmp_path: Path) -> None:
    common = ("train.epochs=2", "~export", "model.dropout=0")
    run(tmp_path / "eager", *common)
    run(tmp_path / "compiled", *common, "train.compile=true")
    eager, compiled = model_weights(tmp_path / "eager"), model_weights(tmp_path / "compiled")
    assert compiled.keys() == eager.keys()  # no `_orig_mod.` prefix: loads into the plain model
    for name in eager:
        torch.testing.assert_close(compiled[name], eager[name], rtol=1e-3, atol=1e-4)


def test_balanced_sampler_draws_classes_equally(tmp_path: Path) -> None:
    from easytrain.engine.rng import balanced_weights, epoch_order

    labels = torch.tensor([0] * 900 + [1] * 100)  # 9 : 1
    drawn = labels[epoch_order(len(labels), seed=0, epoch=0, weights=balanced_weights(labels))]
    assert 0.4 < drawn.float().mean().item() < 0.6  # about half of each class
    out = tmp_path / "run"
    run(out, "data.sampler=balanced", "train.epochs=3", recipe=str(RECIPES / "breast_cancer.yaml"))
    assert "sampler: balanced" in (out / "recipe.yaml").read_text()
    regression = cli(
        "run",
        str(RECIPES / "diabetes.yaml"),
        "--out",
        str(tmp_path / "r"),
        *QUIET,
        "data.sampler=balanced",
    )
    assert regression.returncode == ExitCode.BAD_RECIPE and "data.sampler" in regression.stderr
