"""Data parallelism with torch.distributed: who we are, the process group, and the few
collectives the loop needs. One process is the degenerate case: every function is a no-op.

The launcher (torchrun, or `easytrain run --nproc-per-node N`) sets RANK, WORLD_SIZE and
LOCAL_RANK; backend nccl on CUDA, gloo on CPU.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist

from easytrain.engine.world import World, current_world

__all__ = ["World", "current_world", "start", "stop", "shard", "all_sum", "gather", "from_main"]

TIMEOUT = timedelta(seconds=int(os.environ.get("EASYTRAIN_COLLECTIVE_TIMEOUT", "300")))


def start(world: World, device: torch.device) -> torch.device:
    """Join the process group; on CUDA each process takes the GPU of its local rank."""
    if not world.distributed:
        return device
    if device.type == "cuda":
        device = torch.device("cuda", world.local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend, timeout=TIMEOUT, device_id=device if device.type == "cuda" else None)
    return device


def stop() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def shard(index: torch.Tensor, world: World) -> torch.Tensor:
    """This process's contiguous share of a global batch (shares differ by at most one)."""
    if not world.distributed:
        return index
    return torch.tensor_split(index, world.size)[world.rank]


def all_sum(value: torch.Tensor, world: World) -> torch.Tensor:
    if world.distributed:
        value = value.clone()
        dist.all_reduce(value, op=dist.ReduceOp.SUM)
    return value


def gather(obj: Any, world: World) -> list[Any]:
    """obj from every process, in rank order (on every process)."""
    if not world.distributed:
        return [obj]
    gathered: list[Any] = [None] * world.size
    dist.all_gather_object(gathered, obj)
    return gathered


def from_main(obj: Any, world: World) -> Any:
    """Rank 0's obj on every process: one decision, taken once (early stopping, best epoch)."""
    if not world.distributed:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]
