"""Write records of any format read here in the challenge's format: python -m seecgnet.convert
INPUT OUTPUT.

INPUT is one record (a WFDB ``NAME.hea``, an EDF, DICOM, HL7 aECG or CSV file: docs/formats.md) or
a folder of them; OUTPUT is a folder, made if absent, that receives ``NAME.hea`` and ``NAME.mat``
per record, as the 2020 challenge wrote its data: the leads as read (standard names, in the
standard order), int16 samples at 1000 digital units per mV in a MATLAB v4 matrix ``val``, the
record line ``NAME LEADS FS SAMPLES``, and the comments ``#Age``, ``#Sex``, ``#Dx`` (SNOMED CT
codes, where the record carries them), ``#Rx``, ``#Hx``, ``#Sx`` (``Unknown``). The official 2020
harness, ``driver.py`` and the Docker image then run on OUTPUT unchanged.

Nothing of anyone else's is written over, by the rule every command follows
(:mod:`seecgnet.destinations`): each header written ends with the mark of
:mod:`seecgnet.io.own_records`, and a ``NAME.hea`` or ``NAME.mat`` already in OUTPUT is replaced
only where it is a record this command wrote and nobody changed since; any other, an OUTPUT that is
a file or the folder the records are read from, stops the command before any record is converted.
Samples beyond ±32.767 mV are clipped to int16 and NaN samples written as 0, each counted in a
warning. A record that cannot be read is logged in one line and skipped; the exit status says so.
"""

from __future__ import annotations

import argparse
import logging
import math
from pathlib import Path

import numpy as np
import scipy.io

from seecgnet.destinations import DestinationError, check_output_files
from seecgnet.errors import SeecgnetError, exit_with_error
from seecgnet.io.formats.dispatch import find_records, read_record, record_name
from seecgnet.io.headers import RecordError
from seecgnet.io.own_records import mark_record, own_records
from seecgnet.io.records import STANDARD_LEADS, Record, Sex

__all__ = ["GAIN_PER_MV", "main", "write_challenge_record"]

log = logging.getLogger("seecgnet.convert")

GAIN_PER_MV = 1000.0
# Who marks the records written here (see seecgnet.io.own_records).
WRITER = "python -m seecgnet.convert"
CONVERTED_RECORDS = own_records(WRITER)
EXIT_OK, EXIT_RECORDS_FAILED = 0, 1
_INT16 = np.iinfo(np.int16)


def write_challenge_record(record: Record, folder: Path) -> tuple[Path, Path]:
    """Write ``record`` as ``NAME.hea`` + ``NAME.mat`` into ``folder``, replacing what is there (the
    caller checks first), the header marked as this command's. Returns the two paths."""
    order = sorted(range(record.n_leads), key=lambda row: _lead_rank(record.lead_names[row]))
    signal = record.signal[order].astype(np.float64) * GAIN_PER_MV
    missing = ~np.isfinite(signal)
    if missing.any():
        log.warning("%s: %d NaN or infinite samples written as 0", record.name, missing.sum())
        signal[missing] = 0.0
    clipped = np.count_nonzero((signal < _INT16.min) | (signal > _INT16.max))
    if clipped:
        log.warning("%s: %d samples beyond ±32.767 mV clipped", record.name, clipped)
    digital = np.clip(np.round(signal), _INT16.min, _INT16.max).astype(np.int16)
    mat_path = folder / f"{record.name}.mat"
    header_path = folder / f"{record.name}.hea"
    lines = _header_lines(record, [record.lead_names[row] for row in order], digital)
    scipy.io.savemat(mat_path, {"val": digital}, format="4")
    header_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    mark_record(header_path, WRITER)
    return header_path, mat_path


def _lead_rank(lead: str) -> int:
    return STANDARD_LEADS.index(lead) if lead in STANDARD_LEADS else len(STANDARD_LEADS)


