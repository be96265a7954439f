"""python -m seecgnet.report MODEL RECORD [--out FILE]: one record's ECG report as PNG, PDF or HTML."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

from seecgnet.cli import EXIT_OK, EXIT_USAGE, script_parser, setup_logging

log = logging.getLogger("seecgnet.report")

EXIT_CODES = {
    EXIT_OK: "the report was written",
    EXIT_USAGE: "wrong arguments, an unusable model folder or record, an output file that cannot "
    "be written or has another suffix than .png, .pdf or .html, or a device this machine lacks",
}


def main(argv: list[str] | None = None) -> int:
    parser = script_parser(
        "Draw one record as a 12-lead ECG (3 × 4 leads and a lead II rhythm strip at 25 mm/s, "
        "10 mm/mV) with the model's diagnoses by name, probability and threshold, the reference "
        "#Dx marked agree/missed/extra, the 10 s window that fired each positive class, and each "
        "lead's importance by occlusion.",
        EXIT_CODES,
        prog="python -m seecgnet.report",
    )
    parser.add_argument("model", help="model folder written by train_model.py (e.g. model)")
    parser.add_argument("record", help="record to report: NAME.hea, NAME.mat or the path NAME")
    parser.add_argument(
        "--out",
        help="output file, .png, .pdf or .html by its suffix (default: NAME_report.png here)",
    )
    parser.add_argument(
        "--device",
        default="cpu",
        help="'cpu', 'cuda' or 'auto' (CUDA when present) (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    setup_logging()
    # imported once the arguments are known good: torch takes seconds to load
    from seecgnet.device import DeviceError, resolve_device
    from seecgnet.io.records import RecordError, read_record
    from seecgnet.model_folder import ModelFolderError, load_model
    from seecgnet.report.page import ReportError, build_report, save_report

    started = time.perf_counter()
    try:
        loaded = load_model(args.model, device=str(resolve_device(args.device)))
        record = read_record(args.record)
        out = Path(args.out) if args.out else Path(f"{record.name}_report.png")
        report = build_report(loaded, record)
        save_report(report, out)
    except (DeviceError, ModelFolderError, RecordError, ReportError, OSError) as error:
        print(f"seecgnet.report: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    positives = ", ".join(report.positive_abbreviations) or "none"
    log.info(
        "%s: %s; report written to %s in %.1f s",
        record.name,
        positives,
        out,
        time.perf_counter() - started,
    )
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
