"""The training loss of SE-ECGNet: class-weighted binary cross-entropy with hard-sample mining.

Each class c is weighted by w_c = 1 / log(N_c), N_c being the number of training records positive
for c, so rare classes count for more without the 1 / N_c extremes. Each sample's loss is the
weighted BCE averaged over classes; the batch's loss averages only the hardest ``hard_fraction`` of
the samples, so well-learnt records stop pulling on the weights.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from seecgnet.trained.settings import LossSettings


def class_weights(
    positive_counts: np.ndarray, settings: LossSettings | None = None
) -> torch.Tensor:
    """w_c = 1 / log(max(N_c, min_count)) for each class, as float32 of shape (n_classes,).

    ``positive_counts``: shape (n_classes,), how many training records are positive for each class.
    """
    settings = settings or LossSettings()
    counts = np.asarray(positive_counts, dtype=np.float64)
    if counts.ndim != 1 or (counts < 0).any():
        raise ValueError(f"positive_counts must be a 1-D array of counts >= 0, got {counts!r}")
    weights = 1.0 / np.log(np.maximum(counts, settings.min_count))
    if settings.normalise_to_mean_one:
        weights = weights / weights.mean()
    return torch.as_tensor(weights, dtype=torch.float32)


def hard_sample_count(batch_size: int, hard_fraction: float) -> int:
    """ceil(hard_fraction × batch_size), at least 1: how many samples the batch loss averages."""
    # Rounding first keeps float noise (0.1 × 30 = 3.0000000000000004) from adding a sample.
    return max(1, math.ceil(round(hard_fraction * batch_size, 9)))


def hard_mining_bce(
    logits: torch.Tensor,
    targets: torch.Tensor,
    class_weights: torch.Tensor,
    hard_fraction: float = LossSettings.hard_fraction,
) -> torch.Tensor:
    """Class-weighted BCE over the hardest ``hard_fraction`` of the batch; a scalar.

    ``logits`` and ``targets`` (0/1 or soft labels) have shape (B, n_classes); ``class_weights``
    has shape (n_classes,). Per sample, the weighted BCE-with-logits is averaged (not summed) over
    classes, so the loss's scale does not depend on how many classes are scored. The batch loss is
    the mean of the ceil(hard_fraction × B) largest per-sample losses; the other samples get no
    gradient.
    """
    if logits.dim() != 2 or logits.shape != targets.shape:
        raise ValueError(
            f"logits and targets must both be (B, n_classes), got {tuple(logits.shape)} "
            f"and {tuple(targets.shape)}"
        )
    if class_weights.shape != (logits.shape[1],):
        raise ValueError(
            f"class_weights must have shape ({logits.shape[1]},), got {tuple(class_weights.shape)}"
        )
    if not 0.0 < hard_fraction <= 1.0:
        raise ValueError(f"hard_fraction must be in (0, 1], got {hard_fraction}")
    per_element = F.binary_cross_entropy_with_logits(
        logits, targets.to(logits.dtype), reduction="none"
    )
    per_sample = (per_element * class_weights.to(logits)).mean(dim=1)  # (B, n_classes) -> (B,)
    hardest = torch.topk(per_sample, hard_sample_count(len(per_sample), hard_fraction)).values
    return hardest.mean()


def smoothed_targets(targets: torch.Tensor, smoothing: float) -> torch.Tensor:
    """Targets moved towards 1/2 by ``smoothing`` s: 1 becomes 1 - s/2 and 0 becomes s/2, so that
    the loss stops rewarding ever more confident logits (unchanged for s = 0)."""
    if smoothing == 0:
        return targets
    return targets * (1.0 - smoothing) + 0.5 * smoothing
