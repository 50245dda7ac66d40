"""The shapes-world dataset (levelsets.data.shapes): images, labels, latents and exact posteriors."""

import math

import pytest
import torch

from levelsets.data.shapes import ShapesDataset, make_shapes_dataset
from levelsets.errors import LevelsetsError
from levelsets.generative import shapes


def test_dataset_shapes_and_types():
    ds = make_shapes_dataset(64, seed=0)
    assert isinstance(ds, ShapesDataset) and len(ds) == 64
    assert ds.images.shape == (64, 1, 64, 64) and ds.images.dtype == torch.float32
    assert ds.labels.shape == (64,) and ds.labels.dtype == torch.int64
    assert set(ds.labels.tolist()) <= {0, 1}
    assert ds.latents.shape == (64, 3) and ds.posteriors.shape == (64, 2)
    torch.testing.assert_close(ds.posteriors.sum(1), torch.ones(64))
    x, y = ds[5]
    assert x.shape == (1, 64, 64) and int(y) == int(ds.labels[5])
    torch.testing.assert_close(ds.images, shapes.render(ds.latents))
    circ = make_shapes_dataset(8, seed=0, circle=True)
    assert circ.latents.shape == (8, 6)


def test_dataset_is_deterministic_and_seed_dependent():
    a, b, c = make_shapes_dataset(32, 5), make_shapes_dataset(32, 5), make_shapes_dataset(32, 6)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert not torch.equal(a.latents, c.latents)
    # batching the renderer does not change the data, nor does the caller's RNG state
    torch.manual_seed(999)
    d = make_shapes_dataset(32, 5, batch_size=7)
    assert torch.equal(a.images, d.images)


def test_labels_follow_exact_posterior():
    ds = make_shapes_dataset(20_000, seed=1)
    p = ds.posteriors[:, 1].double()
    # E[c] = E[p(house | z)]; the difference has SE sqrt(mean(p(1-p))/n).
    se = math.sqrt(float((p * (1 - p)).mean()) / len(ds))
    assert abs(float(ds.labels.double().mean() - p.mean())) < 5 * se + 1e-9
    # class balance is Bernoulli(0.5)
    assert abs(float(ds.labels.double().mean()) - 0.5) < 5 * math.sqrt(0.25 / len(ds))
    # labels agree with the Bayes decision about as often as the Bayes accuracy says
    agree = float((ds.labels == ds.posteriors.argmax(1)).double().mean())
    bayes = ds.bayes_accuracy()
    assert abs(agree - bayes) < 5 * math.sqrt(bayes * (1 - bayes) / len(ds))


def test_soft_views():
    ds = make_shapes_dataset(16, seed=2)
    x, y = ds.soft("onehot")[3]
    assert y.shape == (2,) and float(y.sum()) == 1.0 and int(y.argmax()) == int(ds.labels[3])
    _, yp = ds.soft("posterior")[3]
    torch.testing.assert_close(yp, ds.posteriors[3])
    with pytest.raises(LevelsetsError):
        ds.soft("nope")
    with pytest.raises(LevelsetsError):
        make_shapes_dataset(0, seed=0)
