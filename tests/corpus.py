"""A corpus of messy and broken records, written into a folder, with what reading each must give.

Every entry starts from a clean synthetic record (``write_synthetic_record`` with its defaults: 12
leads in the standard order, 500 Hz, 10 s, age 60, male, ``#Dx: 426783006``) and spoils one thing.
``outcome`` says what :func:`seecgnet.io.records.read_record` must make of it: a :class:`Readable`
record with the fields that differ from the clean one and the one warning it logs, or an
:class:`Unreadable` one with the file its RecordError names and the problem.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.io

from seecgnet.io.records import STANDARD_LEADS, Sex
from seecgnet.io.synthetic import ATRIAL_FIBRILLATION, SINUS_RHYTHM, write_synthetic_record

ABNORMAL_QRS = "164951009"  # a SNOMED CT code that the challenge does not score
SHUFFLED_LEADS = ("V6", "aVL", "I", "V1", "III", "aVF", "V3", "II", "V2", "aVR", "V5", "V4")
WITHOUT_V3 = tuple(lead for lead in STANDARD_LEADS if lead != "V3")
# Where the samples_nan_inf entry puts its NaN and infinite samples: (lead row, sample).
NAN_SAMPLES = tuple((1, sample) for sample in range(100, 110))
INFINITE_SAMPLES = ((7, 50), (7, 51))
FIRST_LINE = "{stem} 12 500 5000 01-Jan-2020 00:00:00"

Writer = Callable[[Path, str], None]


@dataclass(frozen=True)
class Readable:
    """The record reads with these fields and logs exactly one warning matching ``warning`` (a
    regular expression), or none when that is None."""

    warning: str | None = None
    name: str | None = None  # None: the file's name
    lead_names: tuple[str, ...] = STANDARD_LEADS
    fs_hz: float = 500.0
    n_samples: int = 5000
    age: float = 60.0
    sex: Sex = Sex.MALE
    dx_codes: tuple[str, ...] = (SINUS_RHYTHM,)


@dataclass(frozen=True)
class Unreadable:
    """Reading raises RecordError naming the ``.hea`` or ``.mat`` (``names``) and the ``problem``
    (a regular expression)."""

    names: str
    problem: str


@dataclass(frozen=True)
class CorpusEntry:
    stem: str  # the file's name without extension; ASCII stems double as test ids
    description: str
    write: Writer
    outcome: Readable | Unreadable

    def header(self, folder: Path) -> Path:
        return folder / f"{self.stem}.hea"


def write_corpus(folder: Path) -> Path:
    """Write every entry of CORPUS into ``folder`` (made if missing); return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for entry in CORPUS:
        entry.write(folder, entry.stem)
    return folder


# ----- how entries are written -----


def _clean(**options: object) -> Writer:
    def write(folder: Path, stem: str) -> None:
        write_synthetic_record(folder, stem, **options)

    return write


def _lines(change: Callable[[list[str], str], list[str]], **options: object) -> Writer:
    """A clean record whose header lines are change(lines, stem)."""

    def write(folder: Path, stem: str) -> None:
        header = write_synthetic_record(folder, stem, **options)
        lines = change(header.read_text(encoding="ascii").splitlines(), stem)
        header.write_text("\n".join(lines) + "\n", encoding="ascii")

    return write


def _replace(old: str, new: str, **options: object) -> Writer:
    """A clean record whose header has its first ``old`` replaced by ``new``; ``{stem}`` in either
    stands for the record's name."""

    def change(lines: list[str], stem: str) -> list[str]:
        text = "\n".join(lines)
        before, after = old.format(stem=stem), new.format(stem=stem)
        if before not in text:
            raise ValueError(f"record {stem}: {before!r} is not in its header")
        return text.replace(before, after, 1).split("\n")

    return _lines(change, **options)


def _lead_line(lead: str, change: Callable[[str], str | None]) -> Writer:
    """A clean record whose lead line for ``lead`` becomes change(line), or goes when None."""

    def edit(lines: list[str], _stem: str) -> list[str]:
        edited = []
        for line in lines:
            if line.endswith(f" 0 {lead}"):
                line = change(line)
            if line is not None:
                edited.append(line)
        return edited

    return _lines(edit)


def _header_bytes(make: Callable[[bytes], bytes]) -> Writer:
    """A clean record whose header's bytes are make(the clean header's bytes)."""

    def write(folder: Path, stem: str) -> None:
        header = write_synthetic_record(folder, stem)
        header.write_bytes(make(header.read_bytes()))

    return write


def _mat_bytes(make: Callable[[bytes], bytes]) -> Writer:
    """A clean record whose .mat bytes are make(the clean .mat's bytes)."""

    def write(folder: Path, stem: str) -> None:
        mat = write_synthetic_record(folder, stem).with_suffix(".mat")
        mat.write_bytes(make(mat.read_bytes()))

    return write


