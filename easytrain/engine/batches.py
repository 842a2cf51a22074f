"""Batches of variable-length token ids: drawn from length buckets, each trimmed to its longest text.

Pretrained text models (models.hf) take token ids right-padded with -1 to the longest text of
the whole split. Padding costs as much compute as real tokens, so each training batch is cut to
its own longest row, and batches are made of texts of similar length: the epoch's shuffled order
is cut into buckets of BUCKET batches, each bucket sorted by length and cut into batches, and the
batches shuffled. Every draw depends only on (seed, epoch), like rng.epoch_order, so a resumed
run replays the epoch exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import cast

import torch

from easytrain.engine import heap, rng

BUCKET = 50  # batches per bucket: enough to find similar lengths, few enough to stay random


def token_lengths(x: object) -> torch.Tensor | None:
    """Real tokens per row of right-padded (-1) token ids, on the CPU; None for other inputs."""
    own = getattr(x, "token_lengths", None)
    if own is not None:  # rows read from a file (data.chat_rows) know their lengths
        return cast(torch.Tensor | None, own())
    if not isinstance(x, torch.Tensor) or x.dtype != torch.int64 or x.ndim != 2 or not len(x):
        return None
    lengths = (x >= 0).sum(dim=1).cpu()
    return lengths if bool((lengths < x.shape[1]).any()) else None


def bucketed_order(
    lengths: torch.Tensor,
    batch_size: int,
    seed: int,
    epoch: int,
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """The epoch's examples such that each slice of batch_size holds texts of similar length.

    The draw is rng.epoch_order's (shuffle or balanced); only the order within it changes. The
    short last batch (n % batch_size) stays last, where the loop expects it.
    """
    order = rng.epoch_order(len(lengths), seed, epoch, weights)
    chunk = batch_size * BUCKET
    pieces = []
    for start in range(0, len(order), chunk):
        piece = order[start : start + chunk]
        pieces.append(piece[torch.argsort(lengths[piece], descending=True, stable=True)])
    ordered = torch.cat(pieces)
    full = len(ordered) // batch_size
    batches = ordered[: full * batch_size].view(full, batch_size)
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch + 500_009)
    shuffled = batches[torch.randperm(full, generator=generator)].reshape(-1)
    return torch.cat([shuffled, ordered[full * batch_size :]])


def trimmed(
    x: torch.Tensor, lengths: torch.Tensor, indices: list[torch.Tensor]
) -> Iterator[torch.Tensor]:
    """Each batch's rows cut to the batch's longest text (the widths are read before the loop).
    On the CPU, the last batch's freed memory goes back to the system before each batch, so
    batches of other shapes do not grow the heap (engine/heap.py)."""
    widths = [max(int(lengths[i.cpu()].max()), 1) if len(i) else 1 for i in indices]
    on_cpu = x.device.type == "cpu"

    def batches() -> Iterator[torch.Tensor]:
        for i, width in zip(indices, widths, strict=True):
            if on_cpu:
                heap.release()
            yield x[:, :width][i]

    return batches()
