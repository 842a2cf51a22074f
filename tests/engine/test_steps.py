"""The training loop's steps one at a time, on a tiny linear model and random data (no run folder
beyond a temporary one, no subprocess)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import torch

from easytrain.config.load import load_recipe
from easytrain.data.bundle import DataBundle, Split
from easytrain.engine.epoch_end import keep_best, should_stop
from easytrain.engine.interrupt import StopRequest
from easytrain.engine.setup import Monitor, Training, choose_monitor, set_up
from easytrain.engine.state import LoopState
from easytrain.engine.steps import epoch_batches, finite, train_epoch
from easytrain.errors import RunFailed
from easytrain.pipeline.context import RunContext
from easytrain.registry import default_registry
from easytrain.tracking.console import PlainReporter
from tests.conftest import RECIPES


def training(tmp_path: Path, *overrides: str, val: bool = True) -> Training:
    """A set-up run: 64 random examples of 4 features, 3 classes, a linear model."""
    recipe = load_recipe(RECIPES / "iris.yaml", ["train.tensorboard=false", *overrides])
    generator = torch.Generator().manual_seed(0)
    x, y = torch.randn(64, 4, generator=generator), torch.randint(0, 3, (64,), generator=generator)
    data = DataBundle(
        train=Split(x, y),
        val=Split(x[:8], y[:8]) if val else None,
        test=None,
        task="classification",
        input_shape=(4,),
        classes=["a", "b", "c"],
    )
    torch.manual_seed(0)
    ctx = RunContext(
        recipe,
        tmp_path,
        torch.device("cpu"),
        default_registry(),
        PlainReporter(io.StringIO()),
        data=data,
        model=torch.nn.Linear(4, 3),
    )
    return set_up(ctx, recipe.train, ["accuracy"])


def test_monitor_direction_and_min_delta() -> None:
    lower = Monitor("val_loss", "min", min_delta=0.1)
    assert lower.improved(1.0, None) and not lower.improved(float("nan"), None)
    assert lower.improved(0.8, 1.0) and not lower.improved(0.95, 1.0)
    higher = Monitor("val_accuracy", "max")
    assert higher.improved(0.9, 0.8) and not higher.improved(0.8, 0.9)


def test_the_monitor_falls_back_to_train_loss_without_a_val_split() -> None:
    recipe = load_recipe(
        RECIPES / "iris.yaml", ["train.early_stopping={monitor: val_accuracy, patience: 2}"]
    )
    with_val = choose_monitor(recipe.train, True, default_registry())
    assert (with_val.name, with_val.mode, with_val.patience) == ("val_accuracy", "max", 2)
    without = choose_monitor(recipe.train, False, default_registry())
    assert (without.name, without.mode) == ("train_loss", "min")


def test_a_resumed_epoch_replays_the_remaining_batches(tmp_path: Path) -> None:
    t = training(tmp_path, "train.batch_size=10")
    whole = epoch_batches(t, epoch=3, first=0)
    assert len(whole) == 7 and sum(len(b.index) for b in whole) == 64
    rest = epoch_batches(t, epoch=3, first=4)
    assert [(b.index.tolist(), b.items, b.share) for b in rest] == [
        (b.index.tolist(), b.items, b.share) for b in whole[4:]
    ]
    assert whole[0].index.tolist() != epoch_batches(t, epoch=4, first=0)[0].index.tolist()


def test_four_accumulated_batches_make_one_step_like_one_big_batch(tmp_path: Path) -> None:
    sgd = "train.optimizer={name: sgd, lr: 0.5}"
    big = training(tmp_path / "big", sgd, "train.batch_size=64")
    small = training(tmp_path / "small", sgd, "train.batch_size=16", "train.accumulate=4")
    states = LoopState(), LoopState()
    for t, state in zip((big, small), states, strict=True):
        sums = train_epoch(t, state, epoch=0, partial_loss=0.0, stop=StopRequest())
        assert state.step == 1 and sums.seen == 64
    torch.testing.assert_close(small.model.weight, big.model.weight, rtol=1e-5, atol=1e-6)
    assert not torch.equal(big.model.weight, training(tmp_path / "fresh").model.weight)


def test_a_nan_loss_names_the_checkpoint_that_is_kept(tmp_path: Path) -> None:
    assert finite(torch.tensor(2.5), epoch=0, step=3, last=tmp_path / "last.pt") == 2.5
    with pytest.raises(RunFailed, match="became nan in epoch 2, at or before step 7"):
        finite(torch.tensor(float("nan")), epoch=1, step=7, last=tmp_path / "last.pt")


def test_the_best_epoch_is_saved_and_patience_stops(tmp_path: Path) -> None:
    t = training(tmp_path, "train.early_stopping={monitor: val_loss, patience: 2}")
    state = LoopState()
    keep_best(t, state, 0.5, epoch=0)
    assert state.best_epoch == 1 and t.best.exists()
    assert torch.load(t.best, weights_only=True)["monitor"] == "val_loss"
    keep_best(t, state, 0.7, epoch=1)
    assert state.bad_epochs == 1 and not should_stop(t, state)
    keep_best(t, state, 0.6, epoch=2)
    assert state.bad_epochs == 2 and should_stop(t, state) and state.best_epoch == 1
