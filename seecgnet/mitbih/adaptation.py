"""The patient-specific protocol's adaptation: each test record's first minutes, with their
reference labels, fit the trained networks' classifier again for that patient, and the rest of the
record is tested.

The AAMI recommended practice for patient-specific methods (Hu et al. 1997; Kiranyaz et al. 2016)
gives a method the reference labels of the first 5 minutes of each test record, and leaves them
out of the test. Here, for each DS2 record and each trained model (one per fold, at the epoch and
with the offsets chosen on the folds):

1. the beats whose R peak comes before ``labelled_minutes`` are the patient's labelled beats, the
   others the tested beats (of the inter-patient model and of the adapted one alike);
2. the network's layers up to the pooling stay as trained; its classifier (the fully connected
   layers that read the pooled features and the RR features) is copied and fitted again for
   ``steps`` full-batch Adam steps on the cross-entropy of the labelled beats, the rhythm expert's
   logits added as in training, mixed with ``training_beats`` training beats (drawn once per run
   with probability N_c^-p, p the training's sampling power, so that rare classes are there),
   which weigh ``training_weight`` of the loss, so that the classifier keeps the classes the
   patient's first minutes lack;
3. the tested beats are decided with the adapted classifiers' probabilities averaged, and the
   offsets chosen on the folds.

Nothing is chosen on the tested beats, nor on any DS2 record: the steps, rate and mixture are
settings. The beat images and RR features of a tested beat are made as in every protocol, from the
whole record's signal (its typical beat, its rhythm), never from labels.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from seecgnet.mitbih.beats import AAMI_CLASSES, Beats
from seecgnet.mitbih.selection import log_probabilities
from seecgnet.mitbih.settings import AdaptationSettings
from seecgnet.mitbih.training import PREDICT_BATCH, TrainedBeatModel


def labelled_and_tested(
    beats: Beats, test: np.ndarray, minutes: float
) -> tuple[np.ndarray, np.ndarray]:
    """The ``test`` beats whose R peak comes before ``minutes`` into their record (labelled, for
    the adaptation) and the others (tested), both in ``test``'s order."""
    if beats.time_s is None:
        raise ValueError("the beats hold no R-peak times")
    before = beats.time_s[test] < 60.0 * minutes
    return test[before], test[~before]


def classifier_inputs(
    member: TrainedBeatModel, beats: Beats, indices: np.ndarray
) -> tuple[torch.Tensor, torch.Tensor]:
    """What the member's classifier reads for the beats in ``indices``, (n, features), and their
    standardised RR features, (n, n_rr)."""
    network = member.network.eval()
    captured: list[torch.Tensor] = []
    hook = network.classifier.register_forward_pre_hook(lambda _, args: captured.append(args[0]))
    rr_parts = []
    try:
        with torch.inference_mode():
            for start in range(0, len(indices), PREDICT_BATCH):
                chunk = indices[start : start + PREDICT_BATCH]
                x = torch.from_numpy(beats.windows[chunk]).unsqueeze(1)  # (B, 1, rows, T)
                rr = member.scaler(beats.rr[chunk])
                network(x, rr)
                rr_parts.append(rr)
    finally:
        hook.remove()
    if not captured:
        return torch.zeros(0, 0), torch.zeros(0, beats.rr.shape[1])
    # clones made outside inference mode, so that the adaptation's gradients may pass through them
    return torch.cat(captured).clone(), torch.cat(rr_parts).clone()


def head_logits(
    head: nn.Module, member: TrainedBeatModel, features: torch.Tensor, rr: torch.Tensor
) -> torch.Tensor:
    """The classifier's logits, with the member's rhythm expert's joined where it has one."""
    logits = head(features)
    return logits if member.expert is None else member.expert.join(logits, rr)


def adapt_classifier(
    member: TrainedBeatModel,
    patient: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    training: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    settings: AdaptationSettings,
    seed: int,
) -> nn.Module:
    """A copy of the member's classifier fitted on the ``patient``'s labelled beats and the
    ``training`` beats, each (features, RR, labels) (see the module's step 2)."""
    head = copy.deepcopy(member.network.classifier).train()
    head.requires_grad_(True)
    optimiser = torch.optim.Adam(head.parameters(), lr=settings.learning_rate)
    weight = settings.training_weight if len(training[2]) else 0.0
    generator_state = torch.get_rng_state()
    torch.manual_seed(seed)  # the dropout's draws
    for _ in range(settings.steps):
        loss = (1 - weight) * F.cross_entropy(head_logits(head, member, *patient[:2]), patient[2])
        if weight:
            loss = loss + weight * F.cross_entropy(
                head_logits(head, member, *training[:2]), training[2]
            )
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
    torch.set_rng_state(generator_state)
    return head.eval()


def training_sample(
    beats: Beats, train: np.ndarray, size: int, power: float, seed: int
) -> np.ndarray:
    """``size`` training beats (all where fewer) drawn without replacement, each with probability
    N_c^-power (N_c: its class's training beats), sorted."""
    if size >= len(train):
        return np.sort(train)
    counts = np.bincount(beats.labels[train])
    weights = counts[beats.labels[train]].astype(np.float64) ** -power
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(train, size=size, replace=False, p=weights / weights.sum()))


def adapted_log_p(
    members: list[TrainedBeatModel],
    beats: Beats,
    train: np.ndarray,
    labelled: np.ndarray,
    tested: np.ndarray,
    settings: AdaptationSettings,
    power: float,
    seed: int,
) -> np.ndarray:
    """log of the adapted members' probabilities averaged for the ``tested`` beats, (n, classes):
    each record's tested beats by the members adapted on its own ``labelled`` beats."""
    sample = training_sample(beats, train, settings.training_beats, power, seed)
    probabilities = np.zeros((len(tested), len(AAMI_CLASSES)))
    for m, member in enumerate(members):
        features, rr = classifier_inputs(member, beats, sample)
        training = (features, rr, torch.from_numpy(beats.labels[sample]))
        for record in np.unique(beats.record_index[tested]):
            mine = labelled[beats.record_index[labelled] == record]
            rows = np.flatnonzero(beats.record_index[tested] == record)
            head = member.network.classifier
            if len(mine):
                patient = (*classifier_inputs(member, beats, mine),
                           torch.from_numpy(beats.labels[mine]))  # fmt: skip
                head = adapt_classifier(member, patient, training, settings,
                                        seed * 100_003 + int(record) * 31 + m)  # fmt: skip
            tested_features, tested_rr = classifier_inputs(member, beats, tested[rows])
            with torch.inference_mode():
                logits = head_logits(head, member, tested_features, tested_rr).numpy()
            probabilities[rows] += np.exp(log_probabilities(logits))
    return np.log(np.maximum(probabilities / len(members), 1e-30))
