"""Train SE-ECGNet on a folder of challenge records: python train_model.py DATA MODEL.

For several processes (GPUs, or CPU processes with gloo):
torchrun --nproc_per_node N train_model.py DATA MODEL
"""

from __future__ import annotations

import argparse
import functools
import logging
import sys

from seecgnet.cli import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    add_training_options,
    cache_dir_from_args,
    interruptible,
    labels_from_args,
    script_parser,
    settings_from_args,
    setup_logging,
    whole_number,
)
from seecgnet.destinations import check_input_folder
from seecgnet.errors import SeecgnetError, exit_with_error
from seecgnet.trained.ensemble import EnsembleRule
from seecgnet.trained.settings import Settings

log = logging.getLogger("train_model")

EXIT_CODES = {
    EXIT_OK: "the model folder was written",
    EXIT_USAGE: "wrong arguments, no readable record in DATA, bad settings, a device this "
    "machine lacks, a MODEL that is not a model folder (or is DATA, holds it or lies inside it), "
    "or a checkpoint that does not fit the run",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C): run the same command with --resume to continue",
}


@interruptible(
    "train_model.py", "run the same command with --resume to continue after the last whole epoch"
)
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.routes and not args.routed:
        parser.error("--routes goes with --routed")
    if args.routed and (args.any_leads or args.limb_leads):
        parser.error("--routed trains its networks by their own recipes: leave out --any-leads "
                     "and --limb-leads")  # fmt: skip
    try:
        settings = settings_from_args(args)
        if args.routed:
            from seecgnet.training.routed import load_routes

            args.routes = load_routes(args.routes)  # checked before any record is read
    except SeecgnetError as error:
        parser.error(str(error))
    try:
        check_input_folder(args.data, "folder of records")  # told before torch takes seconds
    except SeecgnetError as error:
        return exit_with_error("train_model.py", error)
    setup_logging()
    return _train(args, settings)


def build_parser() -> argparse.ArgumentParser:
    parser = script_parser(
        "Train SE-ECGNet on a folder of records (WFDB NAME.hea + NAME.mat or .dat, or the other "
        "formats of docs/formats.md, labelled by #Dx or --labels) and write a model folder that "
        "driver.py runs.",
        EXIT_CODES,
    )
    parser.add_argument("data", help="folder of training records")
    parser.add_argument(
        "model",
        help="model folder to write: a new or empty folder, or a model folder, which is replaced "
        "once the new model is complete (any other folder or file is refused)",
    )
    add_training_options(parser)
    parser.add_argument(
        "--folds",
        type=whole_number(1),
        default=1,
        help="train one network per stratified fold and save them all as an ensemble "
        "(default: %(default)s, a single network)",
    )
    parser.add_argument(
        "--ensemble",
        choices=[rule.value for rule in EnsembleRule],
        default=EnsembleRule.MEAN.value,
        help="how an ensemble combines its networks' probabilities (default: %(default)s)",
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue a killed run from its last checkpoint"
    )
    parser.add_argument(
        "--routed",
        action="store_true",
        help="write a routed model folder: two networks trained on the records, one reading "
        "missing limb leads as computed (as --limb-leads) and one for any lead subset (as "
        "--any-leads), each record served by its lead set's route (docs/lead_sets.md: 'Routed "
        "models'); it trains each network, so it takes about twice as long",
    )
    parser.add_argument(
        "--routes",
        metavar="JSON",
        help="with --routed: a routes file naming each lead set's networks and decision "
        "(default: all 12 leads to the limb-leads network, every other set to the any-leads one, "
        "as chosen by cross-validation)",
    )
    return parser


def _train(args: argparse.Namespace, settings: Settings) -> int:
    # imported once the arguments are known good: torch takes seconds to load
    from seecgnet.device import resolve_device
    from seecgnet.training.data_folder import train_folder
    from seecgnet.training.distributed import leave_process_group

    train = train_folder
    if args.routed:
        from seecgnet.training.routed import train_routed_folder

        train = functools.partial(train_routed_folder, routes=args.routes)
    try:
        resolve_device(settings.training.device)  # before any record is read
        report = train(
            args.data,
            args.model,
            settings,
            folds=args.folds,
            ensemble=EnsembleRule(args.ensemble),
            resume=args.resume,
            progress=not args.quiet,
            cache_dir=cache_dir_from_args(args),
            labels=labels_from_args(args),
        )
    except (SeecgnetError, OSError) as error:  # anything else is a bug: its traceback says where
        return exit_with_error("train_model.py", error)
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
