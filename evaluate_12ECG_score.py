#!/usr/bin/env python
"""Score a folder of challenge output files against a folder of label headers.

    python evaluate_12ECG_score.py LABELS OUTPUTS                    print the scores
    python evaluate_12ECG_score.py LABELS OUTPUTS scores.csv         write the scores
    python evaluate_12ECG_score.py LABELS OUTPUTS scores.csv class_scores.csv

The files are written exactly as the official 2020 scorer writes them. The method lives in
``seecgnet.challenge.scoring``; ``from evaluate_12ECG_score import evaluate_12ECG_score`` works as
with the official script.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from seecgnet.challenge.classes import load_scored_classes
from seecgnet.challenge.scoring import (
    SCORES_HEADER,
    evaluate_12ECG_score,
    format_class_scores,
    format_scores,
    score_directories,
)
from seecgnet.cli import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, interruptible, script_parser
from seecgnet.destinations import (
    DestinationError,
    OwnOutput,
    check_output_file,
    first_line_is,
)
from seecgnet.errors import SeecgnetError, exit_with_error

__all__ = ["evaluate_12ECG_score", "main"]

DEFAULT_WEIGHTS = Path(__file__).resolve().parent / "weights.csv"

# The scores files this script writes, told from any other file by their first line; only these
# are ever replaced.
SCORES_FILE = OwnOutput(
    "scores file",
    lambda path: first_line_is(path, lambda line: line == SCORES_HEADER.encode()),
    f"whose first line is {SCORES_HEADER}",
)
CLASS_SCORES_FILE = OwnOutput(
    "class scores file",
    lambda path: first_line_is(path, lambda line: line.startswith(b"Classes,")),
    "whose first line starts with Classes,",
)

EXIT_CODES = {
    EXIT_OK: "the scores were printed or written",
    EXIT_USAGE: "wrong arguments, a missing or malformed label, output or weights file, or a "
    "scores file that cannot be written (a folder, one of the files scored, the same file "
    "named twice, a package file, or an existing file that is not a scores file this script "
    "wrote)",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
}


@interruptible("evaluate_12ECG_score.py", "run it again to score")
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        _check_score_files(args)
    except SeecgnetError as error:
        return exit_with_error(parser.prog, error)
    return _score(args, parser.prog)


def build_parser() -> argparse.ArgumentParser:
    parser = script_parser(__doc__.split("\n\n")[0], EXIT_CODES)
    parser.add_argument("labels", type=Path, help="folder of label headers (NAME.hea)")
    parser.add_argument("outputs", type=Path, help="folder of output files (NAME.csv)")
    parser.add_argument("scores_csv", type=Path, nargs="?", help="write the scores here")
    parser.add_argument(
        "class_scores_csv", type=Path, nargs="?", help="write the per-class scores here"
    )
    parser.add_argument(
        "--weights",
        type=Path,
        default=DEFAULT_WEIGHTS,
        help="the challenge's weights.csv (default: the one beside this script)",
    )
    return parser


def _score(args: argparse.Namespace, prog: str) -> int:
    try:
        scores = score_directories(args.labels, args.outputs, load_scored_classes(args.weights))
    except SeecgnetError as error:  # anything else is a bug: its traceback says where
        return exit_with_error(prog, error)
    if args.scores_csv is None:
        print(format_scores(scores))
        return EXIT_OK
    written = [(args.scores_csv, format_scores(scores))]
    if args.class_scores_csv is not None:
        written.append((args.class_scores_csv, format_class_scores(scores)))
    for path, text in written:
        try:
            path.write_text(text, encoding="utf-8", newline="")
        except OSError as error:
            print(f"{prog}: error: cannot write {path}: {error.strerror}", file=sys.stderr)
            return EXIT_USAGE
    return EXIT_OK


def _check_score_files(args: argparse.Namespace) -> None:
    """The scores files the user named: files, not the same one twice, none of the files scored
    (the weights, a recording's label header or its output file), new or this script's own earlier
    scores, checked before scoring."""
    named = [path for path in (args.scores_csv, args.class_scores_csv) if path is not None]
    if len(named) == 2 and named[0].resolve() == named[1].resolve():
        raise DestinationError(f"{named[0]}: named for both the scores and the class scores")
    for path, kind in zip(named, (SCORES_FILE, CLASS_SCORES_FILE), strict=False):
        recording = args.labels / f"{path.stem}.hea"
        scored = [recording, args.outputs / f"{path.stem}.csv"] if recording.is_file() else []
        check_output_file(path, kind, [args.weights, *scored])


if __name__ == "__main__":
    sys.exit(main())
