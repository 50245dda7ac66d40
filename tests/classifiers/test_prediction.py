"""Predictions of a logits model (levelsets.classifiers.prediction): probabilities and accuracy."""

import math

import pytest
import torch

from levelsets.classifiers.prediction import accuracy, as_tensors, predict_probs, probs_and_labels

from .tiny_net import TinyNet


class Pairs(torch.utils.data.Dataset):
    """A dataset without ``tensors``: (image, label) pairs one by one."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.x[i], self.y[i]


def test_predict_probs_rows_sum_to_one():
    p = predict_probs(TinyNet(3), torch.rand(10, 1, 4, 4), batch_size=3, device="cpu")
    assert p.shape == (10, 3)
    torch.testing.assert_close(p.sum(1), torch.ones(10))


def test_predict_probs_is_the_softmax_in_eval_mode_and_keeps_the_training_flag():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Dropout(0.9), torch.nn.Linear(16, 3))
    x = torch.rand(7, 1, 4, 4)
    model.train()
    p = predict_probs(model, x, batch_size=2, device="cpu")
    assert model.training  # restored
    with torch.no_grad():
        want = torch.softmax(model.eval()(x), -1)  # dropout off: the eval-mode softmax, not a noisy one
    torch.testing.assert_close(p, want)
    assert p.dtype == torch.float32 and p.device.type == "cpu" and not p.requires_grad
    assert predict_probs(model, torch.rand(0, 1, 4, 4), device="cpu").shape == (0, 0)


def test_accuracy_with_soft_labels_and_dataset():
    model = TinyNet()
    x = torch.rand(20, 1, 4, 4)
    pred = predict_probs(model, x, device="cpu").argmax(1)
    assert accuracy(model, x, pred, device="cpu") == 1.0
    soft = torch.nn.functional.one_hot(1 - pred, 2).float()
    assert accuracy(model, torch.utils.data.TensorDataset(x, soft), device="cpu") == 0.0


def test_accuracy_counts_the_share_of_matching_argmaxes():
    model = TinyNet()
    x = torch.rand(8, 1, 4, 4)
    pred = predict_probs(model, x, device="cpu").argmax(1)
    y = pred.clone()
    y[:3] = 1 - y[:3]  # three wrong
    assert accuracy(model, x, y, device="cpu") == pytest.approx(5 / 8)
    assert accuracy(model, Pairs(x, y), batch_size=3, device="cpu") == pytest.approx(5 / 8)  # a generic dataset
    assert math.isnan(accuracy(model, torch.rand(0, 1, 4, 4), torch.zeros(0), device="cpu"))
    with pytest.raises(ValueError, match="labels are needed"):
        accuracy(model, x, device="cpu")


def test_as_tensors_and_probs_and_labels():
    x, y = torch.rand(5, 1, 4, 4), torch.tensor([0, 1, 1, 0, 1])
    got = as_tensors(torch.utils.data.TensorDataset(x, y))
    assert got is not None and got[0] is x and got[1] is y
    assert as_tensors(Pairs(x, y)) is None  # no tensors attribute
    assert as_tensors(torch.utils.data.TensorDataset(x)) is None  # one tensor, not (x, y)
    model = TinyNet()
    p_tensor, y_tensor = probs_and_labels(model, torch.utils.data.TensorDataset(x, y), 2, "cpu")
    p_pairs, y_pairs = probs_and_labels(model, Pairs(x, y), 2, "cpu")  # stacked one by one: same result
    torch.testing.assert_close(p_tensor, p_pairs)
    assert torch.equal(y_tensor, y) and torch.equal(y_pairs, y)
    torch.testing.assert_close(p_tensor, predict_probs(model, x, device="cpu"))
