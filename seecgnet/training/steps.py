"""One training epoch: a run's parts, its batches (in mixed precision on CUDA), the loss of each
batch (hard-mined weighted BCE, with subset distillation where the settings ask), stepped by the
training core (:mod:`seecgnet.training.optimisation`). :mod:`seecgnet.training.loop` sets a run up
and validates after each epoch.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler
from tqdm import tqdm

from seecgnet import interrupts
from seecgnet.data.dataset import TrainingWindows
from seecgnet.trained.settings import Settings, TrainSettings
from seecgnet.training.averaging import WeightAverage
from seecgnet.training.distributed import ProcessGroup
from seecgnet.training.loss import hard_mining_bce, smoothed_targets
from seecgnet.training.optimisation import Optimisation, train_pass


@dataclass(eq=False)
class TrainingRun:
    """One training run, set up: the records, the network, and what steps it."""

    group: ProcessGroup
    device: torch.device
    fit_indices: np.ndarray
    val_indices: np.ndarray
    network: nn.Module
    trained_network: nn.Module  # the network itself, or its DistributedDataParallel wrapper
    windows: TrainingWindows
    sampler: DistributedSampler | None
    loader: DataLoader
    optimisation: Optimisation  # the optimiser, its schedule and the float16 gradient scaler
    weights: torch.Tensor
    average: WeightAverage | None = None  # the weight average, validated and kept in its place

    @property
    def evaluated(self) -> nn.Module:
        """The network that is validated and kept: the weight average where there is one."""
        return self.network if self.average is None else self.average.network


def fp16_scaler(device: torch.device, mixed_precision: bool) -> torch.amp.GradScaler:
    """The gradient scaler float16 mixed precision needs (a CUDA device without bf16); disabled
    (a pass-through) everywhere else."""
    return torch.amp.GradScaler(
        enabled=device.type == "cuda"
        and mixed_precision
        and not torch.cuda.is_bf16_supported(including_emulation=False)
    )


def autocast(device: torch.device, config: TrainSettings) -> contextlib.AbstractContextManager:
    """The forward pass's arithmetic: on CUDA, mixed precision (bf16 where supported, else float16)
    unless the settings turn it off; on the CPU, bfloat16 autocast where ``precision`` is bf16,
    float32 otherwise."""
    if device.type == "cuda" and config.mixed_precision:
        dtype = (
            torch.bfloat16
            if torch.cuda.is_bf16_supported(including_emulation=False)
            else torch.float16
        )
        return torch.autocast(device_type="cuda", dtype=dtype)
    if device.type == "cpu" and config.precision == "bf16":
        return torch.autocast(device_type="cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@contextlib.contextmanager
def training_layout(network: nn.Module, channels_last: bool) -> Iterator[None]:
    """While it lasts, the network's 4-D weights (the 2-D convolutions of the lead-shared layers)
    are channels-last, so that their feature maps are too: convolution and batch norm read them
    without the layout copies the default order costs on the CPU. Afterwards the weights are back
    in torch's default order, in which validation and prediction run. The weights' values are
    the same; the arithmetic differs, batch norm's above all (``TrainSettings.channels_last``)."""
    if not channels_last:
        yield
        return
    network.to(memory_format=torch.channels_last)
    try:
        yield
    finally:
        network.to(memory_format=torch.contiguous_format)


def batches(loader: DataLoader, device: torch.device) -> Iterator[tuple[torch.Tensor, ...]]:
    for batch in loader:
        interrupts.check()  # a Ctrl-C that landed where Python passed it over ends the run here
        yield tuple(t.to(device, non_blocking=True) for t in batch)


def train_epoch(run: TrainingRun, settings: Settings, epoch: int, progress: bool) -> float:
    """One pass over the training records' windows; the mean batch loss."""
    config = settings.training
    run.network.train()
    run.windows.set_epoch(epoch)
    if run.sampler is not None:
        run.sampler.set_epoch(epoch)
    bar = tqdm(
        batches(run.loader, run.device),
        total=len(run.loader),
        desc=f"epoch {epoch}/{config.epochs}",
        disable=not progress or not run.group.is_main,
        leave=False,
    )
    average = run.average
    # Channels-last on the CPU of a single process (a distributed run's gradient buckets keep the
    # layout they were made with).
    channels_last = (
        config.channels_last and run.device.type == "cpu" and run.trained_network is run.network
    )
    with training_layout(run.network, channels_last):
        return train_pass(
            bar,
            lambda batch: batch_loss(run, settings, batch),
            run.optimisation,
            after_step=None if average is None else lambda: average.update(run.network),
            shown=lambda _, mean: bar.set_postfix(loss=f"{mean:.4f}"),
        )


def batch_loss(
    run: TrainingRun, settings: Settings, batch: tuple[torch.Tensor, ...]
) -> torch.Tensor:
    """The loss of one batch: (x, side input, targets), or with subset distillation (x, side
    input, x cut to a lead subset, its side input, targets), whose subset half is trained toward
    the network's probabilities for the whole windows (held fixed) with the distillation weight."""
    x, demographics, targets = batch[0], batch[1], batch[-1]
    paired = len(batch) == 5
    if paired:  # one pass over both halves: batch norm sees them together
        x, demographics = torch.cat([x, batch[2]]), torch.cat([demographics, batch[3]])
    with autocast(run.device, settings.training):
        logits = run.trained_network(x, demographics).float()
    hard = settings.loss.hard_fraction
    targets = smoothed_targets(targets, settings.loss.label_smoothing)
    if not paired:
        return hard_mining_bce(logits, targets, run.weights, hard)
    whole, subset = logits.chunk(2)
    teacher = torch.sigmoid(whole).detach()
    distilled = hard_mining_bce(subset, teacher, run.weights, hard)
    return hard_mining_bce(whole, targets, run.weights, hard) + (
        settings.training.subset_distillation * distilled
    )