def _matrices(make: Callable[[np.ndarray], dict[str, np.ndarray]], mat_format: str = "4") -> Writer:
    """A clean record whose .mat holds the matrices make(the clean int16 val) instead."""

    def write(folder: Path, stem: str) -> None:
        mat = write_synthetic_record(folder, stem).with_suffix(".mat")
        val = scipy.io.loadmat(mat)["val"]
        scipy.io.savemat(mat, make(val), format=mat_format)

    return write


def _renamed(header_encoding: str) -> Writer:
    """A clean record under a name WFDB does not allow, written in the header in that encoding."""

    def write(folder: Path, stem: str) -> None:
        placeholder = "PLACEHOLDER"
        header = write_synthetic_record(folder, placeholder)
        text = header.read_text(encoding="ascii").replace(placeholder, stem)
        (folder / f"{stem}.hea").write_bytes(text.encode(header_encoding))
        header.with_suffix(".mat").rename(folder / f"{stem}.mat")
        header.unlink()

    return write


def _without_mat(folder: Path, stem: str) -> None:
    write_synthetic_record(folder, stem).with_suffix(".mat").unlink()


def _with_non_finite(val: np.ndarray) -> dict[str, np.ndarray]:
    values = val.astype(np.float64)
    for row, sample in NAN_SAMPLES:
        values[row, sample] = np.nan
    (row, first), (_, second) = INFINITE_SAMPLES
    values[row, first], values[row, second] = np.inf, -np.inf
    return {"val": values}


def _with_flat_v4(val: np.ndarray) -> dict[str, np.ndarray]:
    flat = val.copy()
    flat[STANDARD_LEADS.index("V4")] = 0
    return {"val": flat}


def _gain(new: str) -> Callable[[str], str]:
    return lambda line: line.replace(" 1000/mV ", f" {new} ")


# ----- the corpus -----

