"""Command-line pieces shared by the entry scripts: parsers, logging set-up, the training options.

This module imports nothing heavy (no torch), so that ``--help`` and usage errors answer at once;
the scripts import the package's working modules only after their arguments are parsed.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import logging
import os
import signal
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from seecgnet import interrupts
from seecgnet.errors import EXIT_USAGE as EXIT_USAGE  # 2, as errors.exit_with_error ends
from seecgnet.io.labels import Labels, read_labels
from seecgnet.models.settings import ARCHITECTURE_NAMES, ARCHITECTURES
from seecgnet.trained.decision import DECISIONS
from seecgnet.trained.settings import (
    CPU_PRECISIONS,
    Settings,
    SettingsError,
    TrainSettings,
    any_leads,
    with_limb_leads,
)

# The meaning of an exit status is the same in every script; each lists the ones it uses.
EXIT_OK = 0
EXIT_RECORDS_FAILED = 1
EXIT_INTERRUPTED = 130  # the shell's own status for a command ended by Ctrl-C (128 + SIGINT)

Main = Callable[[list[str] | None], int]


def interruptible(prog: str, next_step: str) -> Callable[[Main], Main]:
    """A script's main function whose Ctrl-C ends it with one line instead of a traceback.

    The line names the script, says it was interrupted and what to do next (``next_step``: how to
    resume, or what was left), and the status is EXIT_INTERRUPTED.
    """

    def wrap(main: Main) -> Main:
        @functools.wraps(main)
        def run(argv: list[str] | None = None) -> int:
            with _interrupt_requests() as ignore_more:
                try:
                    return main(argv)
                except KeyboardInterrupt:
                    ignore_more()
                    # on a terminal the line starts below the progress bar and the echoed ^C
                    lead = "\n" if sys.stderr.isatty() else ""
                    print(f"{lead}{prog}: interrupted; {next_step}", file=sys.stderr)
                    return EXIT_INTERRUPTED

        return run

    return wrap


@contextlib.contextmanager
def _interrupt_requests() -> Iterator[Callable[[], None]]:
    """Ctrl-C raises KeyboardInterrupt as usual, and is also written down
    (:mod:`seecgnet.interrupts`), so that one raised where Python passes it over (a finaliser)
    still ends the run at the next step of its long work; a KeyboardInterrupt passed over that way
    prints nothing, nor does a finaliser that fails once Ctrl-C has come.

    Yields the function that ignores further Ctrl-C, for once the interrupt has been caught. Where
    SIGINT is ignored (a shell's background job) or not ours to handle (another thread), nothing
    changes.
    """
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield lambda: None
        return

    def interrupt(signum: int, frame: object) -> None:
        interrupts.request()
        raise KeyboardInterrupt

    def unraisable(report: sys.UnraisableHookArgs) -> None:
        # Once Ctrl-C has come, a finaliser's failure is what the interrupt left half-built (a
        # data loader's iterator stopped in its constructor fails in its destructor): not news.
        if report.exc_type is not KeyboardInterrupt and not interrupts.requested():
            previous_hook(report)

    previous_hook = sys.unraisablehook
    sys.unraisablehook = unraisable
    signal.signal(signal.SIGINT, interrupt)
    try:
        yield lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        sys.unraisablehook = previous_hook
        interrupts.clear()


CORES_PER_READER = 4


def default_reading_workers() -> int:
    """The driver's reading processes by default: one per CORES_PER_READER cores (none on a machine
    of fewer). Reading a record takes about 3.6 ms of CPU and the network several times that, so
    on a small machine a reader only takes a core from the network: on two idle cores, the 295
    shared records ran at 184 records/s read in the driver's own process, 149 with one reader and
    119 with two (``benchmarks/driver_folder.py --workers N``)."""
    return (os.cpu_count() or 1) // CORES_PER_READER


def whole_number(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer of at least ``minimum``, else a usage error saying so."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    parse.__name__ = "whole number"
    return parse


def one_of(choices: tuple[str, ...]) -> Callable[[str], str]:
    """An argparse type: one of ``choices``, else a usage error naming them."""

    def parse(text: str) -> str:
        if text not in choices:
            raise argparse.ArgumentTypeError(f"expected one of {', '.join(choices)}, got {text!r}")
        return text

    parse.__name__ = "choice"
    parse.choices = choices  # type: ignore[attr-defined]  # shown in --help by add_training_options
    return parse


def script_parser(
    description: str, exit_codes: Mapping[int, str], prog: str | None = None
) -> argparse.ArgumentParser:
    """An argument parser whose --help ends with the script's exit codes.

    argparse itself exits with 2 on a usage error; the scripts use 2 for every other input they
    cannot use as well (a missing folder, an unknown device), so that 2 always means "fix the call".
    """
    table = "\n".join(
        textwrap.fill(meaning, width=90, initial_indent=f"  {code:<3}  ", subsequent_indent=" " * 7)
        for code, meaning in sorted(exit_codes.items())
    )
    return argparse.ArgumentParser(
        prog=prog,
        description=textwrap.fill(description, width=90),
        epilog=f"exit codes:\n{table}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def default_cache_dir() -> Path:
    """The user's cache folder (XDG_CACHE_HOME, else ~/.cache), never the data folder."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "seecgnet"


