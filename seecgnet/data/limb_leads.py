"""The six limb leads from any two of them.

The limb leads I, II, III, aVR, aVL and aVF all measure one electric field in the frontal plane,
from three electrodes: two of them fix it, and the others follow by Einthoven's law (III = II - I)
and Goldberger's definitions (aVR = -(I + II) / 2, aVL = I - II / 2, aVF = II - I / 2). An
electrocardiograph computes four of the six from two measured ones in just this way, so a record
with only I and II (the 2021 challenge's 2-lead set) holds the same information as one with all six.

:func:`complete_limb_leads` fills in the limb leads a (12, samples) signal lacks, when at least two
are present, and marks them present; the recorded leads are kept as they are. With more than two
present the missing ones come from a least-squares fit of I and II to all of them, which is the
exact answer for leads that obey the relations and the closest one for recorded leads that carry
their own noise.
"""

from __future__ import annotations

import numpy as np

from seecgnet.io.records import STANDARD_LEADS

# Each limb lead as a combination of leads I and II: lead = a * I + b * II.
LIMB_LEADS: dict[str, tuple[float, float]] = {
    "I": (1.0, 0.0),
    "II": (0.0, 1.0),
    "III": (-1.0, 1.0),
    "aVR": (-0.5, -0.5),
    "aVL": (1.0, -0.5),
    "aVF": (-0.5, 1.0),
}
_ROWS = np.array([STANDARD_LEADS.index(lead) for lead in LIMB_LEADS])
_COMBINATIONS = np.array(list(LIMB_LEADS.values()))  # (6, 2)


def complete_limb_leads(signal: np.ndarray, present: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``signal`` (12, samples) in the standard lead order with its absent limb leads computed
    from the present ones, and the presence (12,) bool with them marked present. Nothing changes
    when fewer than two limb leads are present or none is absent. The inputs are not modified."""
    present = np.asarray(present, dtype=bool)
    limb_present = present[_ROWS]
    if not _completes(limb_present):
        return signal, present
    known = _COMBINATIONS[limb_present]  # (k, 2): every pair of limb leads is independent
    basis, *_ = np.linalg.lstsq(known, signal[_ROWS[limb_present]].astype(np.float64), rcond=None)
    completed = signal.copy()
    missing = _ROWS[~limb_present]
    completed[missing] = (_COMBINATIONS[~limb_present] @ basis).astype(signal.dtype)
    now_present = present.copy()
    now_present[missing] = True
    return completed, now_present


def completed_presence(present: np.ndarray) -> np.ndarray:
    """The presence (12,) bool that ``complete_limb_leads`` makes of ``present``: every limb lead
    present where two or more are."""
    present = np.asarray(present, dtype=bool)
    if not _completes(present[_ROWS]):
        return present
    completed = present.copy()
    completed[_ROWS] = True
    return completed


def _completes(limb_present: np.ndarray) -> bool:
    """Whether limb leads are computed for a record holding ``limb_present`` (6,) bool."""
    return 2 <= int(limb_present.sum()) < len(limb_present)
