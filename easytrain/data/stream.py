"""8-bit images served a batch at a time, for image sets whose float inputs would not fit in memory.

An ImageStream stands where a split's input tensor would: it holds the uint8 images of the whole
source (memory-mapped from the cache, so the operating system pages them in and out) and the rows
of its split, and makes model inputs only for the rows asked for, with the same operations as
the in-memory path (data/inputs.py: prepare), so a streamed run computes what an in-memory one
does. Training draws its batches through a DataLoader whose workers gather and convert the next
batches while the model trains on the current one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from easytrain.data.inputs import prepare

STREAM_ABOVE = 0.25  # stream (auto) when the float inputs would take this share of the memory


def should_stream(setting: bool | str, images: np.ndarray) -> tuple[bool, str]:
    """(stream?, why) for data.stream: true, false or auto (by the size of the float inputs)."""
    need = images.size * 4  # float32 inputs
    if setting != "auto":
        return bool(setting), "data.stream: true"
    memory = physical_memory()
    why = f"their float inputs would take {need / 2**30:.1f} GB of {memory / 2**30:.0f} GB memory"
    return need > STREAM_ABOVE * memory, why


def physical_memory() -> int:
    """This machine's memory in bytes."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def worker_count(setting: int | str) -> int:
    """data.workers: a number, or auto (half the cores, at most 4: the rest train the model)."""
    if setting != "auto":
        return int(setting)
    return min(4, max(1, (os.cpu_count() or 2) // 2))


class ImageStream(Dataset[torch.Tensor]):
    """The model inputs of one split's images, made on demand; indexed like a tensor (and a
    Dataset, so that a DataLoader's workers can make its batches)."""

    dtype = torch.float32
    ndim = 4

    def __init__(
        self, images: torch.Tensor, rows: torch.Tensor, info: dict[str, Any], workers: int
    ):
        self.images, self.rows, self.info, self.workers = images, rows, info, workers

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def shape(self) -> torch.Size:
        return torch.Size((len(self.rows), *self.images.shape[1:]))

    def __getitem__(self, index: slice | torch.Tensor | np.ndarray) -> torch.Tensor:
        """Model inputs (float32, on the CPU) of the rows at `index` of this split."""
        picked = self.rows[torch.as_tensor(index) if not isinstance(index, slice) else index]
        return prepare(self.images[picked].numpy(), self.info)

    def __getitems__(self, indices: list[int]) -> torch.Tensor:  # a DataLoader's batch fetch
        return self[torch.tensor(indices, dtype=torch.int64)]

    def to(self, device: torch.device | str, **_: Any) -> ImageStream:
        """Itself: batches move to the device, the split stays where it is."""
        return self

    def element_size(self) -> int:
        return 4

    def is_floating_point(self) -> bool:
        return True

    def normalized_as(self, info: dict[str, Any]) -> ImageStream:
        """The same images with another run's normalization (easytrain evaluate --data)."""
        return ImageStream(self.images, self.rows, {**self.info, **info}, self.workers)

    def loader(self, pin_memory: bool) -> EpochBatches:
        return EpochBatches(self, pin_memory)


class EpochBatches:
    """Training batches of a stream, epoch after epoch, from one DataLoader whose workers persist
    (a fresh set of worker processes every epoch would cost seconds)."""

    def __init__(self, stream: ImageStream, pin_memory: bool):
        self.batches: Sequence[torch.Tensor] = []
        self.loader: DataLoader[torch.Tensor] = DataLoader(
            stream,
            batch_sampler=self,  # iterated once per epoch: the batches set for it
            collate_fn=_as_is,
            num_workers=stream.workers,
            pin_memory=pin_memory,
            persistent_workers=stream.workers > 0,
            prefetch_factor=4 if stream.workers > 0 else None,
            # the workers' seeds come from a generator of their own: drawn from the global one,
            # they would shift the dropout masks after them, and a streamed run would no longer
            # train exactly like an in-memory one (the inputs are made without randomness)
            generator=torch.Generator().manual_seed(0),
        )

    def __iter__(self) -> Iterator[list[int]]:
        return (batch.tolist() for batch in self.batches)

    def __len__(self) -> int:
        return len(self.batches)

    def epoch(self, batches: Sequence[torch.Tensor]) -> Iterator[torch.Tensor]:
        """The inputs of `batches` (CPU index tensors into the split), in order, prefetched."""
        self.batches = batches
        return iter(self.loader)


def _as_is(batch: Any) -> Any:
    """The DataLoader's collate: __getitems__ already made the batch."""
    return batch
