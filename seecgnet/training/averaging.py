"""Weight averaging: an exponential moving average of a network's weights over the training steps.

The average of the weights visited late in training sits in a flatter part of the loss than any one
of them, which tends to carry better to data unlike the training data (Izmailov et al., 2018, for
averages of SGD's weights; Polyak averaging before them). The batch norm statistics are averaged
alike, so the average is a network of its own that needs no pass over the data afterwards.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn


class WeightAverage:
    """An exponential moving average of ``network``'s state, kept in a copy of the network.

    The average's time constant is ``time_constant_steps`` optimiser steps; early on, while fewer
    steps have been taken, the decay is (1 + t) / (10 + t) instead if that is smaller, so that the
    initial weights fade quickly.
    """

    def __init__(self, network: nn.Module, time_constant_steps: float) -> None:
        if time_constant_steps <= 0:
            raise ValueError(f"the time constant must be positive, got {time_constant_steps}")
        self.network = copy.deepcopy(network)
        for parameter in self.network.parameters():
            parameter.requires_grad_(False)
        self.decay = math.exp(-1.0 / time_constant_steps)
        self.steps = 0

    @torch.no_grad()
    def update(self, network: nn.Module) -> None:
        """Fold the network's current state into the average (after an optimiser step)."""
        decay = min(self.decay, (1 + self.steps) / (10 + self.steps))
        current = network.state_dict()
        for name, average in self.network.state_dict().items():
            value = current[name]
            if average.is_floating_point():
                average.lerp_(value, 1.0 - decay)
            else:  # counters such as batch norm's num_batches_tracked
                average.copy_(value)
        self.steps += 1

    def state_dict(self) -> dict[str, object]:
        return {"network": self.network.state_dict(), "steps": self.steps}

    def load_state_dict(self, state: dict[str, object]) -> None:
        self.network.load_state_dict(state["network"])  # type: ignore[arg-type]
        self.steps = int(state["steps"])  # type: ignore[arg-type]
