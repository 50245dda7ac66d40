"""Tiny stand-ins for CIFAR-10 and CIFAR-10H in their exact on-disk formats (tests, dry runs).

These machines have no CIFAR data, so the loaders are tested on files written here, byte-format
for byte-format like the published ones, but with random pixels and a few dozen images:

* :func:`write_cifar10_standin` writes ``cifar-10-batches-py/`` with ``data_batch_1`` ...
  ``data_batch_5``, ``test_batch`` and ``batches.meta`` as **Python 2 protocol-2 pickles**, as in
  the real release: string keys and values are Python 2 ``str`` (``SHORT_BINSTRING`` /
  ``BINSTRING`` opcodes, which Python 3 reads as ``b'data'`` with ``encoding='bytes'`` and as
  ``'data'`` with ``encoding='latin1'``), and the uint8 ``data`` array is pickled through
  ``numpy.core.multiarray._reconstruct``, ``numpy.ndarray`` and ``numpy.dtype``.
* :func:`write_cifar10h_standin` writes ``cifar10h-raw.csv`` (one row per trial, 10 attention
  checks per annotator with test index -99999, as published), and ``cifar10h-counts.npy`` /
  ``cifar10h-probs.npy`` computed from it.
* :func:`write_cifar10s_standin` writes CIFAR-10S-style responses (the JSON that
  ``levelsets labels build --classes cifar10`` reads).

Nothing trained on a stand-in says anything about CIFAR-10: its ``source`` still names the folder,
and the README says plainly that CIFAR results need the real data.
"""

from __future__ import annotations

import csv
import io
import pickle
import struct
from pathlib import Path

import numpy as np

from levelsets.data.cifar10 import CIFAR10_CLASSES, FOLDER, META, TEST_BATCH, TRAIN_BATCHES


