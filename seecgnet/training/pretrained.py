"""Pre-trained lead-shared layers: the file that holds them, and loading them into SE-ECGNet.

SE-ECGNet's stem and its branches' 2-D blocks slide (1, k) kernels along time, one lead at a time,
with the same weights for every lead (:func:`seecgnet.models.seecgnet.is_lead_shared`); their
weights do not depend on how many leads a record has. So they can be trained on another database's
leads first (``python -m seecgnet.mitbih.pretrain``, on MIT-BIH's two) and then handed to a 12-lead
network as its starting point (``--pretrained FILE`` of ``train_model.py`` and the
cross-validation). The rest of the network starts from its usual random weights.

The file is a ``torch.save`` of a dict: ``format`` (``FILE_FORMAT``), ``state`` (the lead-shared
layers' state dict: weights and batch-norm statistics), and ``about`` (what made it, for people).
It is only ever read by training.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from seecgnet.errors import SeecgnetError
from seecgnet.models.seecgnet import SEECGNet, is_lead_shared
from seecgnet.trained.settings import PRETRAINED_FORMAT

FILE_FORMAT = PRETRAINED_FORMAT


class PretrainedError(SeecgnetError, ValueError):
    """A pre-trained file cannot be read or does not fit the network; the message names the file."""


def lead_shared_state(network: nn.Module) -> dict[str, torch.Tensor]:
    """The lead-shared layers' entries of ``network``'s state dict (a SEECGNet, or a network whose
    keys are named like its lead-shared layers)."""
    return {
        name: value.detach().cpu().clone()
        for name, value in network.state_dict().items()
        if is_lead_shared(name)
    }


def save_lead_shared(network: nn.Module, path: str | Path, about: dict[str, Any]) -> None:
    """Write ``network``'s lead-shared layers to ``path``, with ``about`` (plain JSON values)."""
    state = lead_shared_state(network)
    if not state:
        raise PretrainedError(f"{path}: the network has no lead-shared layers to save")
    about = json.loads(json.dumps(about))  # plain values, which torch.load(weights_only) reads
    torch.save({"format": FILE_FORMAT, "state": state, "about": about}, Path(path))


def read_lead_shared(path: str | Path) -> dict[str, torch.Tensor]:
    """The lead-shared state dict held in ``path``; PretrainedError, naming it, if it is not one."""
    path = Path(path)
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as error:
        raise PretrainedError(f"{path}: no such pre-trained file") from error
    except OSError as error:
        raise PretrainedError(f"{path}: cannot read it ({error.strerror})") from error
    except Exception as error:  # torch raises pickle, zip and runtime errors alike for a bad file
        raise PretrainedError(
            f"{path}: not a pre-trained weights file ({type(error).__name__})"
        ) from error
    if not isinstance(saved, dict) or saved.get("format") != FILE_FORMAT:
        raise PretrainedError(
            f"{path}: not a pre-trained lead-shared weights file (expected format {FILE_FORMAT!r})"
        )
    state = saved.get("state")
    if not isinstance(state, dict) or not state:
        raise PretrainedError(f"{path}: holds no weights")
    return state


def load_lead_shared(network: nn.Module, path: str | Path) -> int:
    """Copy the lead-shared layers saved in ``path`` into ``network`` (an SE-ECGNet); the number
    of tensors copied. Every lead-shared tensor of the network must be in the file with its shape,
    and the file must hold nothing else; otherwise PretrainedError names the file and the first
    tensor that does not fit, and the network is left as it was."""
    if not isinstance(network, SEECGNet):
        raise PretrainedError(
            f"{path}: pre-trained lead-shared layers fit SE-ECGNet only, not "
            f"{type(network).__name__}"
        )
    state = read_lead_shared(path)
    wanted = lead_shared_state(network)
    for name, value in wanted.items():
        if name not in state:
            raise PretrainedError(f"{path}: lacks {name} (made for another network size?)")
        given = state[name]
        if not isinstance(given, torch.Tensor) or given.shape != value.shape:
            shape = tuple(given.shape) if isinstance(given, torch.Tensor) else type(given).__name__
            raise PretrainedError(
                f"{path}: {name} has shape {shape}, the network's is {tuple(value.shape)}"
            )
    extra = sorted(set(state) - set(wanted))
    if extra:
        raise PretrainedError(f"{path}: holds {extra[0]}, which this network lacks")
    network.load_state_dict(state, strict=False)
    return len(state)
