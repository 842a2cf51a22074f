"""Fine-tuning pieces of the engine: length-bucketed batches trimmed to their longest text, the
linear schedule with warmup_ratio, and layer-wise learning-rate decay."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from easytrain.config.train import OptimizerConfig, SchedulerConfig
from easytrain.engine import rng
from easytrain.engine.batches import bucketed_order, token_lengths, trimmed
from easytrain.engine.optim import parameter_groups
from easytrain.engine.schedule import Schedule
from easytrain.errors import RecipeError


def padded(lengths: list[int]) -> torch.Tensor:
    x = torch.full((len(lengths), max(lengths)), -1, dtype=torch.int64)
    for row, length in enumerate(lengths):
        x[row, :length] = torch.arange(length) + 5
    return x


def test_bucketed_order_is_a_seeded_permutation_with_little_padding() -> None:
    generator = torch.Generator().manual_seed(0)
    lengths = torch.randint(2, 120, (1000,), generator=generator)
    order = bucketed_order(lengths, 16, seed=3, epoch=1)
    assert sorted(order.tolist()) == list(range(1000))  # every example once
    assert torch.equal(order, bucketed_order(lengths, 16, seed=3, epoch=1))  # resume replays it
    assert not torch.equal(order, bucketed_order(lengths, 16, seed=3, epoch=2))

    def padding(order: torch.Tensor) -> float:
        batches = lengths[order].split(16)
        return sum(float(b.max() * len(b) - b.sum()) for b in batches) / float(lengths.sum())

    shuffled = rng.epoch_order(1000, 3, 1)
    assert padding(order) < 0.2 * padding(shuffled)
    # the short last batch (1000 % 16 = 8 texts) stays last: the loop slices the order in
    # batch_size steps; it is the tail of the last bucket, sorted longest first
    tail = lengths[order[-8:]]
    assert torch.equal(tail, tail.sort(descending=True).values)


def test_bucketed_order_keeps_a_balanced_draw() -> None:
    lengths = torch.arange(40) % 7 + 2
    weights = torch.ones(40, dtype=torch.float64)
    drawn = bucketed_order(lengths, 8, seed=0, epoch=0, weights=weights)
    plain = rng.epoch_order(40, 0, 0, weights)
    assert sorted(drawn.tolist()) == sorted(plain.tolist())  # the same draws, reordered


def test_trimmed_batches_are_padded_only_to_their_longest_text() -> None:
    x = padded([3, 9, 4, 2])
    lengths = token_lengths(x)
    assert lengths is not None and lengths.tolist() == [3, 9, 4, 2]
    batches = list(trimmed(x, lengths, [torch.tensor([0, 3]), torch.tensor([1, 2])]))
    assert [tuple(b.shape) for b in batches] == [(2, 3), (2, 9)]
    assert torch.equal(batches[0], x[[0, 3], :3])
    assert token_lengths(torch.ones(4, 5, dtype=torch.int64)) is None  # no padding: nothing to do
    assert token_lengths(torch.zeros(4, 5)) is None  # not token ids


def test_linear_schedule_warms_up_over_a_share_of_the_steps() -> None:
    weight = nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([weight], lr=0.1)
    schedule = Schedule(SchedulerConfig(name="linear", warmup_ratio=0.1), optimizer, 10, 10)
    lrs = []
    for _ in range(100):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.after_step()
    assert lrs[0] < lrs[5] < lrs[10] == pytest.approx(0.1)  # 10 warmup steps, then the peak
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:], strict=False))  # then down …
    assert lrs[-1] == pytest.approx(0.1 / 90, rel=1e-6)  # … to zero at the 101st step
    with pytest.raises(ValueError, match="one of warmup_epochs, warmup_steps or warmup_ratio"):
        SchedulerConfig(name="cosine", warmup_ratio=0.1, warmup_steps=3)


class Layered(nn.Module):
    """Names like a transformers encoder: embeddings, encoder.layer.N, a head."""

    def __init__(self) -> None:
        super().__init__()
        self.embeddings = nn.Embedding(10, 4)
        self.encoder = nn.Module()
        self.encoder.layer = nn.ModuleList(nn.Linear(4, 4) for _ in range(3))  # type: ignore[assignment]
        self.classifier = nn.Linear(4, 2)

    def layer_depths(self) -> dict[int, int]:
        from easytrain.models.hf import HFTextModel

        return HFTextModel.layer_depths(_Holder(self))  # type: ignore[arg-type]


class _Holder:
    def __init__(self, model: nn.Module) -> None:
        self.model, self.layers = model, 3


def test_layer_decay_gives_lower_layers_smaller_rates() -> None:
    pytest.importorskip("transformers")
    model = Layered()
    groups = parameter_groups(model, OptimizerConfig(lr=1.0, layer_decay=0.5))
    rate = {id(p): g["lr"] for g in groups for p in g["params"]}
    assert groups[0]["lr"] == 1.0  # the head's group first: the logged lr is the peak
    assert rate[id(model.classifier.weight)] == 1.0
    assert [rate[id(layer.weight)] for layer in model.encoder.layer] == [0.125, 0.25, 0.5]
    assert rate[id(model.embeddings.weight)] == 0.0625
    assert sum(len(g["params"]) for g in groups) == len(list(model.parameters()))
    with pytest.raises(RecipeError, match="layer_decay"):
        parameter_groups(nn.Linear(2, 2), OptimizerConfig(layer_decay=0.9))