def cache_dir_from_args(args: argparse.Namespace) -> Path | None:
    return None if args.no_cache else Path(args.cache_dir)


def labels_from_args(args: argparse.Namespace) -> Labels | None:
    """The labels file of --labels, read (a LabelsFileError names what is wrong in it)."""
    return None if args.labels is None else read_labels(args.labels)


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )


# Every command's --device: what it takes, and its default, the one training runs on.
DEVICE_HELP = "'auto' (CUDA when present), 'cpu', 'cuda', 'cuda:1'..."
DEFAULT_DEVICE = TrainSettings.device


def add_device_option(parser: argparse.ArgumentParser) -> None:
    """--device, for a command that runs a trained model, with training's default."""
    parser.add_argument(
        "--device", default=DEFAULT_DEVICE, help=f"{DEVICE_HELP} (default: %(default)s)"
    )


# The options of train_model.py that set a training setting each: the TrainSettings field of
# their name (--batch-size sets batch_size), its type, and what it is.
TRAINING_OPTIONS: tuple[tuple[str, Callable[[str], object], str], ...] = (
    ("epochs", whole_number(1), "passes over the data"),
    ("batch_size", whole_number(1), "windows per step"),
    ("learning_rate", float, "peak rate of the one-cycle schedule"),
    ("seed", int, "seed for splits, windows and weights"),
    ("device", str, DEVICE_HELP),
    ("workers", whole_number(0), "data loader worker processes"),
    ("validation_fraction", float, "training records held out to pick the best epoch"),
    (
        "precision",
        one_of(CPU_PRECISIONS),
        "arithmetic of training steps on the CPU: float32, or bf16 (the forward pass in bfloat16 "
        "autocast; weights and optimiser stay float32); on CUDA mixed precision is used either way",
    ),
)


