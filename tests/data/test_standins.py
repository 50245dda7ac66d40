"""The CIFAR stand-ins (levelsets.data.standins): the published on-disk formats, with tiny made-up contents."""

from __future__ import annotations

import csv
import json
import pickle

import numpy as np

from levelsets.data import cifar10
from levelsets.data.standins import (
    RAW_COLUMNS,
    py2_pickle_bytes,
    write_cifar10_standin,
    write_cifar10h_standin,
    write_cifar10s_standin,
)


def test_standin_is_a_python2_protocol2_pickle_that_plain_pickle_reads(tmp_path):
    folder = write_cifar10_standin(tmp_path, per_batch=3, n_test=4)
    assert sorted(p.name for p in folder.iterdir()) == sorted([*cifar10.TRAIN_BATCHES, "test_batch", "batches.meta"])
    raw = (folder / "data_batch_1").read_bytes()
    assert raw[:2] == b"\x80\x02"  # protocol 2, as cPickle wrote it
    assert b"cnumpy.core.multiarray\n_reconstruct\n" in raw  # Python 2 numpy's module name
    # torchvision reads the batches with plain pickle and encoding="latin1": same arrays
    with open(folder / "data_batch_1", "rb") as fh:
        plain = pickle.load(fh, encoding="latin1")
    assert set(plain) == {"data", "labels", "batch_label", "filenames"}
    images, labels = cifar10.read_batch(folder / "data_batch_1")
    np.testing.assert_array_equal(images.reshape(3, 3072), plain["data"])
    np.testing.assert_array_equal(labels, plain["labels"])
    with open(folder / "data_batch_1", "rb") as fh:  # and with encoding="bytes" the keys are bytes
        assert b"data" in pickle.load(fh, encoding="bytes")


def test_py2_pickle_writes_strings_as_python2_str():
    raw = py2_pickle_bytes({b"key": "value", "n": 3})
    assert raw[:2] == b"\x80\x02"
    assert b"U\x03key" in raw and b"U\x05value" in raw and b"X\x05\x00" not in raw  # SHORT_BINSTRING, never BINUNICODE
    assert pickle.loads(raw, encoding="latin1") == {"key": "value", "n": 3}
    assert pickle.loads(raw, encoding="bytes") == {b"key": b"value", b"n": 3}


def test_learnable_standin_gives_each_class_its_own_colour(tmp_path):
    images, labels = cifar10.read_batch(write_cifar10_standin(tmp_path / "a", per_batch=60, seed=5) / "data_batch_1")
    colour = images.reshape(len(labels), 3, -1).mean(axis=2)  # (n, 3) mean colour of each image
    classes = sorted(set(labels.tolist()))
    assert len(classes) >= 8
    within = max(np.abs(colour[labels == c] - colour[labels == c].mean(0)).max() for c in classes)
    means = np.array([colour[labels == c].mean(0) for c in classes])
    between = min(np.abs(means[i] - means[j]).max() for i in range(len(classes)) for j in range(i))
    assert within < 5 < between  # pixel noise sd 20 over 1,024 pixels averages out; class colours differ
    noise, _ = cifar10.read_batch(write_cifar10_standin(tmp_path / "b", per_batch=60, seed=5, learnable=False)
                                  / "data_batch_1")
    spread = noise.reshape(60, 3, -1).mean(axis=2)
    assert np.abs(spread - 127.5).max() < 10  # uniform noise: every image's mean is mid-grey


def test_standins_are_determined_by_their_seed(tmp_path):
    a = write_cifar10_standin(tmp_path / "a", seed=3)
    b = write_cifar10_standin(tmp_path / "b", seed=3)
    c = write_cifar10_standin(tmp_path / "c", seed=4)
    assert (a / "test_batch").read_bytes() == (b / "test_batch").read_bytes()
    assert (a / "test_batch").read_bytes() != (c / "test_batch").read_bytes()


def test_cifar10h_standin_raw_trials_and_counts_agree(tmp_path):
    truth = np.array([1, 1, 4, 7, 9])
    folder = write_cifar10h_standin(tmp_path, n_images=5, n_annotators=4, per_annotator=3, checks_per_annotator=2,
                                    true_labels=truth, seed=1)
    with open(folder / "cifar10h-raw.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == RAW_COLUMNS and len(rows) == 4 * (3 + 2)
    checks = [r for r in rows if r["is_attn_check"] == "1"]
    assert len(checks) == 8 and all(r["cifar10_test_test_idx"] == "-99999" and r["correct_guess"] == "1" for r in checks)
    trials = [r for r in rows if r["is_attn_check"] == "0"]
    assert all(int(r["true_label"]) == truth[int(r["cifar10_test_test_idx"])] for r in trials)
    counts = np.zeros((5, 10))
    for r in trials:
        counts[int(r["cifar10_test_test_idx"]), int(r["chosen_label"])] += 1
    np.testing.assert_array_equal(np.load(folder / "cifar10h-counts.npy"), counts)
    assert counts.sum(axis=1).min() >= 1  # round-robin: 12 showings cover all 5 images
    np.testing.assert_allclose(np.load(folder / "cifar10h-probs.npy"), counts / counts.sum(axis=1, keepdims=True))
    for r in rows:  # each annotator's elapsed time adds up their reaction times
        assert int(r["time_elapsed"]) >= int(r["reaction_time"]) >= 400


def test_cifar10s_standin_responses_follow_the_published_format(tmp_path):
    truth = np.array([0, 3, 8, 9])
    path = write_cifar10s_standin(tmp_path / "deep" / "r.json", ids=[10, 11, 12, 13], annotators=5, true_labels=truth,
                                  seed=2)
    raw = json.loads(path.read_text())
    names = [c.capitalize() for c in cifar10.CIFAR10_CLASSES]
    assert list(raw) == ["10", "11", "12", "13"] and all(len(v) == 5 for v in raw.values())
    for key, t in zip(raw, truth, strict=True):
        for r in raw[key]:
            assert r["Most Probable Class"] == names[t]
            if r["Most Probable Class Prob"] == 100.0:  # certain: no second class
                assert (r["Second Most Probable Class"], r["Second Most Probable Class Prob"]) == ("No", None)
            else:
                assert r["Second Most Probable Class"] in names and r["Second Most Probable Class"] != names[t]
                assert r["Second Most Probable Class Prob"] < r["Most Probable Class Prob"]
            assert not {names[t], r["Second Most Probable Class"]} & set(r["Impossible Class(es)"])


def test_cifar10s_standin_builds_cifar10_labels(tmp_path):
    from levelsets.softlabels.label_files import build_label_file, load_soft_labels

    responses = write_cifar10s_standin(tmp_path / "cifar10s.json", ids=[4, 0, 7], annotators=2, true_labels=np.array([3, 5, 9]))
    raw = json.loads(responses.read_text())
    assert set(raw) == {"4", "0", "7"} and raw["4"][0]["Most Probable Class"] == "Cat"
    result = build_label_file(responses, classes="cifar10", variety="t2-clamp", gamma=0.1, out=tmp_path / "labels.json")
    assert result.num_examples == 3 and result.num_labels == 6
    labels = load_soft_labels(tmp_path / "labels.json", class_names=cifar10.CIFAR10_CLASSES)
    agg = labels.aggregate_matrix()
    assert agg.shape == (3, 10)
    np.testing.assert_allclose(agg.sum(axis=1), 1.0)
    assert agg.argmax(axis=1).tolist() == [3, 5, 9]  # the most probable class keeps the most mass
