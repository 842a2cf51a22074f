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

__all__ = ["World", "current_world", "from_main", "gather", "parallel", "shard", "start", "stop"]

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
        dist.init_process_group(
            backend, timeout=TIMEOUT, device_id=device if device.type == "cuda" else None
        )
    return device


def stop() -> None:
    """Leave the process group together: nothing may still be in flight when one process exits."""
    if dist.is_initialized():
        dist.barrier()
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


def parallel(
    model: torch.nn.Module, strategy: str, world: World, device: torch.device
) -> torch.nn.Module:
    """DDP around the model, or FSDP2 sharding of it (in place); one process: the model itself."""
    if not world.distributed:
        return model
    if strategy == "fsdp":
        from torch.distributed.fsdp import fully_shard

        for block in list(model.modules())[1:]:  # shard each block with weights of its own
            if any(True for _ in block.parameters(recurse=False)):
                fully_shard(block)
        fully_shard(model)
        return model
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(
        model, device_ids=[device.index] if device.type == "cuda" else None
    )


def _options(full: bool = True) -> Any:
    from torch.distributed.checkpoint.state_dict import StateDictOptions

    return StateDictOptions(full_state_dict=full, cpu_offload=full)


def model_state(model: torch.nn.Module, strategy: str, world: World) -> dict[str, Any]:
    """The whole model's weights (sharded ones gathered: every process must call this)."""
    if world.distributed and strategy == "fsdp":
        from torch.distributed.checkpoint.state_dict import get_model_state_dict

        return get_model_state_dict(model, options=_options())
    return model.state_dict()


def load_model_state(
    model: torch.nn.Module, state: dict[str, Any], strategy: str, world: World
) -> None:
    if world.distributed and strategy == "fsdp":
        from torch.distributed.checkpoint.state_dict import set_model_state_dict

        set_model_state_dict(model, state, options=_options())
    else:
        model.load_state_dict(state)


def optimizer_state(
    model: torch.nn.Module, optimizer: torch.optim.Optimizer, strategy: str, world: World
) -> dict[str, Any]:
    if world.distributed and strategy == "fsdp":
        from torch.distributed.checkpoint.state_dict import get_optimizer_state_dict

        return get_optimizer_state_dict(model, optimizer, options=_options())
    return optimizer.state_dict()


def load_optimizer_state(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    state: dict[str, Any],
    strategy: str,
    world: World,
) -> None:
    if world.distributed and strategy == "fsdp":
        from torch.distributed.checkpoint.state_dict import set_optimizer_state_dict

        set_optimizer_state_dict(model, optimizer, state, options=_options())
    else:
        optimizer.load_state_dict(state)
