"""Reading MIT-BIH beats: AAMI classes, skipped annotations, RR features, windows, the cache."""

from __future__ import annotations

import numpy as np
import pytest

from seecgnet.mitbih.beats import (
    AAMI_CLASSES,
    AAMI_OF_SYMBOL,
    BeatError,
    BeatSettings,
    load_or_read_beats,
    read_beats,
    read_record_beats,
)
from seecgnet.mitbih.rhythm import BASE_RR_FEATURES, rr_features
from tests.mitbih.records import write_record
from tests.paths import MITDB

MITDB = MITDB
needs_mitdb = pytest.mark.skipif(not (MITDB / "100.atr").exists(), reason="no MIT-BIH data")


def test_aami_mapping_puts_each_symbol_in_its_ec57_class():
    expected = {"N": "NLRej", "S": "AaJS", "V": "VE", "F": "F", "Q": "/fQ"}
    for aami, symbols in expected.items():
        assert all(AAMI_OF_SYMBOL[s] == aami for s in symbols)
    assert len(AAMI_OF_SYMBOL) == sum(len(s) for s in expected.values())
    assert "+" not in AAMI_OF_SYMBOL and "~" not in AAMI_OF_SYMBOL and "|" not in AAMI_OF_SYMBOL


def test_rr_features_are_intervals_in_seconds_and_their_ratios():
    peaks_s = np.array([0.0, 1.0, 2.0, 2.5, 3.5])
    rr = rr_features(peaks_s)
    assert rr.shape == (3, len(BASE_RR_FEATURES))
    column = {name: rr[:, k] for k, name in enumerate(BASE_RR_FEATURES)}
    np.testing.assert_allclose(column["pre_rr_s"], [1.0, 1.0, 0.5])
    np.testing.assert_allclose(column["post_rr_s"], [1.0, 0.5, 1.0])
    np.testing.assert_allclose(column["local_rr_s"], [1.0, 1.0, 2.5 / 3])
    np.testing.assert_allclose(column["record_rr_s"], 3.5 / 4)
    np.testing.assert_allclose(column["post_over_pre"], [1.0, 0.5, 2.0])
    np.testing.assert_allclose(column["pre_over_local"], [1.0, 1.0, 0.6], rtol=1e-6)


def test_rr_features_refuse_unordered_peaks():
    with pytest.raises(ValueError, match="increasing"):
        rr_features(np.array([0.0, 2.0, 1.0]))


def test_reading_keeps_beats_skips_other_annotations_and_the_end_beats(tmp_path):
    times = [1.0, 1.8, 2.3, 3.1, 3.9, 4.7]
    symbols = ["N", "N", "A", "V", "F", "N"]
    extra = [(0.5, "+", "(N"), (2.0, "~", ""), (3.5, "|", "")]
    write_record(tmp_path, "rec", times, symbols, duration_s=6.0, extra=extra)
    settings = BeatSettings(normalise_amplitude=False, template_rows=False)
    beats = read_record_beats(tmp_path / "rec", settings)
    # first and last beat have no RR interval on one side; the three non-beats are not beats
    assert [AAMI_CLASSES[k] for k in beats.labels] == ["N", "S", "V", "F"]
    np.testing.assert_allclose(beats.rr[:, 0], [0.8, 0.5, 0.8, 0.8], atol=1 / 360)
    assert beats.windows.shape == (4, 2, settings.window_samples)
    # the R peak sits at before_samples; the upright N peak is about 1 mV on MLII, half on V1
    peak = beats.windows[0, :, settings.before_samples]
    np.testing.assert_allclose(peak, [1.0, 0.5], atol=0.15)


def test_reading_takes_the_windows_reference_from_the_quantile_setting(tmp_path):
    # three beats in four premature (0.6 s), then a pause (1.6 s): the median is the premature
    times = list(np.cumsum(np.tile([0.6, 0.6, 0.6, 1.6], 6)))
    symbols = ["A" if gap == 0.6 else "N" for gap in np.tile([0.6, 0.6, 0.6, 1.6], 6)]
    write_record(tmp_path, "svt", times, symbols, duration_s=times[-1] + 1.0)
    ratios = {}
    for quantile in (0.5, 0.9):
        settings = BeatSettings(template_rows=False, rr_windows_s=(60.0,), rr_quantile=quantile)
        beats = read_record_beats(tmp_path / "svt", settings)
        is_s = beats.labels == AAMI_CLASSES.index("S")
        ratios[quantile] = beats.rr[is_s, settings.rr_names.index("pre_over_median_60s")]
    np.testing.assert_allclose(ratios[0.5], 1.0, atol=0.01)
    np.testing.assert_allclose(ratios[0.9], 0.6 / 1.6, atol=0.01)


def test_mlii_becomes_the_first_row_when_stored_second(tmp_path):
    times, symbols = [1.0, 1.8, 2.6], ["N", "N", "N"]
    write_record(tmp_path, "swapped", times, symbols, duration_s=4.0, sig_name=("V5", "MLII"))
    settings = BeatSettings(normalise_amplitude=False, template_rows=False)
    beats = read_record_beats(tmp_path / "swapped", settings)
    peak = beats.windows[0, :, settings.before_samples]
    assert peak[0] > 1.5 * peak[1]


