"""The rhythm expert: a small classifier of a beat's RR features alone, fitted before the network,
whose logits are added to the network's.

On patients it has not seen, a network that reads the beat's shape and its RR features together
learns the training patients' beats by their shape and under-uses the timing: out of fold on DS1
it found about half of the supraventricular beats that come early in a regular rhythm, where a
classifier of the RR ratios alone finds most of them (see docs/mitbih.md). So the timing gets its
own expert, fitted first on the training beats (class-weighted cross-entropy, full batches), then
frozen; the network is trained on the sum of its logits and the expert's, so it learns what the
timing does not already tell (the shape of V and F beats, S beats that do not come early), and at
prediction the sum decides. A product of the two experts' probabilities, in effect.

With ``s_by_timing``, the network's S logit is replaced by its N logit before the sum: the network
then says only how normal the QRS looks (N or S against V, F, Q), and the expert alone tells a
supraventricular beat from a normal one, by its timing. Trained freely, the network goes on to learn
the training patients' S beats by their shape (the P wave, its patient's usual QRS), which does
not carry over to new patients.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from seecgnet.mitbih.beats import AAMI_CLASSES

N, S = AAMI_CLASSES.index("N"), AAMI_CLASSES.index("S")

EXPERT_HIDDEN_UNITS = 32
EXPERT_STEPS = 300
EXPERT_LEARNING_RATE = 1e-2


class RhythmExpert(nn.Module):
    """RR features (B, n_rr), standardised, to logits (B, n_classes): one hidden ReLU layer.

    ``join(network_logits, rr)`` adds its logits, times ``weight``, to the network's (S taken from
    N first, with ``s_by_timing``); a weight below 1 limits how far the timing can overrule the
    shape.
    """

    def __init__(
        self,
        n_rr: int,
        n_classes: int,
        hidden_units: int = EXPERT_HIDDEN_UNITS,
        s_by_timing: bool = False,
    ) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(n_rr, hidden_units), nn.ReLU(), nn.Linear(hidden_units, n_classes)
        )
        self.s_by_timing = s_by_timing
        self.weight = 1.0

    def forward(self, rr: torch.Tensor) -> torch.Tensor:
        return self.layers(rr)

    def join(self, network_logits: torch.Tensor, rr: torch.Tensor) -> torch.Tensor:
        """The sum of the network's logits (B, n_classes) and the expert's for ``rr``."""
        if self.s_by_timing:
            tied = network_logits.clone()
            tied[:, S] = network_logits[:, N]
            network_logits = tied
        return network_logits + self.weight * self(rr)


def fit_rhythm_expert(
    rr: torch.Tensor,
    labels: torch.Tensor,
    weights: torch.Tensor,
    n_classes: int,
    seed: int,
    s_by_timing: bool = False,
) -> RhythmExpert:
    """The expert fitted on every training beat at once (``rr`` (n, n_rr) standardised, ``labels``
    (n,), the loss's class ``weights``), with Adam for EXPERT_STEPS steps; frozen, in eval mode."""
    generator_state = torch.get_rng_state()
    torch.manual_seed(seed)
    expert = RhythmExpert(rr.shape[1], n_classes, s_by_timing=s_by_timing)
    torch.set_rng_state(generator_state)  # the network's initial weights stay those of the seed
    optimiser = torch.optim.Adam(expert.parameters(), lr=EXPERT_LEARNING_RATE)
    for _ in range(EXPERT_STEPS):
        loss = F.cross_entropy(expert(rr), labels, weight=weights)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
    expert.requires_grad_(False)
    return expert.eval()
