"""Training the MNIST VAE and GAN (levelsets.generative.training): settings, inputs, held-out loss, tiny runs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from levelsets.errors import LevelsetsError
from levelsets.generative.gan import GAN, GanConfig
from levelsets.generative.training import (
    GanTrainSettings,
    TrainResult,
    VaeTrainSettings,
    _batches,
    train_gan,
    train_vae,
    vae_heldout_loss,
)
from levelsets.generative.vae import VAE, VaeConfig

SMALL_VAE = VaeConfig(channels=(8, 16), hidden=32)


@pytest.mark.parametrize("bad", [{"epochs": 0}, {"batch_size": 1}, {"lr": 0.0}])
def test_train_settings_validation(bad):
    with pytest.raises(LevelsetsError):
        VaeTrainSettings(**bad)


def _digits(n: int = 256) -> np.ndarray:
    from levelsets.data.mnist import load_mnist

    return load_mnist("train").images[:n]


@pytest.mark.slow
def test_tiny_training_lowers_the_loss_and_is_seeded():
    x = _digits(256)
    small = VaeConfig(channels=(8, 16), hidden=64)
    settings = VaeTrainSettings(epochs=6, batch_size=32, lr=2e-3, seed=1, device="cpu")
    r = train_vae(x, settings, config=small, progress=False)
    loss = r.history["loss"]
    assert len(loss) == 6 and r.seconds > 0
    assert loss[-1] < 0.7 * loss[0]  # a 784-pixel BCE drops from ~500 to well under 350 nats
    assert not r.model.training
    again = train_vae(x, VaeTrainSettings(epochs=1, batch_size=32, lr=2e-3, seed=1, device="cpu"), config=small, progress=False)
    first = train_vae(x, VaeTrainSettings(epochs=1, batch_size=32, lr=2e-3, seed=1, device="cpu"), config=small, progress=False)
    for p, q in zip(again.model.parameters(), first.model.parameters(), strict=True):
        torch.testing.assert_close(p, q)


@pytest.mark.parametrize("bad", [{"ema_decay": 1.0}, {"ema_decay": -0.1}, {"betas": (0.5, 1.0)}, {"lr_d": 0.0},
                                 {"batch_size": 1}])
def test_gan_train_settings_validation(bad):
    with pytest.raises(LevelsetsError):
        GanTrainSettings(**bad)


@pytest.mark.parametrize(("images", "needle"), [
    (np.zeros((4, 1, 32, 32), np.float32), "shape (N, 1, 28, 28), got (4, 1, 32, 32)"),
    (np.zeros((4, 28, 28), np.float32), "got (4, 28, 28)"),
    (np.zeros((1, 1, 28, 28), np.float32), "at least 2 training images"),
])
def test_bad_training_images_are_user_errors_before_any_step(images, needle):
    settings = VaeTrainSettings(epochs=1, batch_size=2, device="cpu")
    with pytest.raises(LevelsetsError) as exc:
        train_vae(images, settings, config=SMALL_VAE, progress=False)
    assert needle in str(exc.value)
    with pytest.raises(LevelsetsError, match="28, 28"):
        train_gan(np.zeros((4, 1, 32, 32), np.float32), GanTrainSettings(epochs=1, batch_size=2, device="cpu"),
                  progress=False)


def test_batches_drop_a_short_last_batch_unless_it_is_the_only_one():
    gen = torch.Generator().manual_seed(0)
    got = _batches(10, 4, gen)
    assert [len(b) for b in got] == [4, 4]  # the 2 left over wait for the next epoch's shuffle
    assert len(set(torch.cat(got).tolist())) == 8
    only = _batches(3, 4, gen)
    assert len(only) == 1 and sorted(only[0].tolist()) == [0, 1, 2]


def test_train_result_final_is_the_last_epoch_of_each_loss():
    result = TrainResult(model=torch.nn.Identity(), history={"loss": [3.0, 2.0, 1.5], "kl": [0.5, 0.7], "empty": []})
    assert result.final() == {"loss": 1.5, "kl": 0.7}


def test_vae_heldout_loss_is_the_example_weighted_negative_elbo():
    torch.manual_seed(0)
    model = VAE(SMALL_VAE)
    x = torch.rand(6, 1, 28, 28)
    model.train()
    got = vae_heldout_loss(model, x.numpy(), seed=3, batch_size=4)  # batches of 4 and 2
    assert model.training  # restored
    model.eval()
    torch.manual_seed(3)
    with torch.no_grad():
        first, second = model.loss(x[:4]), model.loss(x[4:])
    for key in ("loss", "recon", "kl"):
        assert got[key] == pytest.approx((4 * float(first[key]) + 2 * float(second[key])) / 6, rel=1e-5)
    assert got["loss"] == pytest.approx(got["recon"] + got["kl"], rel=1e-6)
    assert vae_heldout_loss(model, x, seed=3, batch_size=4) == got  # seeded: the same draws again


def test_one_gan_epoch_returns_an_eval_mode_model_and_a_finite_history():
    x = torch.rand(8, 1, 28, 28)
    small = GanConfig(gen_channels=(8, 4), disc_hidden=(8, 16), hidden=16)
    r = train_gan(x, GanTrainSettings(epochs=2, batch_size=4, seed=0, device="cpu"), config=small, progress=False)
    assert isinstance(r.model, GAN) and not r.model.training
    assert {k: len(v) for k, v in r.history.items()} == {"d_loss": 2, "g_loss": 2, "d_real": 2, "d_fake": 2}
    assert all(np.isfinite(v).all() for v in r.history.values()) and r.device == "cpu"
    again = train_gan(x, GanTrainSettings(epochs=2, batch_size=4, seed=0, device="cpu"), config=small, progress=False)
    assert again.history == r.history  # seeded


@pytest.mark.slow
def test_tiny_training_moves_generator_towards_the_data():
    from levelsets.data.mnist import load_mnist

    x = load_mnist("train").images[:512]
    small = GanConfig(gen_channels=(32, 16), disc_hidden=(128, 64), hidden=64)
    untrained = GAN(small).eval()
    before = float(untrained.sample(256, torch.Generator().manual_seed(0)).mean())
    r = train_gan(x, GanTrainSettings(epochs=8, batch_size=32, lr_g=1e-3, lr_d=1e-3, ema_decay=0.9, seed=0, device="cpu"), config=small, progress=False)
    assert set(r.history) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert all(len(v) == 8 and np.isfinite(v).all() for v in r.history.values())
    after = float(r.model.sample(256, torch.Generator().manual_seed(0)).mean())
    data_mean = float(x.mean())  # ~0.13: MNIST is mostly black
    # the sigmoid generator starts near 0.5 everywhere; training must pull its mean brightness
    # most of the way to the data's
    assert abs(before - data_mean) > 0.25
    assert abs(after - data_mean) < 0.5 * abs(before - data_mean)
    assert not r.model.training
