"""The challenge's three functions, as its driver and training scripts call them.

The method lives in the ``seecgnet`` package; these functions only translate the challenge's
calling conventions into it. The package is imported when a function is first called, so that
importing this file (or running it, which only explains it) is quick.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from seecgnet.model_folder import LoadedModel
    from seecgnet.training.settings import Settings


def train_12ECG_classifier(
    input_directory: str, output_directory: str, settings: Settings | None = None
) -> None:
    """Train on the records of ``input_directory`` and write the model folder ``output_directory``
    (a new or empty folder, or a model folder to replace; see ``train_model.py --help``)."""
    from seecgnet.pipeline import train_folder
    from seecgnet.training.settings import Settings

    train_folder(input_directory, output_directory, settings or Settings())


def load_12ECG_model(input_directory: str) -> LoadedModel:
    """Load the model folder ``input_directory`` (on CUDA when present)."""
    from seecgnet.device import resolve_device
    from seecgnet.model_folder import load_model

    return load_model(input_directory, device=resolve_device("auto"))


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


def main(argv: list[str] | None = None) -> int:
    """What running this file does: it says what it is (it is imported, not run)."""
    from seecgnet.cli import EXIT_OK, EXIT_USAGE, script_parser

    parser = script_parser(
        "team_code.py holds the challenge's three functions for this entry: "
        "train_12ECG_classifier(input_directory, output_directory), "
        "load_12ECG_model(input_directory) and run_12ECG_classifier(data, header_data, model). "
        "The challenge's scripts import it; run on its own it prints this. To train, run "
        "'python train_model.py DATA MODEL'; to classify a folder of records, "
        "'python driver.py MODEL INPUT OUTPUT' (each explains itself with --help).",
        {EXIT_OK: "this explanation was printed", EXIT_USAGE: "an argument it does not take"},
    )
    parser.parse_args(argv)
    parser.print_help()
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
