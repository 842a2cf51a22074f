"""A language model's step is the mean loss over all its answer tokens, however the step's
examples fall into micro-batches (train.accumulate): the loop's gradient is compared with the
gradient of the mean over every answer token of the same examples in one batch, computed here by
hand. The answers are 1 to 31 words long, so the micro-batches (drawn from length buckets) hold
very different numbers of answer tokens."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import torch

from easytrain.config.load import load_recipe
from easytrain.engine.setup import Training, set_up
from easytrain.engine.steps import batch_backward, batch_inputs, epoch_batches, start_epoch
from easytrain.pipeline.bootstrap import bootstrap
from easytrain.pipeline.context import RunContext
from easytrain.registry import default_registry
from easytrain.stages.model import ModelStage
from easytrain.tracking.console import PlainReporter

pytest.importorskip("transformers")

WORDS = ["red", "blue", "green", "amber", "violet", "silver", "orange", "teal"]
EXAMPLES = 16


def uneven_chats(count: int = EXAMPLES) -> list[dict]:
    """Chats whose answers are 1, 3, 5 … words long (up to 31)."""
    rows = []
    for i in range(count):
        answer = " ".join(WORDS[(i + k) % len(WORDS)] for k in range(1 + 2 * (i % 16)))
        rows.append(
            {
                "messages": [
                    {"role": "user", "content": f"Say {i} colours ."},
                    {"role": "assistant", "content": answer},
                ]
            }
        )
    return rows


def uneven_setup(folder: Path) -> tuple[Path, Path]:
    """(chats.jsonl, tiny Llama folder) for the uneven chats."""
    from tests.hf_models import tiny_llama

    rows = uneven_chats()
    path = folder / "chats.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    texts = [m["content"] for row in rows for m in row["messages"]]
    return path, tiny_llama(folder / "tiny-llama", texts)


RECIPE = """name: tokens
seed: 2
data: {{source: chat, path: {path}, max_length: 64, split: {{val: 0.0, test: 0.0}},
       prompts_to_sample: 0}}
model: {{type: hf, name: {model}, trainable: all}}
train: {{epochs: 1, batch_size: 16, optimizer: {{name: sgd, lr: 0.1}}, monitor: train_loss,
        tensorboard: false}}
"""


@pytest.fixture(scope="module")
def recipe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tokens")
    path, model = uneven_setup(folder)
    recipe = folder / "recipe.yaml"
    recipe.write_text(RECIPE.format(path=path, model=model))
    return recipe


def training(recipe: Path, run_dir: Path, *overrides: str) -> Training:
    loaded = load_recipe(recipe, list(overrides))
    ctx = RunContext(
        loaded, run_dir, torch.device("cpu"), default_registry(), PlainReporter(io.StringIO())
    )
    bootstrap(ctx)
    ModelStage().run(ctx)
    return set_up(ctx, loaded.train, ["perplexity"])


def step_gradient(t: Training) -> dict[str, torch.Tensor]:
    """The summed gradients of the first step's batches, as the loop makes them."""
    batches = epoch_batches(t, epoch=0, first=0)
    served = batch_inputs(t, batches)
    sums = start_epoch(t, 0, 0.0)
    for part in batches[: t.config.accumulate]:
        batch_backward(t, part, next(served), sums)
    return {n: p.grad.clone() for n, p in t.model.named_parameters() if p.grad is not None}


def gradient_of(t: Training, groups: list[torch.Tensor], by_tokens: bool) -> dict:
    """By hand: the mean loss over every answer token of the groups' examples (by_tokens), or
    the mean of each group's own token mean (weighting the groups alike)."""
    t.model.zero_grad()
    losses = []
    total = 0
    for rows in groups:
        x, y = t.x[rows], t.y[rows]
        width = int((x >= 0).sum(1).max())
        total_sum, count = t.loss_fn.sums(t.model(x[:, :width]), y)
        losses.append((total_sum.sum(), count.sum()))
        total += int(count.sum())
    if by_tokens:
        loss = sum(s for s, _ in losses) / total
    else:
        loss = sum(s / c for s, c in losses) / len(losses)
    loss.backward()
    return {n: p.grad.clone() for n, p in t.model.named_parameters() if p.grad is not None}


def largest_difference(a: dict, b: dict) -> float:
    return max(float((a[n] - b[n]).abs().max() / b[n].abs().max().clamp(min=1e-12)) for n in a)


def test_an_accumulated_step_is_the_mean_over_all_its_answer_tokens(
    recipe: Path, tmp_path: Path
) -> None:
    small = training(recipe, tmp_path / "small", "train.batch_size=4", "train.accumulate=4")
    batches = epoch_batches(small, epoch=0, first=0)
    tokens = [b.items for b in batches]
    assert len(batches) == 4 and sum(tokens) == small.loss_items
    assert max(tokens) > 3 * min(tokens), tokens  # the micro-batches differ widely
    assert sum(b.share for b in batches) == pytest.approx(1.0)

    accumulated = step_gradient(small)
    by_hand = gradient_of(small, [b.index for b in batches], by_tokens=True)
    # float32 sums in another order: the largest difference, relative to each weight's largest
    # gradient, measured 2e-7 and 3e-7; 1e-5 leaves room
    assert largest_difference(accumulated, by_hand) < 1e-5
    per_batch = gradient_of(small, [b.index for b in batches], by_tokens=False)
    assert largest_difference(per_batch, by_hand) > 1e-2  # what weighting by batches would give

    big = training(recipe, tmp_path / "big")  # the same 16 examples in one batch
    assert len(epoch_batches(big, epoch=0, first=0)) == 1
    one_batch = step_gradient(big)
    assert largest_difference(accumulated, one_batch) < 1e-5


def test_unpacked_data_is_never_read_back_to_tell_packed_rows(recipe: Path, tmp_path: Path) -> None:
    """data.packing false: the model is told its rows are never packed, so a batch's ids are
    not read back to the host (on a GPU, one sync a step) and make the inputs a check would."""
    from easytrain.data.chat import SEGMENT
    from easytrain.models.hf_causal import inner, packed_inputs

    t = training(recipe, tmp_path / "run")
    model = inner(t.model)
    assert model is not None and model.packed is False
    rows = t.x[:4]
    told = packed_inputs(rows, 0, torch.float32, packed=False)
    checked = packed_inputs(rows, 0, torch.float32)
    assert told.keys() == checked.keys() == {"input_ids", "attention_mask"}
    assert all(torch.equal(told[k], checked[k]) for k in told)
    packed_row = torch.tensor([[5, 6, SEGMENT + 7, SEGMENT + 8, -1]])
    assert packed_inputs(packed_row, 0, torch.float32)["attention_mask"].ndim == 4
