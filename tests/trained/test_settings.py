import dataclasses
import json

import pytest

from seecgnet.models.registry import build_network
from seecgnet.models.settings import (
    BaselineSettings,
    NetworkSettings,
    ResNeStSettings,
    ResNeXtSettings,
)
from seecgnet.trained.decision import DecisionRule, DecisionSettings
from seecgnet.trained.settings import Settings, SettingsError, TrainSettings, any_leads


def test_defaults_are_the_papers_values():
    settings = Settings()
    assert settings.signal.fs_hz == 500
    assert settings.signal.window_s == 10.0
    assert settings.network.branch_kernel_samples == (3, 5)
    assert settings.network.stem_kernel_samples == (50, 15, 15)
    assert settings.network.se_reduction == 16
    assert settings.loss.hard_fraction == 0.7
    assert settings.decision.rule is DecisionRule.PER_SAMPLE
    assert settings.decision.divisor == 5.0


@pytest.mark.parametrize(
    "settings",
    [
        Settings(),
        Settings(
            architecture="baseline",
            network=BaselineSettings(),
            decision=DecisionSettings(rule="per_class", class_thresholds=(0.25,) * 24),
            training=TrainSettings(epochs=3, seed=9),
        ),
        Settings(network=NetworkSettings.small()),
        Settings(architecture="resnext", network=ResNeXtSettings(cardinality=8)),
        Settings(
            architecture="resnest", network=ResNeStSettings(radix=4, stage_blocks=(1, 2, 1, 1))
        ),
    ],
    ids=["default", "baseline-per-class", "small", "resnext", "resnest"],
)
def test_settings_survive_a_json_round_trip_and_rebuild_the_same_network(settings, tmp_path):
    settings.save(tmp_path / "settings.json")
    restored = Settings.load(tmp_path / "settings.json")
    assert restored == settings
    assert type(build_network(restored.network)) is type(build_network(settings.network))


def test_an_unknown_setting_is_named_in_the_error(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(Settings().to_json().replace('"window_s"', '"window_seconds"'))
    with pytest.raises(SettingsError, match="window_seconds"):
        Settings.load(path)


def test_a_settings_file_that_is_not_json_names_the_file(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text("{not json")
    with pytest.raises(SettingsError, match=r"settings\.json"):
        Settings.load(path)


def test_architecture_and_network_settings_must_agree():
    with pytest.raises(SettingsError, match="BaselineSettings"):
        Settings(architecture="baseline")
    with pytest.raises(SettingsError, match="expected one of"):
        dataclasses.replace(Settings(), architecture="densenet")
    with pytest.raises(SettingsError, match="ResNeXtSettings"):
        dataclasses.replace(Settings(), architecture="resnext")


def test_training_settings_refuse_impossible_values():
    with pytest.raises(SettingsError, match="validation_fraction"):
        TrainSettings(validation_fraction=1.0)
    with pytest.raises(SettingsError, match="epochs"):
        TrainSettings(epochs=0)


def test_any_leads_adds_the_presence_and_subsets_and_an_old_settings_file_keeps_its_method(
    tmp_path,
):
    assert not Settings().network.lead_presence  # off by default: the paper's method
    assert Settings().signal.lead_draw.subset_probability == 0
    for architecture, network in (
        ("seecgnet", NetworkSettings()),
        ("baseline", BaselineSettings()),
        ("resnext", ResNeXtSettings()),
        ("resnest", ResNeStSettings()),
    ):
        new = any_leads(Settings(architecture=architecture, network=network))
        assert new.network.lead_presence and new.architecture == architecture
        assert new.signal.lead_draw.subset_probability == 0.5  # all 12 leads in half the windows
        assert new.signal.lead_draw.random_share == 0  # the others cut to a 2021 lead set
        assert new.signal.complete_limb_leads  # and limb leads computed from two
        assert dataclasses.replace(new.network, lead_presence=False) == network
    # a settings file saved before the lead presence existed lacks its fields: they are off
    old = json.loads(any_leads(Settings()).to_json())
    del old["network"]["lead_presence"], old["signal"]["lead_draw"], old["signal"]["recorder"]
    del old["signal"]["complete_limb_leads"]
    (tmp_path / "settings.json").write_text(json.dumps(old))
    loaded = Settings.load(tmp_path / "settings.json")
    assert not loaded.network.lead_presence
    assert not loaded.signal.complete_limb_leads
    assert loaded.signal.lead_draw.subset_probability == 0
    assert loaded.signal.recorder.gain_probability == 0
    assert loaded == Settings()
