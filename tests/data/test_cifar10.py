"""The CIFAR-10 loader (levelsets.data.cifar10) on stand-ins written in the published on-disk format."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from levelsets.data import cifar10
from levelsets.data.standins import py2_pickle_bytes, write_cifar10_standin
from levelsets.errors import LevelsetsError


def one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text, text
    return text


# --- CIFAR-10 python batches ------------------------------------------------------------------


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
