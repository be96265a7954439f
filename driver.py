"""Run a trained model on a folder of records: python driver.py MODEL INPUT OUTPUT.

Writes one challenge-format NAME.csv per input record (#NAME, the classes, 0/1 labels,
probabilities). A record that cannot be read still gets an output, all negative, and a log line.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from seecgnet.cli import setup_logging
from seecgnet.model_folder import ModelFolderError
from seecgnet.pipeline import NoRecordsError, PredictionError, predict_folder
from seecgnet.records import RecordError
from seecgnet.training import resolve_device

log = logging.getLogger("driver")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Classify every record (NAME.hea + NAME.mat) of INPUT with the model folder "
        "MODEL and write one challenge-format NAME.csv per record into OUTPUT.",
    )
    parser.add_argument("model", help="model folder written by train_model.py")
    parser.add_argument("input", help="folder of records to classify")
    parser.add_argument("output", help="folder for the outputs (created if needed)")
    parser.add_argument(
        "--device",
        default="auto",
        help="'auto' (CUDA when present), 'cpu', 'cuda' (default: %(default)s)",
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit non-zero if any record could not be read"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="processes that read and prepare records while the network runs; 0 reads in the "
        "driver's own process (default: the machine's cores, %(default)s)",
    )
    args = parser.parse_args(argv)
    if args.workers < 0:
        parser.error(f"--workers must be 0 or more, got {args.workers}")
    setup_logging()
    try:
        summary = predict_folder(
            args.model,
            args.input,
            args.output,
            device=str(resolve_device(args.device)),
            progress=not args.quiet,
            workers=args.workers,
        )
    except (ModelFolderError, RecordError, NoRecordsError, PredictionError, OSError) as error:
        # OSError: an output folder that cannot be made or written, a model folder we cannot read
        print(f"driver.py: error: {error}", file=sys.stderr)
        return 2
    log.info(
        "%d records: %d read, %d failed (all-negative outputs), %.1f s",
        summary.n_records,
        summary.n_records - summary.n_failed,
        summary.n_failed,
        summary.seconds,
    )
    if args.strict and summary.n_failed:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
