"""The optimisation settings, in a module free of torch.

The command line shows these defaults in ``--help``; keeping them apart from the network's settings
lets ``--help`` and usage errors answer without importing torch. ``seecgnet.settings`` joins them
with the other settings and re-exports both names.
"""

from __future__ import annotations

from dataclasses import dataclass


class SettingsError(ValueError):
    """A settings file or value is wrong."""


@dataclass(frozen=True)
class TrainSettings:
    """Optimisation. The paper names Adam and a decaying rate without numbers; these are ours."""

    epochs: int = 30
    batch_size: int = 32
    # AdamW with a one-cycle schedule (a warm-up over the first 30 % of steps, then cosine decay),
    # which trains a small network reliably in few epochs without a step schedule per data set.
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    # Part of the training records held out to keep the best epoch by the challenge metric.
    validation_fraction: float = 0.2
    seed: int = 0
    device: str = "auto"  # "auto" takes CUDA when present
    workers: int = 0  # DataLoader worker processes
    # Mixed precision on CUDA (bf16 where supported); ignored on the CPU.
    mixed_precision: bool = True

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1:
            raise SettingsError("epochs and batch_size must be at least 1")
        if not 0.0 <= self.validation_fraction < 1.0:
            raise SettingsError(
                f"validation_fraction must be in [0, 1), got {self.validation_fraction}"
            )
