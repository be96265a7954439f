"""The rhythm expert: a small classifier of a beat's RR features alone, fitted before the network,
whose logits are added to the network's.

On patients it has not seen, a network that reads the beat's shape and its RR features together
learns the training patients' beats by their shape and under-uses the timing: out of fold on DS1
it found about half of the supraventricular beats that come early in a regular rhythm, where a
classifier of the RR ratios alone finds most of them (see the README). So the timing gets its own
expert, fitted first on the training beats (class-weighted cross-entropy, full batches), then
frozen; the network is trained on the sum of its logits and the expert's, so it learns what the
timing does not already tell (the shape of V and F beats, S beats that do not come early), and at
prediction the sum decides. A product of the two experts' probabilities, in effect.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

EXPERT_HIDDEN_UNITS = 32
EXPERT_STEPS = 300
EXPERT_LEARNING_RATE = 1e-2


class RhythmExpert(nn.Module):
    """RR features (B, n_rr), standardised, to logits (B, n_classes): one hidden ReLU layer."""

    def __init__(self, n_rr: int, n_classes: int, hidden_units: int = EXPERT_HIDDEN_UNITS) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(n_rr, hidden_units), nn.ReLU(), nn.Linear(hidden_units, n_classes)
        )

    def forward(self, rr: torch.Tensor) -> torch.Tensor:
        return self.layers(rr)


def fit_rhythm_expert(
    rr: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor, n_classes: int, seed: int
) -> RhythmExpert:
    """The expert fitted on every training beat at once (``rr`` (n, n_rr) standardised, ``labels``
    (n,), the loss's class ``weights``), with Adam for EXPERT_STEPS steps; frozen, in eval mode."""
    generator_state = torch.get_rng_state()
    torch.manual_seed(seed)
    expert = RhythmExpert(rr.shape[1], n_classes)
    torch.set_rng_state(generator_state)  # the network's initial weights stay those of the seed
    optimiser = torch.optim.Adam(expert.parameters(), lr=EXPERT_LEARNING_RATE)
    for _ in range(EXPERT_STEPS):
        loss = F.cross_entropy(expert(rr), labels, weight=weights)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
    expert.requires_grad_(False)
    return expert.eval()
