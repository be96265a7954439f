"""Subject-adversarial training: a second head must tell the training records apart from the beat
classifier's features, and the features are trained to defeat it.

A network trained on 22 patients learns what identifies each of them (electrode placement, the
shape of their usual beat) beside what tells beat types apart, and a new patient's beats fall
where none of the training patients' did. The record head reads the pooled convolutional features
(what the fully connected layers receive, less the RR features, which the network cannot change)
through a gradient reversal: the head learns to name the record, while the gradient that reaches
the convolutions is reversed and scaled by ``weight``, so they learn features that do not name it
(domain-adversarial training, Ganin and Lempitsky, 2015; with records as domains).
"""

from __future__ import annotations

import torch
from torch import nn


class GradientReversal(torch.autograd.Function):
    """Identity going forward; the gradient times -``scale`` going back."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, scale: float) -> torch.Tensor:
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return -ctx.scale * grad, None


class SubjectAdversary(nn.Module):
    """The beat classifier ``network`` and a record head on its pooled features.

    ``network`` is SE-ECGNet or the plain ResNet of the package: both end in ``classifier``, whose
    input is (pooled features, RR features). ``forward(x, rr)`` returns the beat logits (B, classes)
    and the record logits (B, n_records); ``reversal_scale`` sets how strongly the features are
    pushed away from naming the record (0 trains the head alone).
    """

    def __init__(self, network: nn.Module, n_records: int, hidden_units: int = 64) -> None:
        super().__init__()
        self.network = network
        first = next(m for m in network.classifier if isinstance(m, nn.Linear))
        in_features = first.in_features - network.settings.n_demographics
        self.head = nn.Sequential(
            nn.Linear(in_features, hidden_units),
            nn.ReLU(inplace=True),
            nn.Linear(hidden_units, n_records),
        )
        self.reversal_scale = 0.0
        self._features: torch.Tensor | None = None
        network.classifier.register_forward_pre_hook(self._keep_features)

    def _keep_features(self, module: nn.Module, inputs: tuple[torch.Tensor]) -> None:
        n_rr = self.network.settings.n_demographics
        self._features = inputs[0][:, :-n_rr]  # (B, pooled + n_rr) -> (B, pooled)

    def forward(self, x: torch.Tensor, rr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self.network(x, rr)
        reversed_features = GradientReversal.apply(self._features, self.reversal_scale)
        self._features = None
        return logits, self.head(reversed_features)
