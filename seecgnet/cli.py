"""Command-line pieces shared by the entry scripts: logging set-up and the training options."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
from pathlib import Path

from seecgnet.baseline import BaselineSettings
from seecgnet.decision import DecisionSettings
from seecgnet.settings import Settings, TrainSettings


def default_cache_dir() -> Path:
    """The user's cache folder (XDG_CACHE_HOME, else ~/.cache), never the data folder."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "seecgnet"


def cache_dir_from_args(args: argparse.Namespace) -> Path | None:
    return None if args.no_cache else Path(args.cache_dir)


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )


def add_training_options(parser: argparse.ArgumentParser) -> None:
    """The options of train_model.py, shared with cross-validation."""
    defaults = TrainSettings()
    group = parser.add_argument_group("training")
    group.add_argument(
        "--epochs",
        type=int,
        default=defaults.epochs,
        help="passes over the data (default: %(default)s)",
    )
    group.add_argument(
        "--batch-size",
        type=int,
        default=defaults.batch_size,
        help="windows per step (default: %(default)s)",
    )
    group.add_argument(
        "--learning-rate",
        type=float,
        default=defaults.learning_rate,
        help="peak rate of the one-cycle schedule (default: %(default)s)",
    )
    group.add_argument(
        "--seed",
        type=int,
        default=defaults.seed,
        help="seed for splits, windows and weights (default: %(default)s)",
    )
    group.add_argument(
        "--device",
        default=defaults.device,
        help="'auto' (CUDA when present), 'cpu', 'cuda', 'cuda:1'... (default: %(default)s)",
    )
    group.add_argument(
        "--workers",
        type=int,
        default=defaults.workers,
        help="data loader worker processes (default: %(default)s)",
    )
    group.add_argument(
        "--validation-fraction",
        type=float,
        default=defaults.validation_fraction,
        help="training records held out to pick the best epoch (default: %(default)s)",
    )
    group.add_argument(
        "--architecture",
        choices=["seecgnet", "baseline"],
        default="seecgnet",
        help="SE-ECGNet, or the plain 1-D ResNet baseline (default: %(default)s)",
    )
    group.add_argument(
        "--decision",
        choices=["per_sample", "fixed", "per_class"],
        help="decision rule: the paper's per-sample max/divisor (default), a fixed 0.5, or "
        "per-class thresholds tuned on the validation records",
    )
    group.add_argument(
        "--settings",
        metavar="JSON",
        help="start from a settings.json (e.g. one saved in a model folder); the options above override it",
    )
    group.add_argument(
        "--cache-dir",
        default=str(default_cache_dir()),
        help="where the prepared records are cached for later epochs, folds and runs "
        "(default: %(default)s)",
    )
    group.add_argument(
        "--no-cache", action="store_true", help="hold the prepared records in memory instead"
    )
    group.add_argument("--quiet", action="store_true", help="no progress bars")


def settings_from_args(args: argparse.Namespace) -> Settings:
    """The resolved settings: a settings file if given, then the command-line options."""
    base = Settings.load(args.settings) if args.settings else Settings()
    if args.architecture != base.architecture:
        network = BaselineSettings() if args.architecture == "baseline" else Settings().network
        base = dataclasses.replace(base, architecture=args.architecture, network=network)
    training = dataclasses.replace(
        base.training,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        seed=args.seed,
        device=args.device,
        workers=args.workers,
        validation_fraction=args.validation_fraction,
    )
    base = dataclasses.replace(base, training=training)
    if args.decision:
        base = dataclasses.replace(base, decision=DecisionSettings(rule=args.decision))
    return base
