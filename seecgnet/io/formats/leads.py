"""What every reader of another format shares: a lead's standard name from the label its file gives
it, and the one-line error for an optional library that is not installed.

Files name leads in many ways: ``II``, ``ii``, ``ECG II``, ``EKG V1``, ``Lead aVR``, ``Lead I
(Einthoven)`` (DICOM's code meanings), ``MDC_ECG_LEAD_AVR`` (IEEE 11073 codes, in HL7 aECG and
DICOM). :func:`standard_lead_name` reads each of them as one of the twelve standard leads, and
anything else (Frank leads ``vx``, a ``Resp`` channel, ``V7``) as None: a reader keeps only what it
can name, and never guesses a lead from its position.
"""

from __future__ import annotations

import importlib
import re
from types import ModuleType

from seecgnet.errors import SeecgnetError
from seecgnet.io.records import STANDARD_LEADS

_BY_KEY = {lead.upper(): lead for lead in STANDARD_LEADS}
# Words that only say "this is an ECG lead", before the lead's own name.
_PREFIX = re.compile(r"^(MDC_ECG_LEAD_|(ECG|EKG|LEAD)\b[\s_:.-]*)+", re.IGNORECASE)
# An explanation after the name: "Lead I (Einthoven)", "V1 [chest]".
_EXPLANATION = re.compile(r"\s*[(\[].*$")


class MissingLibraryError(SeecgnetError, ImportError):
    """A file needs an optional library that is not installed; the message says what to install."""


def standard_lead_name(label: str) -> str | None:
    """The standard lead (``"I"`` ... ``"V6"``) that ``label`` names, or None where it names none.

    Case, surrounding space, the words ECG/EKG/Lead, IEEE's ``MDC_ECG_LEAD_`` prefix and a trailing
    explanation in brackets are ignored: ``"ECG I"``, ``"lead avr"`` and ``"MDC_ECG_LEAD_AVR"`` are
    I and aVR; ``"vx"`` and ``"V7"`` are None.
    """
    text = _EXPLANATION.sub("", label.strip())
    text = _PREFIX.sub("", text).strip()
    key = re.sub(r"[\s_-]", "", text).upper()
    return _BY_KEY.get(key)


def optional_library(module: str, what: str) -> ModuleType:
    """Import ``module`` for reading ``what``; a MissingLibraryError names what to install if absent."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise MissingLibraryError(
            f"{what} needs the Python package {module}, which is not installed: "
            f'pip install "seecgnet[formats]"'
        ) from error
