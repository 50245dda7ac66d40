"""CIFAR-10 / CIFAR-10H / CIFAR-10S loaders on stand-ins written in the published on-disk formats."""

from __future__ import annotations

import json
import os
import pickle

import numpy as np
import pytest

from levelsets.data import cifar10, cifar10h
from levelsets.data.standins import (
    py2_pickle_bytes,
    write_cifar10_standin,
    write_cifar10h_standin,
    write_cifar10s_standin,
)
from levelsets.errors import LevelsetsError


def one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text, text
    return text


# --- CIFAR-10 python batches ------------------------------------------------------------------


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


def test_pixels_and_labels_round_trip(tmp_path):
    rng = np.random.default_rng(3)
    data = rng.integers(0, 256, size=(5, 3072), dtype=np.uint8)
    labels = [3, 0, 9, 9, 1]
    path = tmp_path / "data_batch_1"
    path.write_bytes(py2_pickle_bytes({b"data": data, b"labels": labels, b"batch_label": b"x", b"filenames": [b"a"] * 5}))
    images, y = cifar10.read_batch(path)
    assert images.shape == (5, 3, 32, 32) and images.dtype == np.uint8
    assert y.dtype == np.int64 and y.tolist() == labels
    # a row is 1,024 red, then green, then blue pixels, row-major
    np.testing.assert_array_equal(images[2, 1, 0, :], data[2, 1024:1056])
    np.testing.assert_array_equal(images[4, 2, 31, 31], data[4, 3071])


def test_load_train_and_heldout(tmp_path):
    write_cifar10_standin(tmp_path, per_batch=4, n_test=6, seed=1)
    train = cifar10.load_cifar10("train", data_dir=tmp_path)
    held = cifar10.load_cifar10("heldout", data_dir=tmp_path / cifar10.FOLDER)  # the folder itself works too
    assert train.images.shape == (20, 3, 32, 32) and held.images.shape == (6, 3, 32, 32)
    assert train.images.dtype == np.float32 and train.labels.dtype == np.int64
    assert 0.0 <= train.images.min() and train.images.max() <= 1.0
    assert "data_batch_1-5" in train.source and "20 training images" in train.source
    assert "test_batch" in held.source and str(tmp_path) in held.source
    # batch order is kept: the first 4 training images are data_batch_1's
    first, labels = cifar10.read_batch(tmp_path / cifar10.FOLDER / "data_batch_1")
    np.testing.assert_allclose(train.images[:4] * 255, first.astype(np.float32), atol=1e-3)
    np.testing.assert_array_equal(train.labels[:4], labels)
    assert train.class_counts.sum() == 20


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickle_is_refused_and_nothing_runs(tmp_path):
    folder = write_cifar10_standin(tmp_path)
    marker = tmp_path / "pwned"
    (folder / "data_batch_3").write_bytes(pickle.dumps({"data": _Exploit(marker), "labels": []}, protocol=2))
    with pytest.raises(LevelsetsError) as exc:
        cifar10.load_cifar10("train", data_dir=tmp_path)
    msg = one_line(exc)
    assert "data_batch_3 is not a genuine CIFAR-10 batch" in msg and "refused global" in msg and "system" in msg
    assert not marker.exists()


@pytest.mark.parametrize("payload", [
    pickle.dumps(print),  # builtins.print
    b"\x80\x02cbuiltins\neval\nq\x00X\x04\x00\x00\x001+1q\x01\x85q\x02Rq\x03.",  # eval('1+1')
])
def test_other_globals_are_refused(tmp_path, payload):
    path = tmp_path / "test_batch"
    path.write_bytes(payload)
    with pytest.raises(LevelsetsError, match="refused global builtins"):
        cifar10.read_batch(path)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_truncated_or_corrupt_batch_is_one_line(tmp_path, damage):
    folder = write_cifar10_standin(tmp_path, per_batch=8)
    path = folder / "data_batch_2"
    raw = path.read_bytes()
    path.write_bytes({"truncate": raw[: len(raw) // 2], "garbage": b"\x00\xffnot a pickle" * 10, "empty": b""}[damage])
    with pytest.raises(LevelsetsError) as exc:
        cifar10.load_cifar10("train", data_dir=tmp_path)
    msg = one_line(exc)
    assert "data_batch_2" in msg and "re-download" in msg and "cifar-10-python.tar.gz" in msg


@pytest.mark.parametrize(("doc", "needle"), [
    ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 12]}, "labels outside 0-9 (CIFAR-100"),
    ({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}, "not uint8 of shape (N, 3072)"),
    ({b"data": np.zeros((2, 3072), np.float32), b"labels": [0, 1]}, "not uint8 of shape (N, 3072)"),
    ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}, "2 images but 1 labels"),
    ({b"images": np.zeros((2, 3072), np.uint8)}, "no 'data' and 'labels' entries"),
    ([1, 2, 3], "holds a list"),
])
def test_wrong_contents_are_one_line(tmp_path, doc, needle):
    path = tmp_path / "data_batch_1"
    path.write_bytes(py2_pickle_bytes(doc))
    with pytest.raises(LevelsetsError) as exc:
        cifar10.read_batch(path)
    assert needle in one_line(exc)