def add_training_options(parser: argparse.ArgumentParser) -> None:
    """The options of train_model.py, shared with cross-validation.

    Options left out keep the value of --settings FILE, or the default when no file is given.
    """
    defaults = TrainSettings()
    group = parser.add_argument_group("training")
    for name, kind, text in TRAINING_OPTIONS:
        group.add_argument(
            f"--{name.replace('_', '-')}",
            type=kind,
            choices=getattr(kind, "choices", None),
            default=None,
            help=f"{text} (default: {getattr(defaults, name)})",
        )
    add_method_options(group)
    group.add_argument(
        "--settings",
        metavar="JSON",
        help="start from a settings.json (e.g. one saved in a model folder); the options given "
        "on the command line override it",
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
    group.add_argument(
        "--labels",
        metavar="CSV",
        help="a labels file (a header row 'record,dx', then one row per record: its name and its "
        "SNOMED CT codes) giving the codes of the records it names, for formats without #Dx "
        "(docs/formats.md); a record with no code here nor in its file is skipped and counted",
    )
    group.add_argument("--quiet", action="store_true", help="no progress bars")


def add_method_options(group: argparse._ArgumentGroup) -> None:
    """The training options that choose the method: the network, the decision rule, any leads."""
    group.add_argument(
        "--architecture",
        choices=list(ARCHITECTURES),
        default=None,
        help="the network, at its default size: "
        + ", ".join(f"{name} ({title})" for name, title in ARCHITECTURE_NAMES.items())
        + f" (default: {Settings.architecture})",
    )
    group.add_argument(
        "--decision",
        choices=[rule.value for rule in DECISIONS],
        help="decision rule: "
        + "; ".join(f"{rule.value}, {decision.summary}" for rule, decision in DECISIONS.items())
        + " (a settings file's values of the rule's parameters are kept)",
    )
    group.add_argument(
        "--any-leads",
        action="store_true",
        help="one network for any subset of the 12 leads: it is told which leads a record holds "
        "and half of the training windows keep only one of the 2021 challenge's lead sets "
        "(docs/method.md: 'Any lead subset, one network'); it computes missing limb leads too, as "
        "--limb-leads does",
    )
    group.add_argument(
        "--limb-leads",
        action="store_true",
        help="a record (or training window) with two or more of the six limb leads gets the "
        "others computed from them (III = II - I and the augmented leads), so a record of "
        "leads I and II reads as one of all six (default: missing leads are absent)",
    )
    group.add_argument(
        "--pretrained",
        metavar="FILE",
        help="start SE-ECGNet's lead-shared layers (stem and 2-D blocks) from this file, made by "
        "python -m seecgnet.mitbih.pretrain; the file is only read (default: random weights)",
    )


def settings_from_args(args: argparse.Namespace) -> Settings:
    """The resolved settings: a settings file if given, then the options given on the command line."""
    base = Settings.load(args.settings) if args.settings else Settings()
    if args.architecture is not None and args.architecture != base.architecture:
        network = ARCHITECTURES[args.architecture]()
        # another network than the file's: its pre-trained layers, if any, are not this one's
        training = dataclasses.replace(base.training, pretrained="")
        base = dataclasses.replace(
            base, architecture=args.architecture, network=network, training=training
        )
    given = {
        name: getattr(args, name)
        for name, _, _ in TRAINING_OPTIONS
        if getattr(args, name) is not None
    }
    base = dataclasses.replace(base, training=_with_options(base.training, given))
    if args.decision:
        base = dataclasses.replace(base, decision=base.decision.with_rule(args.decision))
    if args.pretrained:
        base = with_pretrained(base, args.pretrained)
    if args.limb_leads:
        base = with_limb_leads(base)
    return any_leads(base) if args.any_leads else base


def _with_options(training: TrainSettings, given: dict[str, object]) -> TrainSettings:
    """``training`` with the options given on the command line; an error names the option as the
    user typed it (--validation-fraction), not the settings field it sets."""
    try:
        return dataclasses.replace(training, **given)
    except SettingsError as error:
        message = str(error)
        for name in given:
            if message.startswith(name):
                message = f"--{name.replace('_', '-')}{message[len(name) :]}"
        raise SettingsError(message) from error


def with_pretrained(settings: Settings, path: str) -> Settings:
    """``settings`` that start SE-ECGNet's lead-shared layers from the file ``path``."""
    if settings.architecture != "seecgnet":
        raise SettingsError(
            f"--pretrained {path}: only SE-ECGNet has lead-shared layers, not "
            f"{settings.architecture}"
        )
    if not Path(path).is_file():
        raise SettingsError(f"--pretrained {path}: no such file")
    training = dataclasses.replace(settings.training, pretrained=str(path))
    return dataclasses.replace(settings, training=training)