class _Py2Pickler(pickle._Pickler):  # type: ignore[name-defined]
    """Protocol-2 pickler that writes bytes and str as Python 2 ``str`` and numpy's old module name."""

    dispatch = dict(pickle._Pickler.dispatch)  # type: ignore[attr-defined]

    def _save_py2_str(self, obj: bytes | str) -> None:
        data = obj.encode("latin1") if isinstance(obj, str) else obj
        n = len(data)
        if n < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([n]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", n) + data)
        self.memoize(obj)

    dispatch[bytes] = _save_py2_str
    dispatch[str] = _save_py2_str

    def save_global(self, obj, name=None):  # noqa: D102, ANN001, ANN201
        from levelsets.data.cifar10 import _allowed_globals

        if obj is _allowed_globals()[("numpy._core.multiarray", "_reconstruct")]:
            self.write(pickle.GLOBAL + b"numpy.core.multiarray\n_reconstruct\n")
            self.memoize(obj)
            return
        super().save_global(obj, name)


def py2_pickle_bytes(obj: object) -> bytes:
    """Pickle ``obj`` the way Python 2's cPickle (protocol 2) wrote the CIFAR-10 batches."""
    buf = io.BytesIO()
    _Py2Pickler(buf, protocol=2).dump(obj)
    return buf.getvalue()


def write_cifar10_standin(
    root: str | Path, *, per_batch: int = 4, n_test: int = 6, seed: int = 0, learnable: bool = True
) -> Path:
    """Write a tiny ``cifar-10-batches-py`` folder under ``root``; return its path.

    Parameters
    ----------
    root:
        Folder to write into (created).
    per_batch:
        Images in each of the five training batches.
    n_test:
        Images in ``test_batch``.
    seed:
        Seed of the pixels and labels.
    learnable:
        Give each class its own mean colour (plus noise), so that a classifier can learn
        something in a few steps; otherwise pixels are uniform noise.

    Returns
    -------
    Path
        ``root/cifar-10-batches-py``.
    """
    rng = np.random.default_rng(seed)
    folder = Path(root) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    colours = rng.integers(30, 226, size=(10, 3))

    def batch(n: int, label: str, offset: int) -> dict:
        labels = [int(v) for v in rng.integers(0, 10, size=n)]
        if learnable:
            base = colours[labels][:, :, None]  # (n, 3, 1)
            pixels = np.clip(base + rng.normal(0, 20, size=(n, 3, 1024)), 0, 255).astype(np.uint8)
        else:
            pixels = rng.integers(0, 256, size=(n, 3, 1024), dtype=np.uint8)
        return {
            b"batch_label": label.encode("latin1"),
            b"labels": labels,
            b"data": pixels.reshape(n, 3072),
            b"filenames": [f"standin_{offset + i:06d}.png".encode("latin1") for i in range(n)],
        }

    for i, name in enumerate(TRAIN_BATCHES):
        doc = batch(per_batch, f"training batch {i + 1} of 5", i * per_batch)
        (folder / name).write_bytes(py2_pickle_bytes(doc))
    (folder / TEST_BATCH).write_bytes(py2_pickle_bytes(batch(n_test, "testing batch 1 of 1", 10**6)))
    meta = {
        b"num_cases_per_batch": per_batch,
        b"label_names": [c.encode("latin1") for c in CIFAR10_CLASSES],
        b"num_vis": 3072,
    }
    (folder / META).write_bytes(py2_pickle_bytes(meta))
    return folder


RAW_COLUMNS: tuple[str, ...] = (
    "annotator_id", "amt_hit_id", "amt_assignment_id", "trial_index", "true_label", "true_category",
    "chosen_label", "chosen_category", "correct_guess", "subcategory", "cifar10_test_test_idx",
    "is_attn_check", "image_filename", "reaction_time", "time_elapsed",
)
"""Columns of the stand-in ``cifar10h-raw.csv`` (those of the published file)."""


def write_cifar10h_standin(
    folder: str | Path,
    *,
    n_images: int = 6,
    n_annotators: int = 5,
    per_annotator: int = 4,
    checks_per_annotator: int = 2,
    true_labels: np.ndarray | None = None,
    seed: int = 0,
) -> Path:
    """Write ``cifar10h-raw.csv``, ``cifar10h-counts.npy`` and ``cifar10h-probs.npy`` into ``folder``.

    Each annotator sees ``per_annotator`` distinct images (of ``n_images``) and
    ``checks_per_annotator`` attention checks (``is_attn_check`` 1, test index -99999, always
    answered correctly here, as nearly all were). The chosen class is the true one with
    probability 0.8, else a random class. The counts file is the count of choices per image and
    class over the non-check trials (float64, like the published file); probs are counts / row sum.

    Returns
    -------
    Path
        ``folder``.
    """
    rng = np.random.default_rng(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    truth = np.asarray(true_labels if true_labels is not None else rng.integers(0, 10, size=n_images), dtype=np.int64)
    counts = np.zeros((truth.size, 10), dtype=np.float64)
    rows = []
    for a in range(n_annotators):
        # round-robin, so every image is seen when n_annotators * per_annotator >= n_images
        images = (np.arange(min(per_annotator, truth.size)) + a * per_annotator) % truth.size
        trials = [(int(i), 0) for i in images] + [(-99999, 1)] * checks_per_annotator
        order = rng.permutation(len(trials))
        elapsed = 0
        for t, k in enumerate(order):
            idx, check = trials[k]
            true = int(rng.integers(0, 10)) if check else int(truth[idx])
            chosen = true if check or rng.random() < 0.8 else int(rng.integers(0, 10))
            if not check:
                counts[idx, chosen] += 1
            rt = int(rng.integers(400, 3000))
            elapsed += rt
            rows.append({
                "annotator_id": a, "amt_hit_id": f"HIT{a:04d}", "amt_assignment_id": f"ASSIGN{a:04d}",
                "trial_index": t + 1, "true_label": true, "true_category": CIFAR10_CLASSES[true],
                "chosen_label": chosen, "chosen_category": CIFAR10_CLASSES[chosen],
                "correct_guess": int(chosen == true), "subcategory": CIFAR10_CLASSES[true],
                "cifar10_test_test_idx": idx, "is_attn_check": check,
                "image_filename": f"attn_{a}_{t}.png" if check else f"standin_{idx:06d}.png",
                "reaction_time": rt, "time_elapsed": elapsed,
            })
    with open(folder / "cifar10h-raw.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(RAW_COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
    np.save(folder / "cifar10h-counts.npy", counts)
    totals = counts.sum(axis=1, keepdims=True)
    probs = np.divide(counts, totals, out=np.full_like(counts, 0.1), where=totals > 0)
    np.save(folder / "cifar10h-probs.npy", probs)
    return folder


def write_cifar10s_standin(
    path: str | Path,
    *,
    ids: list[int] | None = None,
    annotators: int = 3,
    true_labels: np.ndarray | None = None,
    seed: int = 0,
) -> Path:
    """Write CIFAR-10S-style responses ``{test index: [response, ...]}`` as JSON to ``path``.

    The published format (seed 001; read by :func:`levelsets.softlabels.label_files.build_label_file`):
    each response has ``"Most Probable Class"`` (a capitalized class name), ``"Most Probable
    Class Prob"`` (a float percentage), ``"Second Most Probable Class"`` (a name, or the string
    ``"No"``), ``"Second Most Probable Class Prob"`` (a float, or ``null`` when there is none) and
    ``"Impossible Class(es)"`` (a list of names). Ids are CIFAR-10 test-set indices as strings.

    Parameters
    ----------
    path:
        JSON file to write.
    ids:
        Test indices to label (default 0-5).
    annotators:
        Responses per image.
    true_labels:
        Most probable class of each id (default random).
    seed:
        Seed of the responses.

    Returns
    -------
    Path
        ``path``.
    """
    import json

    rng = np.random.default_rng(seed)
    ids = list(range(6)) if ids is None else [int(i) for i in ids]
    truth = np.asarray(true_labels if true_labels is not None else rng.integers(0, 10, size=len(ids)), dtype=np.int64)
    names = [c.capitalize() for c in CIFAR10_CLASSES]
    responses: dict[str, list[dict]] = {}
    for i, t in zip(ids, truth.tolist(), strict=True):
        rows = []
        for _ in range(annotators):
            p1 = float(rng.choice([60.0, 70.0, 80.0, 100.0]))
            if p1 < 100.0:
                second = int(rng.choice([c for c in range(10) if c != t]))
                top2, p2 = names[second], float(rng.choice([10.0, 20.0]))
            else:
                second, top2, p2 = -1, "No", None
            impossible = [names[c] for c in rng.permutation(10)[:4].tolist() if c not in (t, second)]
            rows.append({
                "Most Probable Class": names[t], "Most Probable Class Prob": p1,
                "Second Most Probable Class": top2, "Second Most Probable Class Prob": p2,
                "Impossible Class(es)": impossible,
            })
        responses[str(i)] = rows
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(responses, indent=1))
    return path
