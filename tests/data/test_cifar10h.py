"""The CIFAR-10H loader and label sets (levelsets.data.cifar10h) on stand-ins in the published format."""

from __future__ import annotations

import numpy as np
import pytest

from levelsets.data import cifar10h
from levelsets.data.standins import write_cifar10h_standin
from levelsets.errors import LevelsetsError


def one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text, text
    return text


def test_cifar10h_counts_and_raw_agree(tmp_path):
    truth = np.array([3, 5, 5, 0, 9, 1, 2, 2])
    write_cifar10h_standin(tmp_path, n_images=8, n_annotators=6, per_annotator=4, true_labels=truth, seed=2)
    counts = cifar10h.load_cifar10h(tmp_path)
    raw = cifar10h.load_cifar10h(tmp_path, source="raw")
    assert counts.counts.shape == (8, 10) and counts.counts.dtype == np.float64
    np.testing.assert_array_equal(counts.counts, raw.counts)
    assert counts.choices is None and [len(c) for c in raw.choices] == counts.counts.sum(axis=1).tolist()
    np.testing.assert_allclose(counts.probs.sum(axis=1), 1.0)
    np.testing.assert_allclose(cifar10h.load_probs(tmp_path), counts.probs)
    assert "12 attention checks excluded" in raw.source  # 6 annotators x 2 checks
    # the published counts file: (N, 10) float64 whole numbers, read without pickle
    arr = np.load(tmp_path / "cifar10h-counts.npy", allow_pickle=False)
    assert arr.dtype == np.float64 and arr.shape == (8, 10)


def test_cifar10h_label_sets(tmp_path):
    write_cifar10h_standin(tmp_path, n_images=20, n_annotators=10, per_annotator=6, seed=0)
    data = cifar10h.load_cifar10h(tmp_path, source="raw")
    train, held = cifar10h.test_set_split(20, seed=0)
    assert len(train) == 14 and len(held) == 6 and not set(train) & set(held)
    labels = cifar10h.cifar10h_label_set(data, split="heldout")
    assert labels.ids == [str(i) for i in held]
    np.testing.assert_allclose(labels.aggregate_matrix(), data.probs[held])
    per = cifar10h.cifar10h_label_set(data, split="train", per_annotator=True)
    first = per.per_annotator[str(train[0])]
    assert first.shape == (len(data.choices[train[0]]), 10) and set(first.sum(axis=1)) == {1.0}
    np.testing.assert_allclose(per.aggregate_matrix(), data.probs[train])
    with pytest.raises(LevelsetsError, match="need the raw trials"):
        cifar10h.cifar10h_label_set(cifar10h.load_cifar10h(tmp_path), per_annotator=True)


@pytest.mark.parametrize(("name", "content", "needle"), [
    ("cifar10h-counts.npy", np.ones((5, 9)), "not (10000, 10)"),
    ("cifar10h-counts.npy", np.full((5, 10), 0.1), "non-integer counts"),
    ("cifar10h-counts.npy", np.array([[1.0] * 10, [0.0] * 10]), "image 1 has no annotations"),
    ("cifar10h-counts.npy", np.array([{"a": 1}], dtype=object), "not a plain numeric .npy file"),
    ("cifar10h-counts.npy", b"\x93NUMPY garbage", "cifar10h-counts.npy"),
])
def test_cifar10h_bad_counts_are_one_line(tmp_path, name, content, needle):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        np.save(path, content, allow_pickle=True)
    with pytest.raises(LevelsetsError) as exc:
        cifar10h.load_cifar10h(tmp_path)
    assert needle in one_line(exc)


def test_cifar10h_truncated_counts(tmp_path):
    write_cifar10h_standin(tmp_path, n_images=30, n_annotators=10, per_annotator=9)
    path = tmp_path / "cifar10h-counts.npy"
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(LevelsetsError) as exc:
        cifar10h.load_cifar10h(tmp_path)
    assert "cifar10h-counts.npy" in one_line(exc)


def test_cifar10h_raw_problems(tmp_path):
    write_cifar10h_standin(tmp_path)
    csv = tmp_path / "cifar10h-raw.csv"
    text = csv.read_text()
    csv.write_text(text.replace("chosen_label", "choice", 1))
    with pytest.raises(LevelsetsError, match="lacks column"):
        cifar10h.load_cifar10h(tmp_path, source="raw")
    csv.write_text(text.splitlines()[0] + "\n")
    with pytest.raises(LevelsetsError, match="no trials apart from attention checks"):
        cifar10h.load_cifar10h(tmp_path, source="raw")
    (tmp_path / "cifar10h-counts.npy").unlink()
    with pytest.raises(LevelsetsError) as exc:
        cifar10h.load_cifar10h(tmp_path)
    assert "cifar10h-counts.npy is missing" in one_line(exc) and cifar10h.SOURCE_URL in str(exc.value)
