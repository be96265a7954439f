"""The comment lines of a WFDB header (``#Age: 63``, ``#Sex: Female``, ``#Dx: 164889003,...``), read
as the challenge writes them, and the same lines where other formats carry them (a CSV table's
``# age:`` lines, PTB's ``# sex: female``).

Keys are matched without case and the first of a repeated key counts (with a warning). What each
value gets: an age that is not a number or outside 0 to 120 years is unknown (NaN, with a warning);
a sex other than male/female (M/F, any case) is unknown; ``#Dx`` codes are kept as written,
stripped, with a warning for a missing line, an empty one, or codes that are not SNOMED CT numbers.
"""

from __future__ import annotations

import enum
import logging
import math
import re
from collections.abc import Iterable

logger = logging.getLogger("seecgnet.io.headers")  # the header's messages, as they always were

MAX_PLAUSIBLE_AGE_YEARS = 120.0
NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_SNOMED_CODE = re.compile(r"\d+", re.ASCII)
_UNKNOWN_WORDS = frozenset({"", "nan", "unknown"})


class Sex(enum.Enum):
    MALE = "Male"
    FEMALE = "Female"
    UNKNOWN = "Unknown"

    @classmethod
    def parse(cls, text: str | None) -> Sex:
        """``Male``/``M`` and ``Female``/``F`` in any case; anything else or nothing is UNKNOWN."""
        word = (text or "").strip().lower()
        if word in ("male", "m"):
            return cls.MALE
        if word in ("female", "f"):
            return cls.FEMALE
        return cls.UNKNOWN


def comment_demographics(
    lines: Iterable[str], where: str
) -> tuple[float, Sex, tuple[str, ...], dict[str, str]]:
    """(age, sex, codes, every ``#key: value``) of comment lines (``#Age: 63``, ``# sex: female``,
    ``#Dx: 164889003``), read as a header's are; for formats that write the same comments."""
    values = comment_values((line.strip() for line in lines), where)
    age = parse_age(values.get("age"), where)
    return age, parse_sex(values.get("sex"), where), parse_dx(values.get("dx"), where), values


def comment_values(lines: Iterable[str], where: str) -> dict[str, str]:
    """``#Key: value`` lines as {lower-case key: value}; the first of a repeated key counts."""
    values: dict[str, str] = {}
    for line in lines:
        key, colon, value = line.lstrip("#").partition(":")
        key = key.strip().lower()
        if not colon:
            continue
        if key not in values:
            values[key] = value.strip()
        elif key in ("age", "sex", "dx"):
            logger.warning("%s: a second #%s line; the first one counts", where, key.capitalize())
    return values


def parse_age(text: str | None, where: str) -> float:
    """Age in years; NaN when unknown, not a number, or implausible (a warning for the last two)."""
    if text is None or text.lower() in _UNKNOWN_WORDS:
        return math.nan
    if not re.fullmatch(NUMBER, text, re.ASCII):
        logger.warning("%s: #Age %r is not a number; age unknown", where, text)
        return math.nan
    age = float(text)
    if not 0 <= age <= MAX_PLAUSIBLE_AGE_YEARS:
        logger.warning(
            "%s: #Age %s is implausible (not 0 to %g years); age unknown",
            where,
            text,
            MAX_PLAUSIBLE_AGE_YEARS,
        )
        return math.nan
    return age


def parse_sex(text: str | None, where: str) -> Sex:
    sex = Sex.parse(text)
    if sex is Sex.UNKNOWN and text is not None and text.lower() not in _UNKNOWN_WORDS:
        logger.warning("%s: #Sex %r is neither male nor female; sex unknown", where, text)
    return sex


def parse_dx(text: str | None, where: str) -> tuple[str, ...]:
    """The ``#Dx`` codes as written: stripped, empty entries dropped."""
    if text is None:
        logger.warning("%s: no #Dx line; the record has no diagnosis codes", where)
        return ()
    codes = tuple(code.strip() for code in text.split(",") if code.strip())
    if not codes:
        logger.warning("%s: the #Dx line holds no code", where)
    odd = [code for code in codes if not _SNOMED_CODE.fullmatch(code)]
    if odd:
        logger.warning("%s: #Dx codes %s are not SNOMED CT numbers; kept as written", where, odd)
    return codes
