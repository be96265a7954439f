"""The on-disk record cache: built once, reused without decoding, never served stale."""

from __future__ import annotations

import logging
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

import seecgnet.data.cache.build as cache_build
from seecgnet.challenge.classes import load_scored_classes
from seecgnet.data.cache.build import cache_folder, open_cache
from seecgnet.data.cache.index import COMPLETE_FILE, INDEX_FILE, SIGNALS_FILE
from seecgnet.data.cache.store import CachedStore, CacheError
from seecgnet.data.dataset import (
    ReadFailure,
    TrainingWindows,
    load_store,
    prepare_record,
    prepare_signal,
)
from seecgnet.data.signals import AgeStatistics, SignalSettings
from seecgnet.io.records import read_record
from seecgnet.io.synthetic import (
    ATRIAL_FIBRILLATION,
    SINUS_BRADYCARDIA,
    SINUS_RHYTHM,
    write_synthetic_record,
)
from seecgnet.models.settings import NetworkSettings
from seecgnet.trained.settings import Settings, TrainSettings
from seecgnet.training.loop import train_model
from tests.corpus import write_corpus

CLASSES = load_scored_classes()
SIGNAL = SignalSettings()
# float16 rounds to the nearest of 11 significant bits: within 2**-11 of the value, relatively.
FLOAT16 = {"rtol": 2.0**-11, "atol": 1e-7}
# (rate in Hz, duration in s, diagnosis) of the records written by write_records
KINDS = (
    (500, 10.0, SINUS_RHYTHM),
    (257, 12.0, ATRIAL_FIBRILLATION),
    (1000, 7.5, SINUS_BRADYCARDIA),
    (500, 31.0, SINUS_RHYTHM),
)


def write_records(folder: Path, n: int, seed: int = 0) -> list[Path]:
    """``n`` small synthetic records REC00..., cycling through KINDS."""
    headers = []
    for i in range(n):
        fs_hz, duration_s, code = KINDS[i % len(KINDS)]
        headers.append(
            write_synthetic_record(
                folder,
                f"REC{i:02d}",
                fs_hz=fs_hz,
                duration_s=duration_s,
                dx_codes=(code,),
                age=float(30 + i) if i % 3 else float("nan"),
                sex=("Male", "Female")[i % 2],
                seed=seed + i,
            )
        )
    return headers


