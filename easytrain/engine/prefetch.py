"""Streamed batches to the GPU one batch ahead: while the model computes on batch k, batch k+1 is
already copying from pinned memory on a side stream (non_blocking), so the copy is off the
critical path. Batches held in memory on the device never pass here."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import torch


def _moved(batch: torch.Tensor, device: torch.device, channels_last: bool) -> torch.Tensor:
    batch = batch.to(device, non_blocking=True)
    return batch.contiguous(memory_format=torch.channels_last) if channels_last else batch


def ahead(
    batches: Iterable[torch.Tensor], device: torch.device, channels_last: bool = False
) -> Iterator[torch.Tensor]:
    """The batches on `device`, in order; on CUDA each copy is issued one batch early."""
    if device.type != "cuda":
        yield from (_moved(batch, device, channels_last) for batch in batches)
        return
    copier = torch.cuda.Stream(device)
    pending: tuple[torch.Tensor, torch.cuda.Event] | None = None
    for batch in batches:
        with torch.cuda.stream(copier):
            moved = _moved(batch, device, channels_last)
            copied = torch.cuda.Event()
            copied.record(copier)
        if pending is not None:
            yield _ready(*pending)
        pending = (moved, copied)
    if pending is not None:
        yield _ready(*pending)


def _ready(batch: torch.Tensor, copied: torch.cuda.Event) -> torch.Tensor:
    """The compute stream waits for this batch's copy only (not for the next one's)."""
    compute = torch.cuda.current_stream(batch.device)
    compute.wait_event(copied)
    batch.record_stream(compute)  # the allocator keeps it until the compute stream is done
    return batch