def _header_lines(record: Record, leads: list[str], digital: np.ndarray) -> list[str]:
    """The challenge's header: record line, one line per lead, then the comments."""
    fs = f"{record.fs_hz:g}" if record.fs_hz == round(record.fs_hz) else repr(record.fs_hz)
    lines = [f"{record.name} {len(leads)} {fs} {digital.shape[1]}"]
    for lead, row in zip(leads, digital, strict=True):
        checksum = int(row.astype(np.int64).sum()) % 65536
        checksum -= 65536 if checksum >= 32768 else 0
        first = int(row[0]) if row.size else 0
        lines.append(f"{record.name}.mat 16+24 {GAIN_PER_MV:g}/mV 16 0 {first} {checksum} 0 {lead}")
    # the 2020 harness reads the age with int(): a whole number, or NaN
    age = "NaN" if math.isnan(record.age) else str(round(record.age))
    sex = record.sex.value if record.sex is not Sex.UNKNOWN else "Unknown"
    return [
        *lines,
        f"#Age: {age}",
        f"#Sex: {sex}",
        f"#Dx: {','.join(record.dx_codes)}",
        "#Rx: Unknown",
        "#Hx: Unknown",
        "#Sx: Unknown",
    ]


def _inputs(source: Path) -> list[Path]:
    if source.is_dir():
        return find_records(source, require_signal=False)
    if not source.exists() and not source.with_name(source.name + ".hea").exists():
        raise RecordError(f"{source}: no such record or folder")
    return [source]


def _check_output(output: Path, source: Path, records: list[Path]) -> None:
    """Refuse an output that is a file, the folder the records are read from (its records would
    meet the written ones under one name), or holds a file of a record's name not written here."""
    read_from = source if source.is_dir() else source.absolute().parent
    if output.resolve() == read_from.resolve():
        raise DestinationError(
            f"{output}: the output folder cannot be the input folder; name another folder"
        )
    names = [f"{record_name(path)}{suffix}" for path in records for suffix in (".hea", ".mat")]
    check_output_files(output, names, CONVERTED_RECORDS)


def convert(source: Path, output: Path) -> tuple[int, int]:
    """Convert every record of ``source`` into ``output``: (records written, records unreadable)."""
    records = _inputs(source)
    if not records:
        raise RecordError(f"{source}: no records in a format read here")
    _check_output(output, source, records)
    output.mkdir(parents=True, exist_ok=True)
    failed = 0
    for path in records:
        try:
            record = read_record(path)
        except RecordError as error:
            log.error("%s; not converted", error)
            failed += 1
            continue
        write_challenge_record(record, output)
    return len(records) - failed, failed


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m seecgnet.convert",
        description="Write ECG records in the 2020 challenge's format (NAME.hea + MATLAB v4 "
        "NAME.mat, 1000 digital units per mV, #Age/#Sex/#Dx), so that the challenge's own code "
        "runs on them. Reads WFDB records (.mat or .dat signal files), EDF/EDF+/BDF, DICOM ECG, "
        "HL7 aECG and CSV, each recognised by its content (docs/formats.md). Nothing is written "
        "over: an existing NAME.hea or NAME.mat in OUTPUT is replaced only if this command wrote "
        "it and nobody changed it since; any other stops the run before any work.",
        epilog="exit codes: 0 every record written; 1 some records could not be read (each "
        "logged, the others written); 2 wrong arguments, an unusable input, or an output that "
        "would be written over",
    )
    parser.add_argument("input", type=Path, help="a record (NAME.hea or a file) or a folder")
    parser.add_argument("output", type=Path, help="folder for NAME.hea + NAME.mat, made if absent")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        written, failed = convert(args.input, args.output)
    except (SeecgnetError, OSError) as error:
        return exit_with_error("seecgnet.convert", error)
    log.info("%d records written to %s, %d could not be read", written, args.output, failed)
    return EXIT_RECORDS_FAILED if failed else EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
