"""Every architecture end to end: trained one epoch by train_model.py --architecture, saved as a model
folder that rebuilds the same network, and run by the driver's code."""

import argparse
import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from seecgnet.challenge.classes import load_scored_classes
from seecgnet.cli import add_training_options, settings_from_args
from seecgnet.data.signals import N_DEMOGRAPHICS, AgeStatistics, SignalSettings
from seecgnet.inference.driver import predict_folder
from seecgnet.inference.loading import load_model
from seecgnet.io.synthetic import write_synthetic_dataset
from seecgnet.models.registry import build_network
from seecgnet.models.settings import (
    ARCHITECTURES,
    BaselineSettings,
    NetworkSettings,
    NetworkShape,
    ResNeStSettings,
    ResNeXtSettings,
    register_architecture,
)
from seecgnet.trained.folder import ModelSummary, save_model
from seecgnet.trained.settings import Settings, TrainSettings
from train_model import main as train_main

SMALL = {
    "seecgnet": NetworkSettings.small(),
    "baseline": BaselineSettings(block_channels=(8, 8), block_stride_samples=(4, 4)),
    "resnext": ResNeXtSettings.small(),
    "resnest": ResNeStSettings.small(),
}


def test_every_architecture_has_a_small_setting_here():
    assert set(SMALL) == set(ARCHITECTURES)


@pytest.fixture(scope="module")
def synthetic_data(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("data")
    write_synthetic_dataset(folder, 12, seed=4)
    return folder


@pytest.mark.parametrize("architecture", list(SMALL))
def test_one_epoch_of_training_writes_a_model_the_driver_runs(
    architecture, synthetic_data, tmp_path
):
    settings = Settings(architecture=architecture, network=SMALL[architecture])
    settings.save(tmp_path / "small.json")
    model = tmp_path / "model"
    argv = [str(synthetic_data), str(model), "--settings", str(tmp_path / "small.json")]
    argv += ["--epochs", "1", "--batch-size", "4", "--no-cache", "--quiet"]
    assert train_main([*argv, "--architecture", architecture]) == 0
    loaded = load_model(model)
    assert loaded.settings.architecture == architecture
    assert loaded.settings.network == SMALL[architecture]
    assert type(loaded.predictor.networks[0]) is type(build_network(SMALL[architecture]))
    summary = predict_folder(model, synthetic_data, tmp_path / "out", progress=False)
    assert summary.n_records == 12 and summary.n_failed == 0


@pytest.mark.parametrize("architecture", list(SMALL))
def test_a_saved_and_loaded_model_gives_the_same_probabilities(architecture, tmp_path):
    torch.manual_seed(1)
    network = build_network(SMALL[architecture])
    generator = torch.Generator().manual_seed(2)
    windows = torch.randn(6, 1, 12, 5000, generator=generator)
    demographics = torch.randn(6, 5, generator=generator)
    with torch.no_grad():
        network.train()(windows, demographics)  # batch norm's running statistics move off 0 and 1
        expected = torch.sigmoid(network.eval()(windows, demographics)).numpy()
    settings = Settings(architecture=architecture, network=SMALL[architecture])
    summary = ModelSummary(
        n_training_records=6, best_epochs=(1,), validation_challenge_metric=(0.1,)
    )
    save_model(
        tmp_path / "model",
        settings,
        load_scored_classes(),
        AgeStatistics(),
        [network.state_dict()],
        summary,
    )
    loaded = load_model(tmp_path / "model").predictor
    probabilities = loaded.batch_probabilities(windows, demographics)[0]
    np.testing.assert_allclose(probabilities, expected, rtol=1e-6, atol=1e-7)
    assert not np.allclose(probabilities, probabilities[:1])  # the windows are told apart


@pytest.mark.parametrize("architecture", ["resnext", "resnest"])
def test_the_architecture_option_takes_that_networks_defaults_and_keeps_the_rest(architecture):
    parser = argparse.ArgumentParser()
    add_training_options(parser)
    args = parser.parse_args(["--architecture", architecture, "--epochs", "3"])
    settings = settings_from_args(args)
    assert settings.architecture == architecture
    assert settings.network == ARCHITECTURES[architecture]()
    assert settings.training == TrainSettings(epochs=3)


@pytest.fixture
def registered_wide_baseline():
    """An architecture registered for one test and removed after it: a wider plain ResNet under its
    own name, with its own settings class, as a new architecture would be added."""
    from seecgnet.models import settings as settings_module

    @settings_module.register_architecture(
        "wide_baseline", "wide 1-D ResNet", network="seecgnet.models.baseline.PlainResNet1d"
    )
    @dataclasses.dataclass(frozen=True)
    class WideBaselineSettings(BaselineSettings):
        block_channels: tuple[int, ...] = (16, 16)
        block_stride_samples: tuple[int, ...] = (4, 4)

    yield WideBaselineSettings
    del settings_module.ARCHITECTURES["wide_baseline"]
    del settings_module.ARCHITECTURE_NAMES["wide_baseline"]
    del settings_module.NETWORK_CLASSES[WideBaselineSettings]


def test_an_architecture_registered_once_reaches_settings_builder_and_command_lines(
    registered_wide_baseline, tmp_path
):
    from seecgnet.crossval.__main__ import architecture_list

    parser = argparse.ArgumentParser()
    add_training_options(parser)
    settings = settings_from_args(parser.parse_args(["--architecture", "wide_baseline"]))
    assert settings.network == registered_wide_baseline()
    settings.save(tmp_path / "settings.json")
    assert Settings.load(tmp_path / "settings.json") == settings
    network = build_network(settings.network)
    assert type(network).__name__ == "PlainResNet1d"
    same = build_network(BaselineSettings(block_channels=(16, 16), block_stride_samples=(4, 4)))
    assert [p.shape for p in network.parameters()] == [p.shape for p in same.parameters()]
    assert architecture_list("seecgnet,wide_baseline") == ["seecgnet", "wide_baseline"]
    assert "wide_baseline (wide 1-D ResNet)" in " ".join(parser.format_help().split())


def test_an_architecture_name_is_registered_once():
    with pytest.raises(ValueError, match="registered twice"):
        register_architecture("resnext", "ResNeXt", network="seecgnet.models.resnext.ResNeXt1d")(
            ResNeXtSettings
        )


@pytest.mark.parametrize("architecture", list(ARCHITECTURES))
def test_every_architecture_takes_the_one_network_shape_first(architecture):
    """The shape fields come from NetworkShape alone, first and in the order settings files hold
    them, with the signal settings' window and the data's age and sex features."""
    fields = [f.name for f in dataclasses.fields(ARCHITECTURES[architecture])]
    shape = [f.name for f in dataclasses.fields(NetworkShape)]
    assert shape == ["n_leads", "window_samples", "n_demographics", "n_classes"]
    assert fields[:4] == shape
    assert issubclass(ARCHITECTURES[architecture], NetworkShape)
    default = ARCHITECTURES[architecture]()
    assert (default.n_leads, default.n_classes) == (12, 24)
    assert default.window_samples == SignalSettings().window_samples == 5000
    assert default.n_demographics == N_DEMOGRAPHICS == 5
