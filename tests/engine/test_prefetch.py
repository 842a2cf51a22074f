"""Streamed batches reach the device in order and unchanged, one batch ahead on CUDA."""

from __future__ import annotations

import pytest
import torch

from easytrain.engine.prefetch import ahead


def _batches(pin: bool) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    batches = [torch.rand(4, 3, 8, 8, generator=generator) for _ in range(5)]
    return [b.pin_memory() for b in batches] if pin else batches


def test_on_the_cpu_the_batches_pass_through_in_order() -> None:
    batches = _batches(pin=False)
    out = list(ahead(iter(batches), torch.device("cpu"), channels_last=True))
    assert len(out) == 5
    assert all(torch.equal(a, b) for a, b in zip(out, batches, strict=True))
    assert out[0].is_contiguous(memory_format=torch.channels_last)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_on_cuda_each_batch_arrives_whole_before_it_is_used() -> None:
    batches = _batches(pin=True)
    device = torch.device("cuda")
    seen = []
    for batch in ahead(iter(batches), device):
        assert batch.device.type == "cuda"
        seen.append((batch * 2).cpu())  # computed on the compute stream, after its copy
    assert all(torch.equal(a, b * 2) for a, b in zip(seen, batches, strict=True))
