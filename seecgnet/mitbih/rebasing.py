"""Re-basing the RR features: the patient's reference rhythm moved, as though another rhythm were
the patient's usual one.

Most RR features divide a beat's intervals by a reference of the same record (the 10-beat mean,
the 1- and 5-minute medians, the record's mean; see :mod:`seecgnet.mitbih.rhythm`). They tell a
premature supraventricular beat because, in most patients, the usual rhythm is normal and an S
beat comes early against it. In a patient whose usual rhythm *is* supraventricular (most beats S,
the normal ones late after pauses), the S beats sit at the reference and look normal, and the N
beats look late. No DS1 record is like that, so the DS1 validation cannot show the failure.

Re-basing by a factor f multiplies every reference by f: the features divided by a reference are
divided by f, a reference in seconds is multiplied by it, the intervals themselves (in seconds)
and their ratio to each other (after over before) are kept. Two uses:

- the re-based validation copy: each held-out record with at least REBASE_MIN_S_BEATS S beats,
  re-based by its S factor, the median over its S beats of (RR before / record's mean RR) over the
  same median over all its beats, so that its S beats' median interval becomes the reference: the
  record as it would look were S its usual rhythm (the intervals after the beat keep their
  ratio to the one before, so an S beat's longer pause after it is still there). Where the beat
  images hold the template rows (each lead minus the record's median beat), those are made again
  against the median of the record's S beats, the patient's typical beat were S the usual rhythm.
  With ``runs``, each S beat's interval after is also made as long as the one before, as in a
  run of S beats in their own rhythm (DS1's S beats mostly come alone, with a longer pause after);
- training-time augmentation (``rebase_share``): a share of the training beats re-based by a
  factor drawn from [REBASE_LOW, 1], labels unchanged, so that "early against the patient" is
  not enough to call S; with ``rebase_template``, those of records holding S beats also get their
  template rows made against the median of their record's S beats.
"""

from __future__ import annotations

import numpy as np

# features divided by a reference of the record (name parts), and references given in seconds
DIVIDED_PARTS = ("_over_local", "_over_record", "_over_median_", "irregularity_", "rr_before_")
DIVIDED_PARTS += ("rr_after_",)
REFERENCE_SECONDS = ("local_rr_s", "record_rr_s")
# a held-out record is re-based from its S beats when it holds at least this many
REBASE_MIN_S_BEATS = 20
# training factors are drawn from [REBASE_LOW, 1]: DS1's S beats come at about 0.76 of the median
REBASE_LOW = 0.6
PRE_OVER_RECORD = "pre_over_record"


def reference_masks(names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks over the RR columns ``names``: those divided by a reference, and the
    references in seconds."""
    divided = np.array([any(part in n for part in DIVIDED_PARTS) for n in names], dtype=bool)
    seconds = np.isin(np.asarray(names, dtype=object), REFERENCE_SECONDS)
    return divided, seconds


def rebase_rr(rr: np.ndarray, names: tuple[str, ...], factor: float | np.ndarray) -> np.ndarray:
    """``rr`` (n, len(names)) with every reference multiplied by ``factor`` (a number or (n,)):
    a new array, float32."""
    divided, seconds = reference_masks(names)
    factor = np.broadcast_to(np.asarray(factor, dtype=np.float64), (len(rr),))[:, None]
    rebased = np.asarray(rr, dtype=np.float64).copy()
    rebased[:, divided] /= factor
    rebased[:, seconds] *= factor
    return rebased.astype(np.float32)


def s_rhythm_factor(rr: np.ndarray, names: tuple[str, ...], labels: np.ndarray, s: int) -> float:
    """The factor that makes one record's S beats (class ``s``) its usual rhythm: the median of
    their RR before over the record's mean, over the same median of all its beats; NaN where the
    record holds fewer than REBASE_MIN_S_BEATS S beats."""
    is_s = np.asarray(labels) == s
    if is_s.sum() < REBASE_MIN_S_BEATS:
        return float("nan")
    pre = rr[:, names.index(PRE_OVER_RECORD)]
    return float(np.median(pre[is_s]) / np.median(pre))


def as_runs(rr: np.ndarray, names: tuple[str, ...], is_s: np.ndarray) -> np.ndarray:
    """``rr`` with the beats ``is_s`` given an interval after equal to the one before: after over
    before 1, each after-over-reference its before-over-reference, after in s the before."""
    rebased = rr.copy()
    for k, name in enumerate(names):
        if name == "post_over_pre":
            rebased[is_s, k] = 1.0
        elif name.startswith("post_"):
            rebased[is_s, k] = rr[is_s, names.index("pre_" + name[len("post_") :])]
    return rebased


def rebase_template(windows: np.ndarray, is_s: np.ndarray) -> np.ndarray:
    """One record's beat images (n, rows, T) whose rows 2 and 3 are its leads (rows 0 and 1) minus
    its median beat, with those rows made against the median of its S beats (``is_s``) instead."""
    rebased = windows.copy()
    rebased[:, 2:4] = windows[:, :2] - np.median(windows[is_s, :2], axis=0)
    return rebased


def rebased_validation(
    rr: np.ndarray,
    names: tuple[str, ...],
    labels: np.ndarray,
    record_index: np.ndarray,
    indices: np.ndarray,
    s: int,
    windows: np.ndarray | None = None,
    runs: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The re-based copy of the beats ``indices``: the positions (into ``indices``) of the beats of
    records with at least REBASE_MIN_S_BEATS S beats among them, their RR features, each record
    re-based by its own S factor, shape (len(positions), len(names)), and, given ``windows`` (all
    beats' images with template rows), their images with the template rows re-based (else None).
    With ``runs``, the S beats' intervals after are made those before (``as_runs``)."""
    records = record_index[indices]
    positions, parts, images = [], [], []
    for record in np.unique(records):
        mine = np.flatnonzero(records == record)
        chosen = indices[mine]
        factor = s_rhythm_factor(rr[chosen], names, labels[chosen], s)
        if np.isfinite(factor):
            positions.append(mine)
            rebased = rebase_rr(rr[chosen], names, factor)
            parts.append(as_runs(rebased, names, labels[chosen] == s) if runs else rebased)
            if windows is not None:
                images.append(rebase_template(windows[chosen], labels[chosen] == s))
    if not positions:
        empty = None if windows is None else windows[:0]
        return np.zeros(0, dtype=np.int64), np.zeros((0, len(names)), dtype=np.float32), empty
    return (
        np.concatenate(positions),
        np.concatenate(parts),
        None if windows is None else np.concatenate(images),
    )


def s_templates(
    windows: np.ndarray,
    labels: np.ndarray,
    record_index: np.ndarray,
    indices: np.ndarray,
    s: int,
    n_records: int,
) -> np.ndarray:
    """The median of each record's S beats among ``indices`` (its two lead rows), shape
    (n_records, 2, T); NaN for records with fewer than REBASE_MIN_S_BEATS of them."""
    templates = np.full((n_records, 2, windows.shape[2]), np.nan, dtype=np.float32)
    records = record_index[indices]
    for record in np.unique(records):
        mine = indices[records == record]
        is_s = labels[mine] == s
        if is_s.sum() >= REBASE_MIN_S_BEATS:
            templates[record] = np.median(windows[mine[is_s], :2], axis=0)
    return templates


def random_factors(n: int, share: float, rng: np.random.Generator) -> np.ndarray:
    """One factor per beat: 1 for all but a ``share`` of them, drawn from [REBASE_LOW, 1]."""
    chosen = rng.random(n) < share
    return np.where(chosen, rng.uniform(REBASE_LOW, 1.0, size=n), 1.0)
