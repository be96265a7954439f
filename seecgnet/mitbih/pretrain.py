"""``python -m seecgnet.mitbih.pretrain MITDB OUT``: pre-train SE-ECGNet's lead-shared layers on the
MIT-BIH Arrhythmia Database's two leads and beat labels (:mod:`seecgnet.mitbih.lead_shared`), and
write them to OUT for ``train_model.py --pretrained OUT`` and the cross-validation's."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

from seecgnet.cli import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    interruptible,
    script_parser,
    setup_logging,
    whole_number,
)
from seecgnet.destinations import (
    DestinationError,
    InputPathError,
    OwnOutput,
    check_apart,
    check_input_folder,
    check_output_file,
    torch_file_holds,
)
from seecgnet.errors import SeecgnetError, exit_with_error
from seecgnet.mitbih.settings import AAMI_CLASSES, PretrainSettings
from seecgnet.trained.settings import PRETRAINED_FORMAT, Settings, SettingsError

log = logging.getLogger("seecgnet.mitbih.pretrain")

# The file this command writes, told by its contents: only such a file is ever replaced.
LAYERS_FILE = OwnOutput(
    "output file",
    lambda path: torch_file_holds(path, PRETRAINED_FORMAT),
    f"a file of pre-trained lead-shared layers, format {PRETRAINED_FORMAT}",
)

EXIT_CODES = {
    EXIT_OK: "the lead-shared layers were trained and OUT written",
    EXIT_USAGE: "wrong arguments, a data folder without MIT-BIH records, a bad settings file, or "
    "an OUT that is a folder, cannot be written, or is a file other than this command's own "
    "earlier output",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C): nothing was written; run the command again",
}


def build_parser() -> argparse.ArgumentParser:
    parser = script_parser(
        "Pre-train SE-ECGNet's lead-shared layers (the stem and the 2-D blocks, whose kernels "
        "read every lead alike) on 10-second windows of the MIT-BIH Arrhythmia Database's two "
        f"leads, resampled to 500 Hz, to tell which beat classes ({', '.join(AAMI_CLASSES)}) "
        "each window holds; write those layers to OUT, for train_model.py --pretrained OUT.",
        EXIT_CODES,
        prog="python -m seecgnet.mitbih.pretrain",
    )
    parser.add_argument("data", help="folder of MIT-BIH records (NAME.hea, NAME.dat, NAME.atr)")
    parser.add_argument(
        "out",
        help="file to write the lead-shared layers to, outside the data folder: a new file, or "
        "this command's earlier output, which is replaced (any other file is refused)",
    )
    defaults = PretrainSettings()
    for flag, kind, default, text in (
        ("--epochs", whole_number(1), defaults.epochs, "passes over the training records"),
        (
            "--windows-per-record",
            whole_number(1),
            defaults.windows_per_record,
            "random 10-second windows per record and epoch",
        ),
        ("--batch-size", whole_number(1), defaults.batch_size, "windows per step"),
        ("--learning-rate", float, defaults.learning_rate, "peak rate of the one-cycle schedule"),
        (
            "--holdout-every",
            whole_number(2),
            defaults.holdout_every,
            "hold out every N-th record, to watch the AUROC on records not trained on",
        ),
        ("--seed", int, defaults.seed, "seed for the windows and the weights"),
    ):
        parser.add_argument(flag, type=kind, default=default, help=f"{text} (default: {default})")
    parser.add_argument(
        "--settings",
        metavar="JSON",
        help="the challenge settings.json whose SE-ECGNet sizes the layers (default: the "
        "default network)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


@interruptible("pretrain", "nothing was written; run the command again")
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        challenge = Settings.load(args.settings) if args.settings else Settings()
        if challenge.architecture != "seecgnet":
            raise SettingsError(f"{args.settings}: not an SE-ECGNet's settings")
        check_input_folder(args.data, "folder of MIT-BIH records")
        check_apart(args.out, "output file", args.data, "data folder")
        check_output_file(args.out, LAYERS_FILE, reads=[args.settings or args.data])
    except (SettingsError, DestinationError, InputPathError) as error:
        parser.error(str(error))
    setup_logging()
    try:
        _run(args, challenge)
    # the package's expected errors; any other exception is a bug and keeps its traceback
    except (SeecgnetError, OSError) as error:
        return exit_with_error("pretrain", error)
    return EXIT_OK


def _run(args: argparse.Namespace, challenge: Settings) -> None:
    # imported once the arguments are known good: torch and wfdb take seconds to load
    from tqdm import tqdm

    from seecgnet.mitbih.beats import find_records
    from seecgnet.mitbih.lead_shared import pretrain, read_recording
    from seecgnet.training.pretrained import save_lead_shared

    settings = PretrainSettings(
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        windows_per_record=args.windows_per_record,
        holdout_every=args.holdout_every,
        seed=args.seed,
    )
    started = time.perf_counter()
    names = sorted(find_records(args.data))
    recordings = [
        read_recording(Path(args.data) / name, challenge.signal.fs_hz)
        for name in tqdm(names, desc="reading records", disable=args.quiet, leave=False)
    ]
    encoder, history = pretrain(recordings, challenge.network, settings, not args.quiet)
    about = {
        "data": "MIT-BIH Arrhythmia Database, beat classes per 10-second window",
        "records": names,
        "settings": dataclasses.asdict(settings),
        "history": [entry.to_plain() for entry in history],
    }
    out = Path(args.out)
    # written under a new hidden name beside OUT, then renamed: OUT is whole or untouched, and no
    # other file of the user's is ever written
    handle, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent)
    os.close(handle)
    try:
        save_lead_shared(encoder, name, about)
        Path(name).replace(out)
    finally:
        Path(name).unlink(missing_ok=True)
    log.info("%d records, %.0f s; lead-shared layers in %s", len(names),
             time.perf_counter() - started, out)  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