def test_meta_must_list_cifar10_classes(tmp_path):
    folder = write_cifar10_standin(tmp_path)
    assert cifar10.read_meta(folder / "batches.meta") == cifar10.CIFAR10_CLASSES
    (folder / "batches.meta").write_bytes(py2_pickle_bytes({b"fine_label_names": [b"apple"]}))
    with pytest.raises(LevelsetsError, match="no 'label_names' list"):
        cifar10.read_meta(folder / "batches.meta")


def test_missing_data_says_where_to_get_it_and_which_files(tmp_path):
    with pytest.raises(LevelsetsError) as exc:
        cifar10.load_cifar10("train", data_dir=tmp_path)
    msg = one_line(exc)
    assert f"--data-dir {tmp_path} holds no cifar-10-batches-py/batches.meta" in msg
    assert cifar10.URL in msg and "--download" in msg
    assert "data_batch_1..data_batch_5, test_batch, batches.meta" in msg
    (tmp_path / "cifar-10-python.tar.gz").write_bytes(b"")
    with pytest.raises(LevelsetsError, match="unpack it first"):
        cifar10.load_cifar10("heldout", data_dir=tmp_path)
    folder = write_cifar10_standin(tmp_path / "x")
    (folder / "data_batch_4").unlink()
    with pytest.raises(LevelsetsError, match="data_batch_4 is missing"):
        cifar10.load_cifar10("train", data_dir=folder)


def test_failed_download_is_one_line(tmp_path, monkeypatch, log_notes):
    import torchvision

    monkeypatch.setattr(torchvision.datasets.CIFAR10, "url", (tmp_path / "nowhere" / "cifar-10-python.tar.gz").as_uri())
    notes = log_notes
    with pytest.raises(LevelsetsError) as exc:
        cifar10.load_cifar10("train", data_dir=tmp_path / "d", download=True)
    msg = one_line(exc)
    assert msg.startswith(f"could not download CIFAR-10 into {tmp_path / 'd'}") and "--data-dir" in msg
    assert notes and "downloading CIFAR-10" in notes[0]


def test_unknown_split():
    with pytest.raises(LevelsetsError, match="unknown CIFAR-10 split"):
        cifar10.load_cifar10("test")


# --- CIFAR-10H -------------------------------------------------------------------------------


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


# --- CIFAR-10S -------------------------------------------------------------------------------


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


def test_download_path_fetches_checks_and_unpacks_the_archive(tmp_path, monkeypatch, log_notes):
    # torchvision's real downloader, pointed at a loopback HTTP server holding an archive of the stand-in
    import functools
    import hashlib
    import http.server
    import tarfile
    import threading

    import torchvision

    write_cifar10_standin(tmp_path / "src", per_batch=3, n_test=5, seed=4)
    served = tmp_path / "served"
    served.mkdir()
    archive = served / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "src" / cifar10.FOLDER, arcname=cifar10.FOLDER)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # noqa: D102
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(served)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setattr(torchvision.datasets.CIFAR10, "url", f"http://127.0.0.1:{server.server_port}/{archive.name}")
        monkeypatch.setattr(torchvision.datasets.CIFAR10, "tgz_md5", hashlib.md5(archive.read_bytes()).hexdigest())
        notes = log_notes
        notes.clear()
        got = cifar10.load_cifar10("heldout", data_dir=tmp_path / "home", download=True)
        want = cifar10.load_cifar10("heldout", data_dir=tmp_path / "src")
        np.testing.assert_array_equal(got.images, want.images)
        assert (tmp_path / "home" / cifar10.FOLDER / "data_batch_5").is_file() and len(notes) == 1
        # present now: no second download
        cifar10.load_cifar10("train", data_dir=tmp_path / "home", download=True)
        assert len(notes) == 1
        # an archive whose MD5 does not match fails torchvision's check: one line, nothing loaded
        monkeypatch.setattr(torchvision.datasets.CIFAR10, "tgz_md5", "0" * 32)
        with pytest.raises(LevelsetsError) as exc:
            cifar10.load_cifar10("heldout", data_dir=tmp_path / "other", download=True)
        assert one_line(exc).startswith("could not download CIFAR-10")
        assert not (tmp_path / "other" / archive.name).exists()  # the failed download is not left behind
    finally:
        server.shutdown()
        server.server_close()
