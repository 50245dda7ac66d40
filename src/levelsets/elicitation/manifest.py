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
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

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
        The per-participant batches (``label_order`` and ``trials``).
    """

    root: Path
    study_id: str
    class_names: tuple[str, ...]
    stimuli: dict[str, dict]
    batches: list[dict]

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
    """Read and check a stimulus directory.

    Raises
    ------
    LevelsetsError
        When the directory, its manifest or batches are missing or malformed, or a PNG is missing.
    """
    root = Path(directory).expanduser().resolve()
    if not root.is_dir():
        raise LevelsetsError(f"{directory} is not a directory; give the --out directory of `levelsets stimuli export`")
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
    return StimulusSet(root=root, study_id=str(manifest["study_id"]), class_names=class_names, stimuli=stimuli, batches=batch_list)