class DecodeCounter:
    """Stands in for the cache's decoding function and counts the records it decodes."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.names: list[str] = []
        self._decode = cache_build._decode_record
        monkeypatch.setattr(cache_build, "_decode_record", self)

    def __call__(self, header: Path, settings: SignalSettings, labels: object = None) -> object:
        self.names.append(header.stem)
        return self._decode(header, settings, labels)


def open_quietly(
    data: Path, cache: Path, settings: SignalSettings = SIGNAL
) -> tuple[CachedStore, list[ReadFailure]]:
    return open_cache(data, cache, CLASSES, settings, progress=False)


def assert_matches_the_records(store: CachedStore, data: Path) -> None:
    reference, _ = load_store(data, CLASSES, SIGNAL)
    assert store.names == reference.names
    np.testing.assert_array_equal(store.labels, reference.labels)
    np.testing.assert_array_equal(store.ages, reference.ages)
    assert store.sexes == reference.sexes
    for index in range(len(store)):
        cached = store.signal(index)
        assert cached.dtype == np.float32 and cached.flags.c_contiguous
        np.testing.assert_allclose(cached, reference.signal(index), **FLOAT16)


def test_first_open_builds_a_cache_whose_records_match_the_files(tmp_path: Path) -> None:
    write_records(tmp_path / "data", 6)
    store, failures = open_quietly(tmp_path / "data", tmp_path / "cache")
    assert failures == [] and len(store) == 6
    assert_matches_the_records(store, tmp_path / "data")
    folder = cache_folder(tmp_path / "cache", tmp_path / "data", SIGNAL)
    assert {INDEX_FILE, SIGNALS_FILE, COMPLETE_FILE} <= {p.name for p in folder.iterdir()}
    # 2 bytes per sample of the 12 leads at 500 Hz, nothing else
    samples = sum(round(duration * 500) for _, duration, _ in (KINDS * 2)[:6])
    assert (folder / SIGNALS_FILE).stat().st_size == samples * 12 * 2


def test_a_build_in_two_processes_writes_what_one_process_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_records(tmp_path / "data", 6)
    monkeypatch.setattr(cache_build, "_GROUP_BYTES", 1)  # a group per record, so both work
    one, _ = open_quietly(tmp_path / "data", tmp_path / "one")
    two, _ = open_cache(tmp_path / "data", tmp_path / "two", CLASSES, SIGNAL, workers=2)
    assert two.names == one.names
    np.testing.assert_array_equal(two.offsets, one.offsets)
    for index in range(len(one)):
        np.testing.assert_array_equal(two.signal(index), one.signal(index))


def test_second_open_reads_the_cache_without_decoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_records(tmp_path / "data", 5)
    first, _ = open_quietly(tmp_path / "data", tmp_path / "cache")
    counter = DecodeCounter(monkeypatch)
    second, failures = open_quietly(tmp_path / "data", tmp_path / "cache")
    assert counter.names == [] and failures == []
    assert second.names == first.names
    for index in range(len(first)):
        np.testing.assert_array_equal(second.signal(index), first.signal(index))


def test_a_rewritten_record_is_decoded_again_and_served_new(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = write_records(tmp_path / "data", 4)
    open_quietly(tmp_path / "data", tmp_path / "cache")
    mat = headers[2].with_suffix(".mat")
    old_mtime_ns = mat.stat().st_mtime_ns
    # Same rate and length, so the same file size: only the modification time tells
    fs_hz, duration_s, code = KINDS[2]
    write_synthetic_record(
        tmp_path / "data", "REC02", fs_hz=fs_hz, duration_s=duration_s, dx_codes=(code,), seed=99
    )
    os.utime(mat, ns=(old_mtime_ns + 10**9, old_mtime_ns + 10**9))
    counter = DecodeCounter(monkeypatch)
    store, _ = open_quietly(tmp_path / "data", tmp_path / "cache")
    assert counter.names == ["REC02"]
    expected = prepare_signal(read_record(headers[2]), SIGNAL)
    np.testing.assert_allclose(store.signal(2), expected, **FLOAT16)
    assert_matches_the_records(store, tmp_path / "data")


def test_added_and_removed_records_are_reflected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = write_records(tmp_path / "data", 4)
    open_quietly(tmp_path / "data", tmp_path / "cache")
    headers[1].unlink()
    headers[1].with_suffix(".mat").unlink()
    write_synthetic_record(tmp_path / "data", "REC_NEW", fs_hz=257, duration_s=8.0, seed=7)
    counter = DecodeCounter(monkeypatch)
    store, _ = open_quietly(tmp_path / "data", tmp_path / "cache")
    assert counter.names == ["REC_NEW"]
    assert store.names == ["REC00", "REC02", "REC03", "REC_NEW"]
    assert_matches_the_records(store, tmp_path / "data")
    # and the updated cache is reused in its turn
    open_quietly(tmp_path / "data", tmp_path / "cache")
    assert counter.names == ["REC_NEW"]


@pytest.mark.parametrize("damage", ["marker removed", "signals truncated", "index corrupt"])
def test_an_interrupted_or_damaged_cache_is_rebuilt_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    write_records(tmp_path / "data", 4)
    open_quietly(tmp_path / "data", tmp_path / "cache")
    folder = cache_folder(tmp_path / "cache", tmp_path / "data", SIGNAL)
    if damage == "marker removed":
        (folder / COMPLETE_FILE).unlink()
    elif damage == "signals truncated":
        signals = folder / SIGNALS_FILE
        os.truncate(signals, signals.stat().st_size // 2)
    else:
        (folder / INDEX_FILE).write_text('{"format": 1, "records": ')
    counter = DecodeCounter(monkeypatch)
    store, _ = open_quietly(tmp_path / "data", tmp_path / "cache")
    assert sorted(counter.names) == ["REC00", "REC01", "REC02", "REC03"]
    assert_matches_the_records(store, tmp_path / "data")


def test_a_killed_update_leaves_a_cache_that_is_rebuilt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = write_records(tmp_path / "data", 4)
    open_quietly(tmp_path / "data", tmp_path / "cache")
    write_synthetic_record(tmp_path / "data", "REC_NEW", seed=5)

    def killed(header: Path, settings: SignalSettings, labels: object = None) -> object:
        raise KeyboardInterrupt

    monkeypatch.setattr(cache_build, "_decode_record", killed)
    with pytest.raises(KeyboardInterrupt):
        open_quietly(tmp_path / "data", tmp_path / "cache")
    monkeypatch.undo()
    counter = DecodeCounter(monkeypatch)
    store, _ = open_quietly(tmp_path / "data", tmp_path / "cache")
    assert len(counter.names) == len(headers) + 1
    assert_matches_the_records(store, tmp_path / "data")


def test_unreadable_records_are_skipped_with_one_warning_each_and_remembered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    write_records(data, 3)
    (data / "BROKEN.hea").write_text("BROKEN 12 500 5000\n")
    (data / "BROKEN.mat").write_bytes(b"not a matlab file at all, and far too short")
    write_synthetic_record(data, "EMPTYMAT", seed=1).with_suffix(".mat").write_bytes(b"")
    for attempt in range(2):
        counter = DecodeCounter(monkeypatch)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="seecgnet.data.cache.build"):
            store, failures = open_quietly(data, tmp_path / "cache")
        assert [f.path for f in failures] == [data / "BROKEN.hea", data / "EMPTYMAT.hea"]
        assert "EMPTYMAT.mat" in failures[1].reason
        assert store.names == ["REC00", "REC01", "REC02"]
        skipped = [r.getMessage() for r in caplog.records if r.getMessage().startswith("skip")]
        assert len(skipped) == 2
        assert len(counter.names) == (5 if attempt == 0 else 0)
        monkeypatch.undo()


def test_the_messy_corpus_gives_what_load_store_gives(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    _, reference_failures = load_store(corpus, CLASSES, SIGNAL)
    store, failures = open_quietly(corpus, tmp_path / "cache")
    assert failures == reference_failures and len(failures) > 5
    assert_matches_the_records(store, corpus)  # the same records, names, labels and signals
    # names with spaces and non-ASCII letters survive the index
    again, _ = open_quietly(corpus, tmp_path / "cache")
    assert again.names == store.names


def test_the_cache_prepares_each_record_with_load_stores_prepare_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    write_records(data, 3)
    write_synthetic_record(data, "NO_DX", dx_codes=(), seed=3)
    prepared: list[str] = []

    def prepare_and_count(header: Path, settings: SignalSettings, labels: object = None) -> object:
        prepared.append(header.stem)
        return prepare_record(header, settings, labels)

    monkeypatch.setattr(cache_build, "prepare_record", prepare_and_count)
    store, failures = open_quietly(data, tmp_path / "cache")
    assert prepared == ["NO_DX", "REC00", "REC01", "REC02"]
    assert store.names == ["REC00", "REC01", "REC02"]
    assert failures == [ReadFailure(data / "NO_DX.hea", "no diagnosis code (#Dx) to learn from")]


def test_another_working_rate_gets_its_own_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_records(tmp_path / "data", 3)
    at_500, _ = open_quietly(tmp_path / "data", tmp_path / "cache")
    at_250_settings = SignalSettings(fs_hz=250)
    counter = DecodeCounter(monkeypatch)
    at_250, _ = open_quietly(tmp_path / "data", tmp_path / "cache", at_250_settings)
    assert len(counter.names) == 3
    assert at_250.lengths.tolist() == [(n + 1) // 2 for n in at_500.lengths.tolist()]
    # settings that only act on windows share the cache
    noisier = SignalSettings(noise_std_mv=0.1, window_s=5.0)
    open_quietly(tmp_path / "data", tmp_path / "cache", noisier)
    open_quietly(tmp_path / "data", tmp_path / "cache", at_250_settings)
    assert len(counter.names) == 3
    assert len(list((tmp_path / "cache").iterdir())) == 2


def test_window_reads_a_stretch_and_pads_with_zeros_outside_the_record(tmp_path: Path) -> None:
    write_records(tmp_path / "data", 2)
    store, _ = open_quietly(tmp_path / "data", tmp_path / "cache")
    whole = store.signal(1)
    n = whole.shape[1]
    np.testing.assert_array_equal(store.window(1, 100, 700), whole[:, 100:800])
    shifted = store.window(1, -50, 200)
    assert not shifted[:, :50].any()
    np.testing.assert_array_equal(shifted[:, 50:], whole[:, :150])
    past_end = store.window(1, n - 10, 30)
    np.testing.assert_array_equal(past_end[:, :10], whole[:, n - 10 :])
    assert not past_end[:, 10:].any()


def test_the_store_pickles_without_signals_and_feeds_two_dataloader_workers(
    tmp_path: Path,
) -> None:
    write_records(tmp_path / "data", 8)
    store, _ = open_quietly(tmp_path / "data", tmp_path / "cache")
    store.signal(0)  # opens the file in this process
    pickled = pickle.dumps(store)
    assert len(pickled) < 4096  # names and small arrays, no signal
    np.testing.assert_array_equal(pickle.loads(pickled).signal(3), store.signal(3))

    windows = TrainingWindows(store, range(len(store)), SIGNAL, AgeStatistics(), seed=0)
    loader = DataLoader(windows, batch_size=4, num_workers=2)
    batches = list(loader)
    x = torch.cat([batch[0] for batch in batches])
    assert x.shape == (8, 1, 12, SIGNAL.window_samples)
    in_process = torch.stack([windows[i][0] for i in range(8)])
    torch.testing.assert_close(x, in_process)


def test_a_store_opened_before_a_rebuild_refuses_to_read_the_new_file(tmp_path: Path) -> None:
    write_records(tmp_path / "data", 3)
    store, _ = open_quietly(tmp_path / "data", tmp_path / "cache")
    copy = pickle.loads(pickle.dumps(store))  # as a worker started later would get it
    folder = cache_folder(tmp_path / "cache", tmp_path / "data", SIGNAL)
    (folder / COMPLETE_FILE).unlink()
    open_quietly(tmp_path / "data", tmp_path / "cache")
    with pytest.raises(CacheError, match="rebuilt"):
        copy.signal(0)


def test_train_model_runs_an_epoch_on_a_cached_store(tmp_path: Path) -> None:
    write_records(tmp_path / "data", 10)
    store, _ = open_quietly(tmp_path / "data", tmp_path / "cache")
    settings = Settings(
        network=NetworkSettings.small(), training=TrainSettings(epochs=1, batch_size=4)
    )
    trained = train_model(store, CLASSES, settings, progress=False)
    assert len(trained.history) == 1 and np.isfinite(trained.history[0].train_loss)
