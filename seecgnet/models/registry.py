"""Which network a settings object describes, and what a network costs.

:func:`build_network` is how every part of the package makes a network: from settings alone, so
that a model folder's ``settings.json`` rebuilds exactly the network its weights fit.
"""

from __future__ import annotations

import importlib
import math

import torch
from torch import nn

from seecgnet.models.settings import NETWORK_CLASSES, ModelSettings, side_input_size


def build_network(settings: ModelSettings) -> nn.Module:
    """The network those settings describe: the torch module registered with their class
    (:func:`seecgnet.models.settings.register_architecture`), built from them."""
    path = NETWORK_CLASSES.get(type(settings))
    if path is None:
        raise TypeError(f"no network is built from settings of type {type(settings).__name__}")
    module, _, name = path.rpartition(".")
    network: type[nn.Module] = getattr(importlib.import_module(module), name)
    return network(settings)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable weights."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_multiply_adds(model: nn.Module, settings: ModelSettings) -> int:
    """Multiply-adds of the convolutions and fully connected layers for one window.

    Runs one window of zeros of the settings' shape through the model in eval mode and, for each
    Conv/Linear layer, counts (output elements) × (inputs each output sums: in_channels / groups ×
    kernel size, or in_features). Biases, batch norm, activations, SE scaling and pooling are
    left out: they add well under 1 % on these networks.
    """
    total = 0

    def count(module: nn.Module, _inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.Linear):
            total += output.numel() * module.in_features
        else:
            per_output = module.in_channels // module.groups * math.prod(module.kernel_size)
            total += output.numel() * per_output

    hooks = [
        m.register_forward_hook(count)
        for m in model.modules()
        if isinstance(m, nn.Conv1d | nn.Conv2d | nn.Linear)
    ]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(
                torch.zeros(1, 1, settings.n_leads, settings.window_samples),
                torch.zeros(1, side_input_size(settings)),
            )
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    return total
