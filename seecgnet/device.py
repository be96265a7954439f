"""Which torch device a run uses: the ``--device`` option of every command, checked once."""

from __future__ import annotations

import torch

from seecgnet.errors import SeecgnetError


class DeviceError(SeecgnetError, ValueError):
    """The device asked for is not a device name, or this machine does not have it."""


def resolve_device(name: str) -> torch.device:
    """'auto' takes CUDA when present; otherwise the named device, which must exist here."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as error:
        raise DeviceError(
            f"device {name!r}: not a device name (use 'auto', 'cpu', 'cuda' or 'cuda:N')"
        ) from error
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(
                f"device {name!r}: this machine has no usable CUDA device (or this torch build "
                "has no CUDA support); use 'cpu' or 'auto'"
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DeviceError(
                f"device {name!r}: this machine has {torch.cuda.device_count()} CUDA device(s), "
                f"numbered from 0"
            )
    return device
