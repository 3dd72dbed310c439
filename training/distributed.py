"""torchrun / DDP set-up: gloo on CPU, nccl on GPU; a single process when not launched by torchrun."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def init_world(device: torch.device) -> World:
    """Join the process group torchrun described in the environment (RANK, WORLD_SIZE, ...), if any."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return World()
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return World(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def barrier(world: World) -> None:
    if world.size > 1:
        dist.barrier()


def all_mean(value: torch.Tensor, world: World) -> torch.Tensor:
    """Mean over ranks of a scalar (for logging)."""
    if world.size == 1:
        return value
    out = value.detach().clone()
    dist.all_reduce(out)
    return out / world.size


def any_rank(flag: bool, world: World, device: torch.device) -> bool:
    """True on every rank when ``flag`` is true on some rank (so that all ranks stop together)."""
    if world.size == 1:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)
