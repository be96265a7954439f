"""python -m seecgnet.report MODEL RECORD [--out FILE]: one record's ECG report as PNG, PDF or HTML."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from seecgnet.cli import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    add_device_option,
    interruptible,
    script_parser,
    setup_logging,
)
from seecgnet.destinations import DestinationError, check_output_file
from seecgnet.errors import SeecgnetError, exit_with_error
from seecgnet.report.files import REPORT_FILE

log = logging.getLogger("seecgnet.report")

EXIT_CODES = {
    EXIT_OK: "the report was written",
    EXIT_USAGE: "wrong arguments, an unusable model folder or record, an output file that cannot "
    "be written, has another suffix than .png, .pdf or .html, or exists and is not a report this "
    "command wrote (or, without --out, a NAME_report.png that exists already), or a device this "
    "machine lacks",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C): no report was written",
}


@interruptible("python -m seecgnet.report", "run it again to write the report")
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging()
    try:
        out = _report_file(args.record, args.out)
    except SeecgnetError as error:
        return exit_with_error("seecgnet.report", error)
    return _report(args, out)


def build_parser() -> argparse.ArgumentParser:
    parser = script_parser(
        "Draw one record as a 12-lead ECG (3 × 4 leads and a lead II rhythm strip at 25 mm/s, "
        "10 mm/mV) with the model's diagnoses by name, probability and threshold, the reference "
        "#Dx marked agree/missed/extra, the 10 s window that fired each positive class, and each "
        "lead's importance by occlusion.",
        EXIT_CODES,
        prog="python -m seecgnet.report",
    )
    parser.add_argument("model", help="model folder written by train_model.py (e.g. model)")
    parser.add_argument(
        "record",
        help="record to report: NAME.hea, NAME.mat or the path NAME of a WFDB record, or a "
        "file in another format read (docs/formats.md)",
    )
    parser.add_argument(
        "--out",
        help="output file, .png, .pdf or .html by its suffix: a new file, or a report this command "
        "wrote, which is replaced (any other file is refused; default: NAME_report.png here, "
        "which must not exist yet)",
    )
    add_device_option(parser)
    return parser


def _report(args: argparse.Namespace, out: Path) -> int:
    # imported once the arguments are known good: torch takes seconds to load
    from seecgnet.device import resolve_device
    from seecgnet.inference.loading import load_model
    from seecgnet.io.formats.dispatch import read_record
    from seecgnet.report.page import build_report, save_report

    started = time.perf_counter()
    try:
        loaded = load_model(args.model, device=str(resolve_device(args.device)))
        record = read_record(args.record)
        report = build_report(loaded, record)
        save_report(report, out)
    except (SeecgnetError, OSError) as error:  # anything else is a bug: its traceback says where
        return exit_with_error("seecgnet.report", error)
    positives = ", ".join(report.positive_abbreviations) or "none"
    log.info(
        "%s: %s; report written to %s in %.1f s",
        record.name,
        positives,
        out,
        time.perf_counter() - started,
    )
    return EXIT_OK


def _report_file(record: str, out: str | None) -> Path:
    """Where the report goes: ``out`` (new, or a report this command wrote, which is replaced), or
    NAME_report.png in the current folder, which is never replaced since the user did not name
    it."""
    given = Path(record)
    # NAME.hea, NAME.mat, NAME.csv ... or the path NAME of a WFDB record
    base = given.with_suffix("") if given.suffix in (".hea", ".mat") or given.is_file() else given
    if out is None:
        path = Path(f"{base.name}_report.png")
        if path.exists():
            raise DestinationError(
                f"{path} exists already: give --out {path} to replace it, or another file"
            )
    else:
        path = Path(out)
    reads = [given, *(base.with_suffix(suffix) for suffix in (".hea", ".mat", ".dat"))]
    check_output_file(path, REPORT_FILE, reads)
    return path


if __name__ == "__main__":
    raise SystemExit(main())
