"""The challenge's three functions, as its driver and training scripts call them.

The method lives in the ``seecgnet`` package; these functions only translate the challenge's
calling conventions into it.
"""

from __future__ import annotations

import numpy as np

from seecgnet.device import resolve_device
from seecgnet.io.records import record_from_challenge
from seecgnet.model_folder import LoadedModel, load_model
from seecgnet.pipeline import train_folder
from seecgnet.training.settings import Settings


def train_12ECG_classifier(
    input_directory: str, output_directory: str, settings: Settings | None = None
) -> None:
    """Train on the records of ``input_directory`` and write the model folder ``output_directory``."""
    train_folder(input_directory, output_directory, settings or Settings())


def load_12ECG_model(input_directory: str) -> LoadedModel:
    """Load the model folder ``input_directory`` (on CUDA when present)."""
    return load_model(input_directory, device=resolve_device("auto"))


def run_12ECG_classifier(
    data: np.ndarray, header_data: list[str], model: LoadedModel
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Labels (0/1 ints), probabilities and class codes of one record given as the challenge does."""
    prediction = model.predictor.predict_record(record_from_challenge(data, header_data))
    return (
        prediction.labels.astype(int),
        prediction.probabilities.astype(float),
        list(model.classes.codes),
    )
