"""engine/heap.py: freed heap memory is handed back to the system, and batches stay as they were."""

from __future__ import annotations

import ctypes
import sys

import pytest
import torch

from easytrain.engine import heap
from easytrain.engine.batches import trimmed


def resident_mb() -> float:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc, /proc")
def test_release_returns_freed_heap_pages_to_the_system() -> None:
    if not hasattr(ctypes.CDLL(None), "malloc_trim"):
        pytest.skip("not glibc")
    # 2,000 blocks of 64-128 KiB (under malloc's mmap threshold: they live in the heap), one
    # in ten kept, so the free space is holes between live blocks that the heap's top cannot
    # give back by itself
    blocks = [torch.ones(16_384 + (i % 7) * 2_048) for i in range(2_000)]
    kept = blocks[::10]
    del blocks
    before = resident_mb()
    heap.release()
    assert resident_mb() < before - 50, (before, resident_mb())
    assert all(bool(k[0] == 1) for k in kept)


def test_trimmed_batches_are_unchanged() -> None:
    x = torch.tensor([[1, 2, -1], [3, -1, -1], [4, 5, 6]])
    lengths = torch.tensor([2, 1, 3])
    got = list(trimmed(x, lengths, [torch.tensor([1]), torch.tensor([0, 2]), torch.tensor([0])]))
    assert [b.tolist() for b in got] == [[[3]], [[1, 2, -1], [4, 5, 6]], [[1, 2]]]
