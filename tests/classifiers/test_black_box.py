"""as_probability_fn: torch modules, numpy callables and scikit-learn estimators as black boxes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from levelsets.classifiers.black_box import as_probability_fn
from levelsets.errors import LevelsetsError


def images(n=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 4, 4, generator=g)


class TinyNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(16, 3)
        self.drop = torch.nn.Dropout(0.5)

    def forward(self, x):
        return self.lin(self.drop(x.flatten(1)))


def test_torch_module_with_logits_eval_mode_no_grad():
    net = TinyNet().train()
    f = as_probability_fn(net, num_classes=3, logits=True)
    assert not net.training  # put in eval mode: dropout off, deterministic
    x = images()
    p = f(x)
    assert p.shape == (6, 3)
    assert not p.requires_grad
    assert torch.allclose(p.sum(1), torch.ones(6))
    assert torch.equal(p, f(x))
    assert torch.allclose(p, torch.softmax(net(x), 1))


def test_logits_without_flag_suggest_logits_true():
    f = as_probability_fn(TinyNet(), num_classes=3)
    with pytest.raises(LevelsetsError, match="logits=True"):
        f(images())


def test_numpy_callable_and_batching():
    calls = []

    def np_clf(x):
        calls.append(x.shape[0])
        m = np.asarray(x).reshape(x.shape[0], -1).mean(1)
        return np.stack([m, 1 - m], 1)

    f = as_probability_fn(np_clf, num_classes=2, batch_size=4)
    x = images(10)
    p = f(x)
    assert isinstance(p, torch.Tensor) and p.shape == (10, 2) and p.dtype == torch.float64
    assert calls == [4, 4, 2]
    assert torch.allclose(p[:, 0], x.reshape(10, -1).mean(1).double())


def test_sklearn_estimator_uses_predict_proba_on_flattened_images():
    rng = np.random.default_rng(0)
    x = rng.random((60, 16))
    y = (x[:, 0] > 0.5).astype(int)
    est = LogisticRegression().fit(x, y)
    f = as_probability_fn(est, num_classes=2)
    imgs = torch.tensor(x[:5].reshape(5, 1, 4, 4), dtype=torch.float32)
    p = f(imgs)
    assert p.shape == (5, 2)
    assert np.allclose(p.numpy(), est.predict_proba(x[:5]))


def test_nan_output_is_a_levelsets_error_with_counts():
    def bad(x):
        out = torch.full((x.shape[0], 2), 0.5)
        out[1, 0] = float("nan")
        out[3, 1] = float("inf")
        return out

    with pytest.raises(LevelsetsError, match="NaN or inf for 2 of 6 images"):
        as_probability_fn(bad, num_classes=2)(images())


def test_wrong_class_count_and_shape():
    f = as_probability_fn(lambda x: torch.full((x.shape[0], 3), 1 / 3), num_classes=2)
    with pytest.raises(LevelsetsError, match="K=3 classes but the target has 2"):
        f(images())
    g = as_probability_fn(lambda x: torch.full((x.shape[0],), 0.5))
    with pytest.raises(LevelsetsError, match=r"shape \(N, K\)"):
        g(images())
    h = as_probability_fn(lambda x: "nope")
    with pytest.raises(LevelsetsError, match="torch tensor or numpy array"):
        h(images())


def test_not_a_classifier():
    with pytest.raises(LevelsetsError, match="not a classifier"):
        as_probability_fn(42)
