"""The beat classifiers: SE-ECGNet and the plain 1-D ResNet of the challenge package, sized for one
beat.

Both are the package's own networks (``seecgnet.models.seecgnet.SEECGNet``,
``seecgnet.models.baseline.PlainResNet1d``), built from settings for a (rows × T) beat image at
180 Hz instead of a (12 × 5000) record window at 500 Hz; the rows are the two leads and, by default,
their deviations from the record's typical beat (see :mod:`seecgnet.mitbih.beats`). The side input
that carries age and sex in the challenge network carries the beat's RR features here; it joins the
pooled features before the fully connected layers, as in the challenge network.

SE-ECGNet keeps every part: (1, k) kernels shared by all rows, the 3- and 5-sample branches,
pre-activation residual blocks with squeeze-and-excitation, first in 2-D across the leads then in
1-D, global max + average pooling. Widths and depths are ours, sized for about two million
multiply-adds per beat so that a protocol trains in minutes on two CPU cores.
"""

from __future__ import annotations

from seecgnet.mitbih.beats import AAMI_CLASSES, BeatSettings
from seecgnet.models.settings import BaselineSettings, NetworkSettings

ARCHITECTURES = ("seecgnet", "baseline")


def beat_network_settings(beat: BeatSettings) -> NetworkSettings:
    """SE-ECGNet for the (rows, T) beat images at 180 Hz that ``beat`` makes, its RR features as
    side input; the rows are the leads (and their deviations from the record's typical beat, and
    the neighbouring beats).

    Along time: stem 7 then 5 samples (stride 1, 2), one 2-D and one 1-D SE residual block per
    branch (stride 2 each), so a 126-sample window is pooled from 16 positions.
    """
    return NetworkSettings(
        n_leads=beat.n_rows,
        window_samples=beat.window_samples,
        n_demographics=len(beat.rr_names),
        n_classes=len(AAMI_CLASSES),
        stem_channels=(8, 16),
        stem_kernel_samples=(7, 5),
        stem_stride_samples=(1, 2),
        block2d_channels=(16,),
        block2d_stride_samples=(2,),
        block1d_channels=(64,),
        block1d_stride_samples=(2,),
        fc_hidden_units=64,
        dropout=0.2,
    )


def beat_baseline_settings(beat: BeatSettings) -> BaselineSettings:
    """The plain 1-D ResNet for the same beats: the rows as channels, one kernel size, no SE."""
    return BaselineSettings(
        n_leads=beat.n_rows,
        window_samples=beat.window_samples,
        n_demographics=len(beat.rr_names),
        n_classes=len(AAMI_CLASSES),
        stem_channels=32,
        stem_kernel_samples=7,
        stem_stride_samples=2,
        block_channels=(32, 64),
        block_stride_samples=(2, 2),
        block_kernel_samples=5,
        dropout=0.2,
    )


def beat_settings_for(architecture: str, beat: BeatSettings) -> NetworkSettings | BaselineSettings:
    """The settings of ``architecture`` ("seecgnet" or "baseline") for the beat images and RR
    features that ``beat`` makes."""
    if architecture == "seecgnet":
        return beat_network_settings(beat)
    if architecture == "baseline":
        return beat_baseline_settings(beat)
    raise ValueError(f"unknown architecture {architecture!r}: expected one of {ARCHITECTURES}")
