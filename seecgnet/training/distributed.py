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
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import Dataset, DistributedSampler

from seecgnet.device import resolve_device

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


def join_device(device_name: str) -> tuple[ProcessGroup, torch.device]:
    """The device this process trains on, and its place in a distributed run (torchrun's)."""
    device = resolve_device(device_name)
    group = join_process_group(device)
    if group.is_distributed and device.type == "cuda":
        device = torch.device("cuda", group.local_rank)
        torch.cuda.set_device(device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed window shapes: let cuDNN pick its kernels
    return group, device


def distribute(
    network: nn.Module,
    windows: Dataset,
    group: ProcessGroup,
    device: torch.device,
    seed: int,
) -> tuple[nn.Module, nn.Module, DistributedSampler | None]:
    """In a distributed run: the network (with batch norm synchronised across GPUs), its
    DistributedDataParallel wrapper, and the sampler that shares out the windows. Otherwise the
    network twice and no sampler."""
    if not group.is_distributed:
        return network, network, None
    sampler = DistributedSampler(windows, group.world_size, group.rank, shuffle=True, seed=seed)
    if device.type == "cuda":
        # each GPU sees batch_size / world windows: batch norm pools its statistics across
        # GPUs (same parameter names, so the saved state_dict loads into a plain network)
        network = nn.SyncBatchNorm.convert_sync_batchnorm(network)
    wrapped = DistributedDataParallel(
        network, device_ids=[device.index] if device.type == "cuda" else None
    )
    return network, wrapped, sampler
