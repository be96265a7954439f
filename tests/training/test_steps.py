"""A training step's speed paths: the channels-last layout trains the same model as torch's default
order to float32 rounding, and bf16 on the CPU is an option that changes the arithmetic alone."""

import copy
import dataclasses

import pytest
import torch

from seecgnet.challenge.classes import load_scored_classes
from seecgnet.data.dataset import load_store
from seecgnet.io.synthetic import write_synthetic_dataset
from seecgnet.models.registry import build_network
from seecgnet.models.settings import NetworkSettings
from seecgnet.trained.settings import Settings, SettingsError, TrainSettings
from seecgnet.training import steps
from seecgnet.training.loop import train_model
from seecgnet.training.loss import hard_mining_bce
from seecgnet.training.optimisation import one_cycle
from seecgnet.training.steps import autocast, training_layout

# One step's gradients (same weights, same batch) in float32 differ from float64's by rounding, as
# a share of the network's largest gradient: about 1e-6 in torch's default order, but up to about
# 1e-2 channels-last, on the stem's weights, whose gradients are sums over every position that
# cancel almost to nothing and whose channels-last kernels (batch norm's backward, the weight
# gradient) sum in float32 more coarsely. A wrong layout or a lost term errs by the whole scale.
GRADIENT_TOLERANCE = {False: 1e-5, True: 2e-2}
# After a few steps AdamW has amplified the rounding: its first steps move each weight by about
# the learning rate whatever the gradient's size, so a gradient near zero whose sign the rounding
# flips moves the weight the other way. The weights then agree within twice the peak rate and the
# losses within 1e-3.
LOSS_TOLERANCE = 1e-3
WEIGHT_TOLERANCE = 2 * TrainSettings().learning_rate
STEPS = 4


def _train(channels_last: bool, precision: str = "float32") -> tuple[list[float], dict]:
    """A few steps of the default SE-ECGNet from seed 0 on fixed random batches of 2 s windows."""
    torch.manual_seed(0)
    network = build_network(NetworkSettings())
    config = TrainSettings(epochs=1, precision=precision, channels_last=channels_last)
    optimisation = one_cycle(network.parameters(), config, STEPS)
    generator = torch.Generator().manual_seed(1)
    losses = []
    network.train()
    with training_layout(network, channels_last):
        for _ in range(STEPS):
            x = torch.randn(8, 1, 12, 1000, generator=generator)
            side = torch.randn(8, 5, generator=generator)
            targets = (torch.rand(8, 24, generator=generator) < 0.2).float()
            torch.manual_seed(2)  # the same dropout mask in both runs
            with autocast(torch.device("cpu"), config):
                logits = network(x, side).float()
            loss = hard_mining_bce(logits, targets, torch.ones(24), 0.5)
            optimisation.step(loss)
            losses.append(loss.item())
        layouts = {name: p.is_contiguous() for name, p in network.named_parameters()}
    assert all(p.is_contiguous() for p in network.parameters())  # default order once it ends
    return losses, {
        "state": network.state_dict(),
        "contiguous_while_training": layouts,
    }


@pytest.fixture(scope="module")
def default_order():
    return _train(channels_last=False)


def test_channels_last_trains_the_same_model_to_float32_rounding(default_order):
    losses, trained = _train(channels_last=True)
    reference = default_order[1]
    assert losses == pytest.approx(default_order[0], rel=LOSS_TOLERANCE)
    for name, value in reference["state"].items():
        torch.testing.assert_close(
            trained["state"][name], value, rtol=LOSS_TOLERANCE, atol=WEIGHT_TOLERANCE
        )
    # the 2-D convolutions' weights were channels-last while training, and only they
    laid_out = [n for n, c in trained["contiguous_while_training"].items() if not c]
    assert laid_out and all(".across_leads." in n or n.startswith("stem.") for n in laid_out)
    assert all(default_order[1]["contiguous_while_training"].values())


def _gradients(network: torch.nn.Module, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    """One backward pass's gradients, as float64, on a fixed batch in ``dtype``."""
    generator = torch.Generator().manual_seed(3)
    x = torch.randn(8, 1, 12, 1000, generator=generator).to(dtype)
    side = torch.randn(8, 5, generator=generator).to(dtype)
    network.to(dtype).train()
    network(x, side).square().sum().backward()
    return {name: p.grad.double() for name, p in network.named_parameters()}


@pytest.mark.parametrize("channels_last", [False, True])
def test_one_step_gradients_are_float64_ones_to_float32_rounding(channels_last):
    torch.manual_seed(0)
    network = build_network(NetworkSettings(dropout=0.0))
    exact = _gradients(copy.deepcopy(network), torch.float64)
    with training_layout(network, channels_last):
        rounded = _gradients(network, torch.float32)
    scale = max(g.abs().max().item() for g in exact.values())
    for name, value in exact.items():
        torch.testing.assert_close(
            rounded[name], value, rtol=0, atol=GRADIENT_TOLERANCE[channels_last] * scale, msg=name
        )


def test_bf16_on_the_cpu_changes_the_arithmetic_but_trains(default_order):
    losses, trained = _train(channels_last=True, precision="bf16")
    assert all(torch.isfinite(torch.tensor(losses)))
    # bfloat16 keeps 8 bits of mantissa: the losses differ from float32's, but not by much
    assert losses != default_order[0]
    assert losses == pytest.approx(default_order[0], rel=0.05)
    assert all(v.dtype != torch.bfloat16 for v in trained["state"].values())


def test_the_cpu_precision_is_float32_or_bf16():
    assert TrainSettings().precision == "float32"
    with pytest.raises(SettingsError, match="precision must be one of float32, bf16"):
        TrainSettings(precision="fp16")


def test_a_run_with_the_setting_trains_channels_last_and_hands_back_the_default_order(
    tmp_path, monkeypatch
):
    asked = []

    def layout(network: torch.nn.Module, channels_last: bool):
        asked.append(channels_last)
        return training_layout(network, channels_last)

    monkeypatch.setattr(steps, "training_layout", layout)
    write_synthetic_dataset(tmp_path, 8, seed=5)
    tiny = Settings(network=NetworkSettings.small(), training=TrainSettings(epochs=2, batch_size=4))
    store, _ = load_store(tmp_path, load_scored_classes(), tiny.signal)
    runs = {}
    for channels_last in (False, True):
        training = dataclasses.replace(tiny.training, channels_last=channels_last)
        settings = dataclasses.replace(tiny, training=training)
        runs[channels_last] = train_model(store, load_scored_classes(), settings, progress=False)
    assert asked == [False, False, True, True]  # each epoch in its run's layout
    trained = runs[True].network
    assert all(p.is_contiguous() for p in trained.parameters())  # validated and saved as usual
    losses = [[entry.train_loss for entry in runs[k].history] for k in (False, True)]
    assert losses[1] == pytest.approx(losses[0], rel=LOSS_TOLERANCE)