_MAT_ENTRIES = (
    CorpusEntry(
        "mat_missing",
        ".mat missing",
        _without_mat,
        Unreadable(".mat", "no such .mat file"),
    ),
    CorpusEntry(
        "mat_empty",
        ".mat empty (0 bytes)",
        _mat_bytes(lambda _: b""),
        Unreadable(".mat", "empty .mat file"),
    ),
    CorpusEntry(
        "mat_truncated",
        ".mat cut to half its length",
        _mat_bytes(lambda data: data[: len(data) // 2]),
        Unreadable(".mat", r"truncated: matrix 'val' of 12 × 5000 int16 needs 120000 bytes"),
    ),
    CorpusEntry(
        "mat_header_cut",
        ".mat cut inside its 20-byte matrix header",
        _mat_bytes(lambda data: data[:10]),
        Unreadable(".mat", "truncated: a matrix header at byte 0 is cut short"),
    ),
    CorpusEntry(
        "mat_not_matlab",
        ".mat that is a text file",
        _mat_bytes(lambda _: b"this is not a MATLAB file\n" * 4),
        Unreadable(".mat", "not a MATLAB v4 file"),
    ),
    CorpusEntry(
        "mat_version_5",
        ".mat in MATLAB 5 format",
        _matrices(lambda val: {"val": val}, mat_format="5"),
        Unreadable(".mat", "a MATLAB 5 or later file .*; challenge records are MATLAB v4"),
    ),
    CorpusEntry(
        "mat_without_val",
        ".mat whose matrix is not named val",
        _matrices(lambda val: {"signal": val}),
        Unreadable(".mat", r"no matrix named 'val' \(found \['signal'\]\)"),
    ),
    CorpusEntry(
        "mat_11_leads",
        "matrix of 11 leads under a 12-lead header",
        _matrices(lambda val: {"val": val[:11]}),
        Unreadable(".mat", r"signal matrix is \(11, 5000\) but the header gives 12 leads"),
    ),
    CorpusEntry(
        "mat_fewer_samples",
        "matrix with fewer samples than the header says",
        _matrices(lambda val: {"val": val[:, :4000]}),
        Unreadable(".mat", r"\(12, 4000\) but the header gives 12 leads × 5000 samples"),
    ),
    CorpusEntry(
        "samples_nan_inf",
        "float64 matrix with NaN and infinite samples",
        _matrices(_with_non_finite),
        Readable(warning=r"12 samples are NaN or infinite, in leads II, V2; kept as read"),
    ),
    CorpusEntry(
        "lead_flat",
        "a flat lead (V4 all zero)",
        _matrices(_with_flat_v4),
        Readable(warning="leads V4 are flat"),
    ),
)

_HEADER_ENTRIES = (
    CorpusEntry(
        "header_empty",
        "empty header file",
        _header_bytes(lambda _: b""),
        Unreadable(".hea", "empty header file"),
    ),
    CorpusEntry(
        "header_binary",
        "header that is binary garbage",
        _header_bytes(lambda _: np.random.default_rng(6).bytes(2048) + b"\0"),
        Unreadable(".hea", r"binary data \(NUL bytes\), not a text header"),
    ),
    CorpusEntry(
        "header_only_comments",
        "header holding only comment lines",
        _header_bytes(lambda _: b"#Age: 60\n#Sex: Male\n#Dx: 426783006\n"),
        Unreadable(".hea", "no record line"),
    ),
    CorpusEntry(
        "first_line_name_only",
        "first line with the record name only",
        _replace(FIRST_LINE, "{stem}"),
        Unreadable(".hea", "record line 'first_line_name_only' gives no number of leads"),
    ),
    CorpusEntry(
        "first_line_no_rate",
        "first line without sampling rate and number of samples",
        _replace(FIRST_LINE, "{stem} 12"),
        Unreadable(".hea", "record line 'first_line_no_rate 12' gives no sampling rate"),
    ),
    CorpusEntry(
        "first_line_no_samples",
        "first line without the number of samples",
        _replace(FIRST_LINE, "{stem} 12 500"),
        Readable(warning="the header gives no number of samples; the matrix's 5000 are used"),
    ),
    CorpusEntry(
        "first_line_file_name",
        "first line naming the file (E00018.mat 12 500 ...)",
        _replace("{stem} 12 500", "{stem}.mat 12 500"),
        Readable(),
    ),
    CorpusEntry(
        "first_line_other_record",
        "first line naming another record",
        _replace("{stem} 12 500", "B0001 12 500"),
        Readable(warning="names its record 'B0001'; the file's name 'first_line_other_record'"),
    ),
    CorpusEntry(
        "first_line_rate_not_a_number",
        "sampling rate that is not a number",
        _replace("{stem} 12 500", "{stem} 12 fast"),
        Unreadable(".hea", "sampling rate 'fast' is not a positive number of Hz"),
    ),
    CorpusEntry(
        "crlf_line_ends",
        "CR LF line ends",
        _header_bytes(lambda data: data.replace(b"\n", b"\r\n")),
        Readable(),
    ),
    CorpusEntry(
        "lead_line_missing",
        "one lead line fewer than the first line announces",
        _lead_line("V2", lambda _: None),
        Unreadable(".hea", "the record line announces 12 leads but 11 lead lines follow"),
    ),
    CorpusEntry(
        "lead_line_cut",
        "lead line cut after its storage format (no gain, no lead name)",
        _lead_line("I", lambda line: line.split(" 1000/mV")[0]),
        Unreadable(".hea", r"lead line 1 'lead_line_cut\.mat 16\+24' names no lead"),
    ),
    CorpusEntry(
        "leads_shuffled",
        "leads in another order",
        _clean(lead_order=SHUFFLED_LEADS),
        Readable(lead_names=SHUFFLED_LEADS),
    ),
    CorpusEntry(
        "lead_missing",
        "a lead missing (11 leads, header and matrix agreeing)",
        _clean(lead_order=WITHOUT_V3),
        Readable(lead_names=WITHOUT_V3),
    ),
    CorpusEntry(
        "units_lower_case",
        "units written mv",
        _replace("1000/mV", "1000/mv"),
        Readable(),
    ),
    CorpusEntry(
        "units_microvolts",
        "units other than mV",
        _lead_line("V5", _gain("1000/uV")),
        Unreadable(".hea", "lead V5 is in 'uV'; only mV is supported"),
    ),
    CorpusEntry(
        "gain_zero",
        "gain 0 in lead V2",
        _lead_line("V2", _gain("0/mV")),
        Readable(warning="lead V2 has no gain \\(uncalibrated\\); assuming WFDB's 200"),
    ),
    CorpusEntry(
        "gain_missing",
        "gain number missing in lead V3 (/mV)",
        _lead_line("V3", _gain("/mV")),
        Readable(warning="lead V3 has no gain \\(uncalibrated\\); assuming WFDB's 200"),
    ),
    CorpusEntry(
        "gain_not_a_number",
        "gain NaN",
        _lead_line("V1", _gain("NaN/mV")),
        Unreadable(".hea", "gain field 'NaN/mV' is not GAIN"),
    ),
    CorpusEntry(
        "rec 0001",
        "a space in the file's and the header's record name",
        _renamed("utf-8"),
        Readable(),
    ),
    CorpusEntry(
        "Ä0001",
        "a non-ASCII letter in the file's and the header's record name (UTF-8)",
        _renamed("utf-8"),
        Readable(),
    ),
    CorpusEntry(
        "Ö0002",
        "a non-ASCII letter in the name, written in Latin-1 inside the header",
        _renamed("latin-1"),
        Readable(warning="names its record '\ufffd0002'; the file's name 'Ö0002' is used"),
    ),
    CorpusEntry(
        "latin1_comment",
        "Latin-1 bytes in a comment line",
        _header_bytes(lambda data: data.replace(b"#Sx: Unknown", b"#Sx: M\xfcdigkeit (caf\xe9)")),
        Readable(),
    ),
)

_LENGTH_ENTRIES = (
    CorpusEntry(
        "short_2s",
        "a record of 2 s",
        _clean(duration_s=2.0),
        Readable(n_samples=1000),
    ),
    CorpusEntry(
        "long_30min_257hz",
        "a record of 30 min at 257 Hz",
        _clean(fs_hz=257, duration_s=1800.0),
        Readable(fs_hz=257.0, n_samples=462600),
    ),
)

_COMMENT_ENTRIES = (
    CorpusEntry("age_nan", "#Age: NaN", _clean(age=math.nan), Readable(age=math.nan)),
    CorpusEntry(
        "age_unknown",
        "#Age: Unknown",
        _replace("#Age: 60", "#Age: Unknown"),
        Readable(age=math.nan),
    ),
    CorpusEntry(
        "age_negative",
        "#Age: -5",
        _clean(age=-5.0),
        Readable(age=math.nan, warning="#Age -5 is implausible"),
    ),
    CorpusEntry(
        "age_200",
        "#Age: 200",
        _clean(age=200.0),
        Readable(age=math.nan, warning="#Age 200 is implausible"),
    ),
    CorpusEntry(
        "age_word",
        "#Age: sixty",
        _replace("#Age: 60", "#Age: sixty"),
        Readable(age=math.nan, warning="#Age 'sixty' is not a number"),
    ),
    CorpusEntry("age_line_missing", "no #Age line", _clean(age=None), Readable(age=math.nan)),
    CorpusEntry("sex_nan", "#Sex: NaN", _clean(sex="NaN"), Readable(sex=Sex.UNKNOWN)),
    CorpusEntry("sex_unknown", "#Sex: Unknown", _clean(sex="Unknown"), Readable(sex=Sex.UNKNOWN)),
    CorpusEntry("sex_lower_case", "#Sex: female", _clean(sex="female"), Readable(sex=Sex.FEMALE)),
    CorpusEntry(
        "sex_other_word",
        "#Sex: X",
        _clean(sex="X"),
        Readable(sex=Sex.UNKNOWN, warning="#Sex 'X' is neither male nor female"),
    ),
    CorpusEntry(
        "sex_line_missing",
        "no #Sex line",
        _replace("#Sex: Male\n", ""),
        Readable(sex=Sex.UNKNOWN),
    ),
    CorpusEntry(
        "dx_line_missing",
        "no #Dx line",
        _replace("#Dx: 426783006\n", ""),
        Readable(dx_codes=(), warning="no #Dx line; the record has no diagnosis codes"),
    ),
    CorpusEntry(
        "dx_empty",
        "#Dx: with no code",
        _clean(dx_codes=()),
        Readable(dx_codes=(), warning="the #Dx line holds no code"),
    ),
    CorpusEntry(
        "dx_empty_entries",
        "#Dx: 164889003,, 426783006, (empty entries, a space)",
        _clean(dx_codes=(ATRIAL_FIBRILLATION, "", " " + SINUS_RHYTHM, "")),
        Readable(dx_codes=(ATRIAL_FIBRILLATION, SINUS_RHYTHM)),
    ),
    CorpusEntry(
        "dx_unscored_only",
        "#Dx holding only a code the challenge does not score",
        _clean(dx_codes=(ABNORMAL_QRS,)),
        Readable(dx_codes=(ABNORMAL_QRS,)),
    ),
    CorpusEntry(
        "dx_not_a_code",
        "#Dx: Unknown",
        _clean(dx_codes=("Unknown",)),
        Readable(dx_codes=("Unknown",), warning=r"#Dx codes \['Unknown'\] are not SNOMED CT"),
    ),
    CorpusEntry(
        "dx_line_twice",
        "two #Dx lines",
        _replace("#Dx: 426783006", "#Dx: 426783006\n#Dx: 164889003"),
        Readable(warning="a second #Dx line; the first one counts"),
    ),
)

CORPUS: tuple[CorpusEntry, ...] = (
    CorpusEntry("clean", "a clean record (the reference)", _clean(), Readable()),
    *_MAT_ENTRIES,
    *_HEADER_ENTRIES,
    *_LENGTH_ENTRIES,
    *_COMMENT_ENTRIES,
)
