"""Train SE-ECGNet on a folder of challenge records: python train_model.py DATA MODEL.

For several processes (GPUs, or CPU processes with gloo):
torchrun --nproc_per_node N train_model.py DATA MODEL
"""

from __future__ import annotations

import logging
import sys

from seecgnet.cli import (
    EXIT_OK,
    EXIT_USAGE,
    add_training_options,
    cache_dir_from_args,
    script_parser,
    settings_from_args,
    setup_logging,
)

log = logging.getLogger("train_model")

EXIT_CODES = {
    EXIT_OK: "the model folder was written",
    EXIT_USAGE: "wrong arguments, no readable record in DATA, bad settings, a device this "
    "machine lacks, or a checkpoint that does not fit the run",
}


def main(argv: list[str] | None = None) -> int:
    parser = script_parser(
        "Train SE-ECGNet on a folder of WFDB records (NAME.hea + NAME.mat) and write a model "
        "folder that driver.py runs.",
        EXIT_CODES,
    )
    parser.add_argument("data", help="folder of training records")
    parser.add_argument("model", help="model folder to write (replaced atomically when done)")
    add_training_options(parser)
    parser.add_argument(
        "--folds",
        type=int,
        default=1,
        help="train one network per stratified fold and save them all as an ensemble "
        "(default: %(default)s, a single network)",
    )
    parser.add_argument(
        "--ensemble",
        choices=["mean", "union"],
        default="mean",
        help="how an ensemble combines its networks' probabilities (default: %(default)s)",
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue a killed run from its last checkpoint"
    )
    args = parser.parse_args(argv)
    setup_logging()
    # imported once the arguments are known good: torch takes seconds to load
    from seecgnet.device import DeviceError, resolve_device
    from seecgnet.inference.prediction import EnsembleRule
    from seecgnet.io.records import RecordError
    from seecgnet.pipeline import NothingToTrainError, train_folder
    from seecgnet.training.checkpoint import CheckpointError
    from seecgnet.training.distributed import leave_process_group
    from seecgnet.training.settings import SettingsError

    try:
        settings = settings_from_args(args)
        resolve_device(settings.training.device)  # before any record is read
        report = train_folder(
            args.data,
            args.model,
            settings,
            folds=args.folds,
            ensemble=EnsembleRule(args.ensemble),
            resume=args.resume,
            progress=not args.quiet,
            cache_dir=cache_dir_from_args(args),
        )
    except (
        NothingToTrainError,
        CheckpointError,
        DeviceError,
        RecordError,
        SettingsError,
        FileNotFoundError,
        NotADirectoryError,
        PermissionError,
    ) as error:
        print(f"train_model.py: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        leave_process_group()
    if not report.best_epochs:  # a helper process of a distributed run: rank 0 reports
        return EXIT_OK
    log.info(
        "wrote %s: %d records (%d skipped), best epoch(s) %s, "
        "validation challenge metric(s) %s, %.0f s",
        report.model_dir,
        report.n_records,
        report.n_skipped,
        ", ".join(map(str, report.best_epochs)),
        ", ".join(f"{v:.3f}" for v in report.validation_challenge_metrics),
        report.seconds,
    )
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
