"""Training sets from a base dataset, soft-label files and augmenting runs; de-aggregation."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from levelsets.errors import LevelsetsError
from levelsets.runs import SampleRun
from levelsets.softlabels.training_data import DeaggregatedDataset, build_training_set

CLASSES = ("rocket", "house")


def base(n=5):
    images = torch.arange(n * 16, dtype=torch.float32).reshape(n, 1, 4, 4) / (n * 16)
    return torch.utils.data.TensorDataset(images, torch.tensor([0, 1, 0, 1, 0][:n]))


def make_run(path, n=3, posterior=True, classes=CLASSES, shape=(1, 4, 4)):
    rng = np.random.default_rng(0)
    post = rng.dirichlet([1, 1], size=n) if posterior else None
    run = SampleRun(
        latents=rng.normal(size=(n, 3)),
        images=rng.uniform(size=(n, *shape)),
        probs=np.full((n, 2), 0.5),
        target=np.array([0.5, 0.5]),
        class_names=classes,
        exact_posterior=post,
    )
    path.mkdir()
    run.save(path)
    return run


def labels_file(path, examples):
    doc = {"format": "levelsets-soft-labels", "format_version": 1, "class_names": list(CLASSES),
           "variety": "t2-clamp", "gamma": 0.1,
           "examples": {k: {"annotators": v, "aggregate": list(np.mean(v, axis=0))} for k, v in examples.items()}}
    path.write_text(json.dumps(doc))
    return path


def test_base_soft_labels_and_augment(tmp_path):
    lf = labels_file(tmp_path / "l.json", {"1": [[0.2, 0.8], [0.6, 0.4]], "4": [[0.5, 0.5]]})
    run = make_run(tmp_path / "run")
    data = build_training_set(base(), class_names=CLASSES, soft_labels=lf, augment=[tmp_path / "run"])
    x, y = data.dataset.tensors
    assert x.shape == (8, 1, 4, 4) and y.shape == (8, 2)
    np.testing.assert_allclose(y[:5].numpy(), [[1, 0], [0.4, 0.6], [1, 0], [0, 1], [0.5, 0.5]], atol=1e-7)
    np.testing.assert_allclose(y[5:].numpy(), run.exact_posterior, atol=1e-6)
    np.testing.assert_allclose(x[5:].numpy(), run.images, atol=1e-7)
    assert data.info["soft_labelled_examples"] == 2 and data.info["augment"][0]["labels"] == "posterior"
    target = build_training_set(None, class_names=CLASSES, augment=[tmp_path / "run"], label_source="target")
    np.testing.assert_allclose(target.dataset.tensors[1].numpy(), 0.5)


def test_augment_label_file_keyed_by_sample_index(tmp_path):
    make_run(tmp_path / "run", posterior=False)
    lf = labels_file(tmp_path / "l.json", {"0": [[1, 0]], "1": [[0, 1]], "2": [[0.3, 0.7]]})
    data = build_training_set(None, class_names=CLASSES, augment=[tmp_path / "run"], augment_labels=[lf])
    np.testing.assert_allclose(data.dataset.tensors[1].numpy(), [[1, 0], [0, 1], [0.3, 0.7]], atol=1e-7)


def test_deaggregated_draws_one_annotator_and_is_seeded(tmp_path):
    lf = labels_file(tmp_path / "l.json", {"1": [[0.2, 0.8], [0.6, 0.4]]})
    data = build_training_set(base(), class_names=CLASSES, soft_labels=lf, deaggregate=True, seed=3)
    ds = data.dataset
    assert isinstance(ds, DeaggregatedDataset) and len(ds) == 5
    draws = [round(float(ds[1][1][0]), 4) for _ in range(400)]  # first entry names the annotator
    assert set(draws) == {0.2, 0.6}
    share = sum(d == 0.2 for d in draws) / 400
    assert abs(share - 0.5) < 4 * np.sqrt(0.25 / 400)
    np.testing.assert_allclose(ds[0][1].numpy(), [1, 0])
    again = build_training_set(base(), class_names=CLASSES, soft_labels=lf, deaggregate=True, seed=3).dataset
    assert [round(float(again[1][1][0]), 4) for _ in range(400)] == draws
    np.testing.assert_allclose(ds.mean_labels()[1].numpy(), [0.4, 0.6], atol=1e-7)
    # works with a DataLoader
    xb, yb = next(iter(torch.utils.data.DataLoader(ds, batch_size=5)))
    assert xb.shape == (5, 1, 4, 4) and yb.shape == (5, 2)


@pytest.mark.parametrize(
    ("examples", "needle"),
    [
        ({"1": [[0.2, 0.3, 0.5]]}, "3 entries but there are 2 classes"),
        ({"1": [[0.2, 0.3]]}, "sums to 0.5"),
        ({"9": [[0.5, 0.5]]}, "id '9' matches no example"),
        ({"x": [[0.5, 0.5]], "y": [[0.5, 0.5]]}, "(and 1 more) matches no example"),
    ],
)
def test_bad_soft_labels_one_line(tmp_path, examples, needle):
    lf = labels_file(tmp_path / "l.json", examples)
    with pytest.raises(LevelsetsError) as info:
        build_training_set(base(), class_names=CLASSES, soft_labels=lf)
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_plain_label_file_is_accepted(tmp_path):
    lf = tmp_path / "plain.json"
    lf.write_text(json.dumps({"0": [0.3, 0.7], "2": [[0.1, 0.9], [0.5, 0.5]]}))
    y = build_training_set(base(), class_names=CLASSES, soft_labels=lf).dataset.tensors[1]
    np.testing.assert_allclose(y[[0, 2]].numpy(), [[0.3, 0.7], [0.3, 0.7]], atol=1e-7)


def test_bad_augment_runs(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(LevelsetsError, match="is empty"):
        build_training_set(base(), class_names=CLASSES, augment=[tmp_path / "empty"])
    with pytest.raises(LevelsetsError, match="not a directory"):
        build_training_set(base(), class_names=CLASSES, augment=[tmp_path / "missing"])
    make_run(tmp_path / "other", classes=("a", "b"))
    with pytest.raises(LevelsetsError, match="has classes a, b"):
        build_training_set(base(), class_names=CLASSES, augment=[tmp_path / "other"])
    make_run(tmp_path / "big", shape=(1, 8, 8))
    with pytest.raises(LevelsetsError, match="images of shape"):
        build_training_set(base(), class_names=CLASSES, augment=[tmp_path / "big"])
    make_run(tmp_path / "nopost", posterior=False)
    with pytest.raises(LevelsetsError, match="no exact posterior"):
        build_training_set(base(), class_names=CLASSES, augment=[tmp_path / "nopost"], label_source="posterior")
    with pytest.raises(LevelsetsError, match="empty"):
        build_training_set(None, class_names=CLASSES)


def test_fit_trains_on_a_deaggregated_set(tmp_path):
    from levelsets.classifiers.training import TrainSettings, fit
    from levelsets.softlabels.methods import Mixup

    lf = labels_file(tmp_path / "l.json", {"1": [[0.2, 0.8], [0.6, 0.4]]})
    ds = build_training_set(base(), class_names=CLASSES, soft_labels=lf, deaggregate=True).dataset
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 2))
    history = fit(model, ds, settings=TrainSettings(epochs=2, batch_size=2, device="cpu", progress=False), method=Mixup(0.4))
    assert len(history.train_loss) == 2 and all(np.isfinite(history.train_loss))