def test_amplitude_normalisation_divides_by_the_records_typical_beat(tmp_path):
    write_record(tmp_path, "rec", [1.0, 1.8, 2.6, 3.4, 4.2], ["N"] * 5, duration_s=5.0)
    in_mv = read_record_beats(
        tmp_path / "rec", BeatSettings(normalise_amplitude=False, template_rows=False)
    )
    relative = read_record_beats(tmp_path / "rec", BeatSettings(template_rows=False))
    typical = np.median(np.ptp(in_mv.windows, axis=2), axis=0)  # (2,) mV, lead 2 half of lead 1
    np.testing.assert_allclose(typical[1] / typical[0], 0.5, atol=0.02)
    np.testing.assert_allclose(relative.windows, in_mv.windows / typical[None, :, None], rtol=1e-5)
    np.testing.assert_allclose(np.median(np.ptp(relative.windows, axis=2), axis=0), 1.0)


def test_template_rows_are_each_lead_minus_the_records_median_beat(tmp_path):
    times = [1.0, 1.8, 2.6, 3.4, 4.2, 5.0, 5.8]
    write_record(tmp_path, "rec", times, ["N", "N", "V", "N", "N", "N", "N"], duration_s=7.0)
    beats = read_record_beats(tmp_path / "rec", BeatSettings())
    assert beats.windows.shape == (5, 4, BeatSettings().window_samples)
    leads, deviation = beats.windows[:, :2], beats.windows[:, 2:]
    np.testing.assert_allclose(deviation, leads - np.median(leads, axis=0), atol=1e-6)
    # the N beats match the typical (N) beat; the V beat does not
    size = np.abs(deviation).max(axis=(1, 2))
    assert size[1] > 10 * max(size[0], size[2], size[3], size[4])


def test_beats_whose_window_leaves_the_record_are_dropped(tmp_path):
    write_record(tmp_path, "edge", [0.1, 0.2, 1.0, 1.8, 2.0], ["N"] * 5, duration_s=2.1)
    beats = read_record_beats(tmp_path / "edge", BeatSettings())
    # kept candidates: 0.2 s (window starts before 0), 1.0 s, 1.8 s (window ends after 2.1 s)
    assert len(beats) == 1


def test_a_record_without_a_whole_beat_window_joins_the_others_with_no_beats(tmp_path):
    write_record(tmp_path, "edge", [0.1, 0.2, 0.3], ["N"] * 3, duration_s=0.35)
    write_record(tmp_path, "whole", [1.0, 1.8, 2.6, 3.4], ["N", "V", "N", "N"], duration_s=5.0)
    beats = read_beats(tmp_path, ["edge", "whole"], BeatSettings(), progress=False)
    assert beats.windows.shape[1:] == (BeatSettings().n_rows, BeatSettings().window_samples)
    assert len(beats) == 2 and set(beats.record_index.tolist()) == {1}


def test_cache_is_reused_and_rebuilt_for_other_settings(tmp_path):
    write_record(tmp_path, "a", [1.0, 1.8, 2.6, 3.4], ["N", "V", "N", "N"], duration_s=5.0)
    cache = tmp_path / "cache"
    first = load_or_read_beats(tmp_path, ["a"], BeatSettings(), cache, progress=False)
    (tmp_path / "a.dat").unlink()  # a second read would fail: the cache must answer
    again = load_or_read_beats(tmp_path, ["a"], BeatSettings(), cache, progress=False)
    np.testing.assert_array_equal(first.windows, again.windows)
    with pytest.raises(BeatError, match="cannot read"):
        load_or_read_beats(tmp_path, ["a"], BeatSettings(fs_hz=120), cache, progress=False)


@needs_mitdb
def test_record_100_has_its_published_beat_counts_less_the_end_beats():
    # PhysioNet's table for record 100: 2239 N and 33 A, 1 V; the first and last beat are N
    beats = read_record_beats(MITDB / "100", BeatSettings())
    assert beats.class_counts().tolist() == [2237, 33, 1, 0, 0]


@needs_mitdb
def test_record_208_holds_most_fusion_beats():
    # 1586 N, 2 S, 992 V, 373 F, 2 Q in the annotations; its first and last beat are N and F
    beats = read_record_beats(MITDB / "208", BeatSettings())
    assert beats.class_counts().tolist() == [1585, 2, 992, 372, 2]


def test_a_record_with_two_beats_annotated_at_one_time_is_named_in_the_error(tmp_path):
    write_record(tmp_path, "twice", [1.0, 1.8, 1.8, 2.6, 3.4], ["N"] * 5, duration_s=5.0)
    with pytest.raises(BeatError, match="twice: the beat annotations are not in strictly"):
        read_record_beats(tmp_path / "twice", BeatSettings())
