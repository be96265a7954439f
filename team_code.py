"""The challenge's functions, as its driver, training and test scripts call them.

Two interfaces sit side by side, on one model folder:

- the 2020 challenge's ``train_12ECG_classifier``, ``load_12ECG_model`` and
  ``run_12ECG_classifier``, called by ``train_model.py`` and ``driver.py``;
- the 2021 challenge's ``training_code``, ``load_model`` and ``run_model``, called by its
  ``train_model.py`` and ``test_model.py``: ``load_model`` once per lead set the records hold,
  ``run_model`` per record with the header file's text and the ``val`` matrix of the leads that
  header lists.

The method lives in the ``seecgnet`` package; these functions only translate the challenges'
calling conventions into it. The package is imported when a function is first called, so that
importing this file (or running it, which only explains it) is quick.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from seecgnet.inference.lead_set_model import LeadSetModel
    from seecgnet.inference.loading import LoadedModel
    from seecgnet.trained.settings import Settings


def train_12ECG_classifier(
    input_directory: str, output_directory: str, settings: Settings | None = None
) -> None:
    """Train on the records of ``input_directory`` and write the model folder ``output_directory``
    (a new or empty folder, or a model folder to replace; see ``train_model.py --help``)."""
    from seecgnet.trained.settings import Settings
    from seecgnet.training.data_folder import train_folder

    train_folder(input_directory, output_directory, settings or Settings())


def load_12ECG_model(input_directory: str) -> LoadedModel:
    """Load the model folder ``input_directory`` (on CUDA when present)."""
    from seecgnet.device import resolve_device
    from seecgnet.inference.loading import load_model as load_model_folder

    return load_model_folder(input_directory, device=resolve_device("auto"))


def run_12ECG_classifier(
    data: np.ndarray, header_data: list[str], model: LoadedModel
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Labels (0/1 ints), probabilities and class codes of one record given as the challenge does."""
    from seecgnet.io.records import record_from_challenge

    prediction = model.predictor.predict_record(record_from_challenge(data, header_data))
    return (
        prediction.labels.astype(int),
        prediction.probabilities.astype(float),
        list(model.classes.codes),
    )


def training_code(
    data_directory: str, model_directory: str, settings: Settings | None = None
) -> None:
    """The 2021 challenge's training function: one model folder ``model_directory`` that reads every
    lead set, trained on the records of ``data_directory`` as ``train_12ECG_classifier`` trains,
    and by default reading a record's missing limb leads as computed from two others
    (``--limb-leads``; the training itself is the same on 12-lead records)."""
    from seecgnet.trained.settings import Settings, with_limb_leads

    train_12ECG_classifier(data_directory, model_directory, settings or with_limb_leads(Settings()))


def load_model(model_directory: str, leads: Sequence[str]) -> LeadSetModel:
    """The model folder loaded to read ``leads`` (on CUDA when present).

    ``leads`` are standard lead names, matched without case; a name outside the twelve is a
    ValueError naming it. ``run_model`` then reads those leads of a record and no others: the
    record's other leads are dropped, and a lead of the set that the record lacks is absent. Of a
    routed model folder (``train_model.py --routed``) only the networks of the set's route load.
    """
    from seecgnet.device import resolve_device
    from seecgnet.inference.lead_set_model import load_lead_set_model

    return load_lead_set_model(model_directory, leads, device=resolve_device("auto"))


def run_model(
    model: LeadSetModel, header: str, recording: np.ndarray
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Class codes, labels (0/1 ints) and probabilities of one record given as the 2021 challenge
    does: ``header`` the header file's text, ``recording`` its ``val`` matrix (the header's leads ×
    samples, digital units). RecordError for a header or matrix that does not make a record."""
    from seecgnet.io.records import record_from_challenge

    prediction = model.predict_record(record_from_challenge(recording, header.splitlines()))
    return (
        list(model.classes),
        prediction.labels.astype(int),
        prediction.probabilities.astype(float),
    )


def main(argv: list[str] | None = None) -> int:
    """What running this file does: it says what it is (it is imported, not run)."""
    from seecgnet.cli import EXIT_OK, EXIT_USAGE, script_parser

    parser = script_parser(
        "team_code.py holds this entry's functions for the 2020 challenge, "
        "train_12ECG_classifier(input_directory, output_directory), "
        "load_12ECG_model(input_directory) and run_12ECG_classifier(data, header_data, model), "
        "and for the 2021 challenge, training_code(data_directory, model_directory), "
        "load_model(model_directory, leads) and run_model(model, header, recording), which "
        "reads any of the twelve leads (one model folder serves every lead set). "
        "The challenges' scripts import it; run on its own it prints this. To train, run "
        "'python train_model.py DATA MODEL'; to classify a folder of records, "
        "'python driver.py MODEL INPUT OUTPUT' (each explains itself with --help), or the 2021 "
        "challenge's 'python test_model.py MODEL DATA OUTPUTS' with this file's folder on PYTHONPATH.",
        {EXIT_OK: "this explanation was printed", EXIT_USAGE: "an argument it does not take"},
    )
    parser.parse_args(argv)
    parser.print_help()
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
