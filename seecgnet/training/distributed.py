"""Data-parallel training across processes with PyTorch's own engine (torchrun sets the stage).

``torchrun --nproc_per_node N train_model.py DATA MODEL`` starts N processes with RANK, LOCAL_RANK
and WORLD_SIZE in their environment. Each trains on its share of every epoch's windows
(DistributedSampler) and DistributedDataParallel averages the gradients; rank 0 alone validates,
logs and writes checkpoints and the model.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

VALIDATION_TIMEOUT_HOURS = 4


@dataclass(frozen=True)
class ProcessGroup:
    """This process's place in a run: rank 0 of 1 when not launched by torchrun."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def launched_by_torchrun() -> bool:
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def join_process_group(device: torch.device) -> ProcessGroup:
    """Join torchrun's process group (NCCL on CUDA, gloo on the CPU), once per process."""
    if not launched_by_torchrun():
        return ProcessGroup()
    if not dist.is_initialized():
        # Rank 0 validates alone while the others wait at a barrier: on a large validation set
        # that can take far longer than the default 10-minute collective timeout.
        dist.init_process_group(
            backend="nccl" if device.type == "cuda" else "gloo",
            timeout=datetime.timedelta(hours=VALIDATION_TIMEOUT_HOURS),
        )
    return ProcessGroup(
        rank=dist.get_rank(),
        world_size=dist.get_world_size(),
        local_rank=int(os.environ.get("LOCAL_RANK", 0)),
    )


def barrier(group: ProcessGroup) -> None:
    if group.is_distributed:
        dist.barrier()


def leave_process_group() -> None:
    """Close the process group, if this process joined one."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
