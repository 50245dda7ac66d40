"""PreAct ResNet-18 (seed 001's CIFAR-10 model)."""

from __future__ import annotations

import pytest
import torch

from levelsets.classifiers.cnn import ARCHITECTURES, build_classifier
from levelsets.classifiers.resnet import PreActBlock, PreActResNet18


def test_parameter_count_matches_the_reference_design():
    # kuangliu's PreActResNet18 has 11,171,146 parameters; the final BN (full pre-activation) adds 2 x 512
    assert sum(p.numel() for p in PreActResNet18().parameters()) == 11_171_146 + 1024


def test_shapes_and_spatial_stages():
    model = PreActResNet18(num_classes=10, width=4).eval()
    x = torch.rand(3, 3, 32, 32)
    assert model(x).shape == (3, 10)
    feats = model.stages(model.stem(x))
    assert feats.shape == (3, 32, 4, 4)  # widths w, 2w, 4w, 8w; 32 -> 4 pixels


def test_block_is_identity_plus_residual_and_projects_when_needed():
    block = PreActBlock(4, 4).eval()
    torch.nn.init.zeros_(block.conv2.weight)
    x = torch.randn(2, 4, 8, 8)
    torch.testing.assert_close(block(x), x)  # zero residual: exactly the input
    down = PreActBlock(4, 8, stride=2)
    assert down.shortcut is not None and down(x).shape == (2, 8, 4, 4)


def test_normalization_uses_cifar_statistics():
    model = PreActResNet18(width=2).eval()
    x = torch.rand(2, 3, 32, 32)
    raw = PreActResNet18(width=2, normalize=False).eval()
    raw.load_state_dict(model.state_dict())
    torch.testing.assert_close(model(x), raw((x - model.mean) / model.std))


def test_registered_and_rebuilt_from_config():
    assert ARCHITECTURES["PreActResNet18"] is PreActResNet18
    model = PreActResNet18(width=3)
    again = build_classifier(model.config)
    again.load_state_dict(model.state_dict())
    x = torch.rand(2, 3, 32, 32)
    torch.testing.assert_close(model.eval()(x), again.eval()(x))


def test_trains_a_step_and_rejects_bad_width():
    model = PreActResNet18(width=2)
    loss = torch.nn.functional.cross_entropy(model(torch.rand(4, 3, 32, 32)), torch.tensor([0, 1, 2, 3]))
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())
    with pytest.raises(ValueError, match="width >= 1"):
        PreActResNet18(width=0)
