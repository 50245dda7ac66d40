"""The stimulus directory format written by ``levelsets stimuli export`` and read by the web app.

A stimulus directory holds

``manifest.json``
    ``format`` (``"levelsets-stimuli/1"``), ``study_id`` (a hash of the content), ``class_names``
    (K,), ``size`` (pixels), ``seed``, and ``stimuli``: one record per image with ``id``, ``file``
    (relative path of the PNG), ``kind`` (``"sample"``, ``"catch"`` or ``"mixed"``), ``source``
    (run directory and sample index), ``latent`` (d,), ``probs`` (K,) the classifier's
    probabilities, ``target`` (K,) and ``target_spec``, ``expected`` (the expected answer of a catch
    trial, else ``null``) and, for mixed images, ``mixing``: ``lambda`` (weight of endpoint ``a``),
    and the two ``endpoints`` (source, class, probs).
``batches.json``
    ``batches``: one per participant slot, each a ``label_order`` (a shuffled permutation of the
    class names, the order of the class buttons) and ``trials``: ``trial`` (0-based position),
    ``stimulus`` (id), ``repeat`` (true for the second showing of a repeated stimulus) and ``catch``.
``images/*.png``
    the stimuli, upscaled with Lanczos.
``contact_sheet.png``
    an overview grid of the first stimuli with their ids.
``provenance.json``
    how the directory was made.

:func:`elicited_label_files` maps soft labels built from a study's responses (ids = stimulus
ids) back to the sample runs the stimuli came from, for training (the loop's ``elicited``
labeler).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from levelsets.errors import LevelsetsError

MANIFEST_FILE = "manifest.json"
BATCHES_FILE = "batches.json"
IMAGES_DIR = "images"
FORMAT = "levelsets-stimuli/1"
KINDS = ("sample", "catch", "mixed")


@dataclass(frozen=True)
class StimulusSet:
    """A loaded stimulus directory.

    Attributes
    ----------
    root:
        The directory (resolved, absolute).
    study_id:
        Content hash of the manifest and batches; the response database is tied to it.
    class_names:
        The K class names, in the classifier's order.
    stimuli:
        Stimulus id → its manifest record.
    batches:
        The per-participant batches (``label_order`` and ``trials``; in a live study also the
        ``round`` they belong to).
    runs:
        The manifest's run records (``name``, ``path``, ...): the sample runs the stimuli came from.
    """

    root: Path
    study_id: str
    class_names: tuple[str, ...]
    stimuli: dict[str, dict]
    batches: list[dict]
    runs: tuple[dict, ...] = ()

    @property
    def assignable(self) -> list[int]:
        """Batches a newcomer may get: those of the newest round (every batch outside a live study)."""
        newest = max((b.get("round", 0) for b in self.batches), default=0)
        return [i for i, b in enumerate(self.batches) if b.get("round", 0) == newest]

    @functools.cached_property
    def image_files(self) -> dict[str, str]:
        """Image file name (as in the ``/stimuli/<name>`` URL) → its path relative to :attr:`root`."""
        return {Path(record["file"]).name: record["file"] for record in self.stimuli.values()}

    def image_path(self, stimulus_id: str) -> Path:
        """Return the PNG of ``stimulus_id`` inside :attr:`root` (``KeyError`` when unknown)."""
        return self.root / self.stimuli[stimulus_id]["file"]

    def to_dict(self) -> dict:
        """Return what the database keeps, so that exports need no stimulus directory."""
        return {
            "study_id": self.study_id,
            "class_names": list(self.class_names),
            "stimuli": self.stimuli,
            "batches": self.batches,
        }

    @classmethod
    def from_dict(cls, data: dict, root: Path | None = None) -> StimulusSet:
        """Inverse of :meth:`to_dict`."""
        return cls(
            root=root or Path("."),
            study_id=str(data["study_id"]),
            class_names=tuple(data["class_names"]),
            stimuli=dict(data["stimuli"]),
            batches=list(data["batches"]),
        )


def _read_json(path: Path) -> dict:
    if not path.is_file():
        raise LevelsetsError(f"{path.parent} has no {path.name}; give a directory written by `levelsets stimuli export`")
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise LevelsetsError(f"{path} is not valid JSON ({exc}); re-run `levelsets stimuli export`") from None


def load_stimuli(directory: str | Path) -> StimulusSet:
    """Read and check a stimulus directory, or merge a live study's rounds (:mod:`levelsets.elicitation.study`).

    Raises
    ------
    LevelsetsError
        When the directory, its manifest or batches are missing or malformed, or a PNG is missing.
    """
    from levelsets.elicitation.study import is_study, load_study

    root = Path(directory).expanduser().resolve()
    if not root.is_dir():
        raise LevelsetsError(f"{directory} is not a directory; give the --out directory of `levelsets stimuli export`")
    if is_study(root):
        return load_study(root)
    manifest = _read_json(root / MANIFEST_FILE)
    batches = _read_json(root / BATCHES_FILE)
    if manifest.get("format") != FORMAT:
        raise LevelsetsError(f"{root / MANIFEST_FILE} is not a {FORMAT} manifest; re-run `levelsets stimuli export`")
    try:
        stimuli = {s["id"]: s for s in manifest["stimuli"]}
        class_names = tuple(manifest["class_names"])
        batch_list = list(batches["batches"])
        for batch in batch_list:
            for trial in batch["trials"]:
                if trial["stimulus"] not in stimuli:
                    raise LevelsetsError(
                        f"{root / BATCHES_FILE} names stimulus {trial['stimulus']!r} that the manifest lacks; "
                        "re-run `levelsets stimuli export`"
                    )
    except (KeyError, TypeError) as exc:
        raise LevelsetsError(f"{root} has a malformed manifest or batches (missing {exc}); re-run `levelsets stimuli export`") from None
    for sid, record in stimuli.items():
        path = (root / record["file"]).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise LevelsetsError(f"stimulus {sid}: image {record['file']} is missing from {root}; re-run `levelsets stimuli export`")
    if manifest.get("study_id") != batches.get("study_id"):
        raise LevelsetsError(f"{root}: manifest.json and batches.json come from different exports; re-run `levelsets stimuli export`")
    runs = tuple(r for r in manifest.get("runs", []) if isinstance(r, dict))
    return StimulusSet(root=root, study_id=str(manifest["study_id"]), class_names=class_names, stimuli=stimuli,
                       batches=batch_list, runs=runs)


ELICITED_INDEX_FILE = "elicited.json"
"""The index :func:`elicited_label_files` writes beside its label files."""


def _elicited_by_run(stimuli: StimulusSet, labels, labels_file: Path) -> dict[str, dict[int, np.ndarray]]:
    """Group the aggregate label of every labelled ``sample`` stimulus by source run path and index."""
    unknown = [sid for sid in labels.ids if sid not in stimuli.stimuli]
    if unknown:
        more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
        raise LevelsetsError(
            f"{labels_file} labels stimulus {unknown[0]!r}{more} that {stimuli.root} does not hold; "
            "give the stimulus directory the responses were collected on"
        )
    by_run: dict[str, dict[int, np.ndarray]] = {}
    for sid in labels.ids:
        record = stimuli.stimuli[sid]
        if record.get("kind") != "sample":
            continue
        source = record.get("source") or {}
        if source.get("path") is None or source.get("index") is None:
            raise LevelsetsError(f"stimulus {sid} in {stimuli.root} does not say which run it came from; re-run `levelsets stimuli export`")
        by_run.setdefault(str(source["path"]), {})[int(source["index"])] = labels.per_annotator[sid].mean(axis=0)
    if not by_run:
        raise LevelsetsError(
            f"{labels_file} labels none of the sample stimuli of {stimuli.root} (catch and mixed stimuli are not used); "
            "give the labels built from this study's responses"
        )
    return by_run


def _check_source_run(run, path: str, indices: list[int], stimuli: StimulusSet) -> None:
    """Check that a source run still holds the samples the stimuli were made from."""
    if [c.lower() for c in run.class_names] != [c.lower() for c in stimuli.class_names]:
        raise LevelsetsError(
            f"run {path} has classes {', '.join(run.class_names)} but the stimuli {', '.join(stimuli.class_names)}; "
            "the run was replaced after `levelsets stimuli export`"
        )
    latents = {int(r["source"]["index"]): r["latent"] for r in stimuli.stimuli.values()
               if r.get("kind") == "sample" and r.get("source") and str(r["source"].get("path")) == path}
    for i in indices:
        exported = latents.get(i)
        same = i < len(run) and exported is not None and np.allclose(
            np.asarray(run.latents[i], dtype=np.float64), np.asarray(exported, dtype=np.float64), rtol=1e-5, atol=1e-6)
        if not same:
            raise LevelsetsError(
                f"run {path} no longer holds sample {i} as exported to {stimuli.root}; "
                "the run was changed after `levelsets stimuli export` — use the original run or re-export and re-elicit"
            )


def subset_run(run, indices: list[int]):
    """The samples ``indices`` of ``run`` as a new :class:`~levelsets.runs.SampleRun` (no population, no summary)."""
    from levelsets.runs import SampleRun

    return SampleRun(
        latents=run.latents[indices], images=run.images[indices], probs=run.probs[indices],
        target=run.target, class_names=run.class_names,
        particle_index=None if run.particle_index is None else run.particle_index[indices],
        exact_posterior=None if run.exact_posterior is None else run.exact_posterior[indices],
    )


def elicited_label_files(
    stimuli_dir: str | Path, labels_file: str | Path, out_dir: str | Path | None = None
) -> tuple[list[Path], list[Path | None]]:
    r"""Turn elicited labels of stimuli back into labelled sample runs for training.

    Every ``sample`` stimulus in the manifest names its source run directory and the sample's
    index :math:`i` in it. For each source run with at least one labelled stimulus this writes
    a plain label file ``{"<i>": [p_1, ..., p_K]}`` holding the *aggregate* (annotator mean)
    elicited label :math:`\bar y_i = \frac{1}{M_i}\sum_m y_i^{(m)}` of each labelled sample.
    Catch and mixed stimuli are skipped.

    Training needs a label for every sample of an augmenting run, so:

    * a run whose samples are **all** labelled is returned as is (its source directory), with
      its label file keyed by the sample index in that run;
    * a run that is only **partly** labelled is copied, restricted to its labelled samples (in
      increasing source index), to ``out_dir/runs/<run name>/`` (``samples.npz`` and a
      ``summary.json`` recording the source path and indices); its label file is keyed by the
      index in that copy.

    Parameters
    ----------
    stimuli_dir:
        A stimulus directory written by ``levelsets stimuli export``.
    labels_file:
        Soft labels from ``levelsets labels build`` whose ids are stimulus ids (or a plain
        ``{stimulus id: label}`` file, read with the stimuli's class names).
    out_dir:
        Where to write the label files (``<run name>.labels.json``), partial-run copies and the
        index ``elicited.json``. Must not exist or be empty; written atomically. ``None``
        writes into a new temporary directory.

    Returns
    -------
    tuple of (list of Path, list of Path)
        The run directories and, for each, its label file (same order as the manifest's runs).

    Raises
    ------
    LevelsetsError
        An unreadable stimulus directory or label file; label classes that differ from the
        stimuli's; a label for a stimulus the directory does not hold; no labelled sample
        stimulus; a source run that no longer exists or no longer holds the exported samples.
    """
    import tempfile

    from levelsets.artifacts import (
        atomic_output_dir,
        check_writable_dir,
        provenance,
        write_json,
        write_sidecar,
    )
    from levelsets.runs import SUMMARY_FILE, load_run
    from levelsets.softlabels.label_files import load_soft_labels

    if out_dir is not None:
        check_writable_dir(out_dir)
    stimuli = load_stimuli(stimuli_dir)
    labels_file = Path(labels_file)
    labels = load_soft_labels(labels_file, class_names=stimuli.class_names)
    by_run = _elicited_by_run(stimuli, labels, labels_file)
    names = {str(r.get("path")): str(r["name"]) for r in stimuli.runs}
    order = [p for p in names if p in by_run] + sorted(p for p in by_run if p not in names)

    plans = []
    for path in order:
        if not Path(path).is_dir():
            raise LevelsetsError(
                f"source run {path} of the stimuli in {stimuli.root} no longer exists; restore it (the loop trains on its images)"
            )
        run = load_run(path)
        indices = sorted(by_run[path])
        _check_source_run(run, path, indices, stimuli)
        plans.append((names.get(path, Path(path).name), path, run, indices))

    if out_dir is None:
        out_dir = Path(tempfile.mkdtemp(prefix="levelsets-elicited-"))
    out_dir = Path(out_dir)
    run_dirs: list[Path] = []
    label_files: list[Path | None] = []
    index: list[dict] = []
    with atomic_output_dir(out_dir, overwrite=False) as tmp:
        for name, path, run, indices in plans:
            complete = indices == list(range(len(run)))
            if complete:
                run_dir = Path(path)
                keys = indices
            else:
                run_dir = out_dir / "runs" / name
                (tmp / "runs" / name).mkdir(parents=True)
                subset_run(run, indices).save(tmp / "runs" / name)
                write_json(tmp / "runs" / name / SUMMARY_FILE,
                           {**run.summary, "elicited_subset": {"source": path, "indices": indices}})
                keys = list(range(len(indices)))
            document = {str(k): [float(v) for v in by_run[path][i]] for k, i in zip(keys, indices, strict=True)}
            write_json(tmp / f"{name}.labels.json", document)
            run_dirs.append(run_dir)
            label_files.append(out_dir / f"{name}.labels.json")
            index.append({"run": name, "source": path, "used": str(run_dir), "labels": f"{name}.labels.json",
                          "source_indices": indices, "copied": not complete})
        write_json(tmp / ELICITED_INDEX_FILE, {"stimuli": str(stimuli.root), "study_id": stimuli.study_id,
                                               "labels": str(labels_file), "runs": index})
        write_sidecar(tmp, provenance(data={"stimuli": str(stimuli.root), "labels": str(labels_file)},
                                      study_id=stimuli.study_id, artifact="elicited label files"))
    return run_dirs, label_files
