"""How the networks of a model folder are combined: the ensemble rule its model.json names."""

from __future__ import annotations

from enum import Enum


class EnsembleRule(str, Enum):
    MEAN = "mean"  # average the members' record probabilities
    UNION = "union"  # any member: the largest of the members' record probabilities
