"""Run a trained model on a folder of records: python driver.py MODEL INPUT OUTPUT.

Writes one challenge-format NAME.csv per input record (#NAME, the classes, 0/1 labels,
probabilities). A record that cannot be read still gets an output, all negative, and a log line.
"""

from __future__ import annotations

import argparse
import logging
import sys

from seecgnet.cli import (
    CORES_PER_READER,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_RECORDS_FAILED,
    EXIT_USAGE,
    add_device_option,
    default_reading_workers,
    interruptible,
    script_parser,
    setup_logging,
    whole_number,
)
from seecgnet.destinations import check_folder_destination, check_input_folder
from seecgnet.errors import SeecgnetError, exit_with_error

log = logging.getLogger("driver")

EXIT_CODES = {
    EXIT_OK: "every record got its output file",
    EXIT_RECORDS_FAILED: "with --strict: some record could not be read (it got an all-negative output)",
    EXIT_USAGE: "wrong arguments, an unusable model, input or output folder (a file, the input "
    "folder, or one holding a NAME.csv that is not a challenge output), a device this machine "
    "lacks, or a run stopped after repeated failures in the network",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C): the records done so far have their outputs",
}


@interruptible(
    "driver.py",
    "the records done so far have their outputs; run the same command again to write them all",
)
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:  # told before torch takes seconds to load
        check_input_folder(args.input, "folder of records")
        check_folder_destination(args.output, "output folder")
    except SeecgnetError as error:
        return exit_with_error("driver.py", error)
    setup_logging()
    return _predict(args)


def build_parser() -> argparse.ArgumentParser:
    parser = script_parser(
        "Classify every record of INPUT (WFDB NAME.hea with NAME.mat or .dat files, EDF/BDF, "
        "DICOM, HL7 aECG or CSV, each recognised by its content: docs/formats.md; a folder may "
        "mix them) with the model folder MODEL and write one challenge-format NAME.csv per record "
        "into OUTPUT.",
        EXIT_CODES,
    )
    parser.add_argument("model", help="model folder written by train_model.py")
    parser.add_argument("input", help="folder of records to classify")
    parser.add_argument(
        "output",
        help="folder for the outputs, created once the model has loaded; an existing NAME.csv "
        "there is replaced only if it is a challenge output file of record NAME",
    )
    add_device_option(parser)
    parser.add_argument(
        "--strict", action="store_true", help="exit non-zero if any record could not be read"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--summary",
        action="store_true",
        help="also print one line per record: its positive diagnoses by abbreviation",
    )
    parser.add_argument(
        "--workers",
        type=whole_number(0),
        default=default_reading_workers(),
        help="processes that read and prepare records while the network runs; 0 reads in the "
        f"driver's own process (default: one per {CORES_PER_READER} cores, here %(default)s)",
    )
    return parser


def _predict(args: argparse.Namespace) -> int:
    # imported once the arguments are known good: torch takes seconds to load
    from seecgnet.device import resolve_device
    from seecgnet.inference.driver import predict_folder

    try:
        device = resolve_device(args.device)
        summary = predict_folder(
            args.model,
            args.input,
            args.output,
            device=str(device),
            progress=not args.quiet,
            workers=args.workers,
        )
    # anything else is a bug: its traceback says where; an OSError: an output folder that cannot
    # be written, a disk that is full
    except (SeecgnetError, OSError) as error:
        return exit_with_error("driver.py", error)
    log.info(
        "%d records: %d read, %d failed (all-negative outputs), %.1f s",
        summary.n_records,
        summary.n_records - summary.n_failed,
        summary.n_failed,
        summary.seconds,
    )
    if args.summary:
        from seecgnet.report.diagnoses import folder_summary

        unread = {name for name, _ in summary.failures}
        print("\n".join(folder_summary(args.input, args.output, unread)))
    if args.strict and summary.n_failed:
        return EXIT_RECORDS_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
