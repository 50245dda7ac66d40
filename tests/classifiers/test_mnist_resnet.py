"""The small pre-activation ResNet for MNIST (the classifier of the world mnist32) and its zoo entry."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from levelsets.classifiers import zoo
from levelsets.classifiers.cnn import ARCHITECTURES, build_classifier
from levelsets.classifiers.mnist_resnet import MNIST_MEAN, MNIST_STD, MnistPreActResNet
from levelsets.classifiers.resnet import PreActBlock
from levelsets.cli import app
from levelsets.errors import CheckpointError


def test_forward_shapes_and_spatial_stages():
    model = MnistPreActResNet(width=4).eval()
    x = torch.rand(5, 1, 28, 28)
    assert model(x).shape == (5, 10)
    feats = model.stem(x)
    assert feats.shape == (5, 4, 28, 28)
    sides = []
    for stage in model.stages:
        feats = stage(feats)
        sides.append(tuple(feats.shape[1:]))
    assert sides == [(4, 28, 28), (8, 14, 14), (16, 7, 7)]  # widths w, 2w, 4w; 28 -> 14 -> 7 pixels


def test_reuses_the_preact_blocks_and_counts_parameters():
    one = MnistPreActResNet()
    blocks = [m for m in one.modules() if isinstance(m, PreActBlock)]
    assert len(blocks) == 3  # one block per stage: stem + 6 convolutions + linear = 8 weight layers
    # stem 144; blocks: 16·16·9·2 + BN 2·32 | 16·32·9 + 32·32·9 + 16·32 + BN 32+64 | 32·64·9 + 64·64·9 + 32·64 + BN 64+128;
    # final BN 128; linear 64·10 + 10
    expected = 144 + (4608 + 64) + (4608 + 9216 + 512 + 96) + (18432 + 36864 + 2048 + 192) + 128 + 650
    assert sum(p.numel() for p in one.parameters()) == expected == 77_562
    two = MnistPreActResNet(blocks=2)
    assert len([m for m in two.modules() if isinstance(m, PreActBlock)]) == 6


def test_normalizes_with_mnist_statistics_inside():
    model = MnistPreActResNet(width=2).eval()
    raw = MnistPreActResNet(width=2, normalize=False).eval()
    raw.load_state_dict(model.state_dict())
    x = torch.rand(3, 1, 28, 28)
    torch.testing.assert_close(model(x), raw((x - MNIST_MEAN) / MNIST_STD))


def test_registered_and_rebuilt_from_config():
    assert ARCHITECTURES["MnistPreActResNet"] is MnistPreActResNet
    model = MnistPreActResNet(width=3, blocks=2).eval()
    again = build_classifier(model.config).eval()
    again.load_state_dict(model.state_dict())
    x = torch.rand(2, 1, 28, 28)
    torch.testing.assert_close(model(x), again(x))


def test_differentiable_in_the_input_and_rejects_bad_sizes():
    model = MnistPreActResNet(width=2).eval().requires_grad_(False)
    x = torch.rand(2, 1, 28, 28, requires_grad=True)
    torch.softmax(model(x), -1)[:, 7].sum().backward()
    assert x.grad is not None and float(x.grad.abs().sum()) > 0
    for bad in ({"width": 0}, {"blocks": 0}, {"num_classes": 1}):
        with pytest.raises(ValueError, match="width >= 1, blocks >= 1"):
            MnistPreActResNet(**bad)


def test_zoo_entry(tmp_path, monkeypatch):
    monkeypatch.setenv("LEVELSETS_HOME", str(tmp_path))
    assert "mnist-resnet" in zoo.CLASSIFIER_NAMES and zoo.ARCH["mnist-resnet"] == "MnistPreActResNet"
    assert zoo.classifier_path("mnist-resnet") == tmp_path / "classifier" / "mnist-resnet" / "model.pt"
    assert isinstance(zoo.new_classifier("mnist-resnet", width=3), MnistPreActResNet)
    with pytest.raises(CheckpointError) as info:
        zoo.get_classifier("mnist-resnet", train_if_missing=False)
    assert "levelsets train classifier --dataset mnist-resnet" in str(info.value) and "\n" not in str(info.value)


def test_train_classifier_cli_writes_a_checkpoint_that_loads(tmp_path, monkeypatch):
    monkeypatch.setenv("LEVELSETS_HOME", str(tmp_path / "home"))
    out = tmp_path / "resnet"
    args = ["train", "classifier", "--dataset", "mnist-resnet", "--width", "4", "--n-train", "200", "--epochs", "1",
            "--quiet", "--seed", "1", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "held-out accuracy" in result.output
    model, card = zoo.load_classifier(out / "model.pt", "mnist-resnet")
    assert isinstance(model, MnistPreActResNet) and model.config["width"] == 4
    assert card["arch"] == "MnistPreActResNet" and card["n_train"] == 200 and card["seed"] == 1
    assert json.loads((out / "model.card.json").read_text())["classes"] == list("0123456789")
    with torch.no_grad():
        p = torch.softmax(model(torch.rand(3, 1, 28, 28)), -1)
    torch.testing.assert_close(p.sum(1), torch.ones(3))
