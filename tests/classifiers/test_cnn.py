import pytest
import torch

from levelsets.classifiers.cnn import MnistCNN, ShapesCNN, build_classifier
from levelsets.errors import LevelsetsError


def test_shapes_cnn_forward_shape():
    m = ShapesCNN().eval()
    out = m(torch.rand(5, 1, 64, 64))
    assert out.shape == (5, 2) and torch.isfinite(out).all()


def test_mnist_cnn_forward_shape():
    m = MnistCNN().eval()
    out = m(torch.rand(3, 1, 28, 28))
    assert out.shape == (3, 10) and torch.isfinite(out).all()


def test_build_from_config_round_trip():
    for cls in (ShapesCNN, MnistCNN):
        m = cls()
        rebuilt = build_classifier(m.config)
        assert type(rebuilt) is cls
        rebuilt.load_state_dict(m.state_dict())
    with pytest.raises(LevelsetsError):
        build_classifier({"arch": "ResNet9000"})
    with pytest.raises(ValueError):
        ShapesCNN(image_size=60)
