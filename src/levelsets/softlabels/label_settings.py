"""Settings of ``levelsets labels build`` (:class:`BuildLabelsJob`) and ``levelsets labels cifar10h`` (:class:`Cifar10hJob`).

Each field is one option of its command (its docstring the option's ``--help``,
:mod:`levelsets.cli.options`); the settings are validated on construction, in one line per
mistake, and written resolved into the label file's sidecar. Torch- and pandas-free, so the CLI
can build its options from this module cheaply.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from levelsets.errors import LevelsetsError
from levelsets.softlabels.label_construction import DEFAULT_GAMMA, ConstructionSettings


@dataclass
class BuildLabelsJob:
    """Settings of ``levelsets labels build`` and :func:`levelsets.softlabels.label_files.build_label_file`."""

    responses: Path
    """JSON file {example id: [response, ...]} in the CIFAR-10S format."""
    classes: str | Sequence[str] = field(metadata={"type": str})
    """cifar10, mnist, shapes, or a list such as "cat,dog,bird"."""
    out: Path = field(metadata={"flags": ("-o",)})
    """Output JSON file; a provenance sidecar <out>.json and the anomaly list <stem>.anomalies.json are written
    beside it."""
    variety: str = "t2-clamp"
    """t2-clamp (all information), t2-uniform, t1-clamp or t1-uniform."""
    gamma: float = DEFAULT_GAMMA
    """Mass kept for possible-but-unnamed classes when the named mass reaches 100% (clamp only)."""
    strict: bool = False
    """Refuse the published data's anomalies (second class = first, a named class marked impossible, a second class
    without a probability) instead of building them as the published CIFAR-10S labels were."""
    aggregate: str = "mean"
    """mean (of the soft labels), dawid-skene or glad (crowd-kit posteriors from each response's most probable class;
    needs annotator ids)."""
    annotators: Path | None = None
    """Which annotator gave each response: the responses.details.json of `elicit export` (used by default when it sits
    beside the responses) or {example id: [annotator id, ...]}."""
    unreliable_below: float | None = None
    """Flag annotators whose estimated accuracy is below this (dawid-skene/glad; default 0.5)."""
    table: Path | None = None
    """Also write crowd-kit's (task, worker, label) table as CSV (label = most probable class; needs annotator ids)."""

    def __post_init__(self) -> None:
        self.responses, self.out = Path(self.responses), Path(self.out)
        self.construction_settings()  # --variety, --gamma: the construction's own checks
        if self.aggregate != "mean":
            from levelsets.softlabels.crowd import AGGREGATES  # pandas: only for a crowd aggregate

            if self.aggregate not in AGGREGATES:
                raise LevelsetsError(f"unknown --aggregate {self.aggregate!r}; choose one of {', '.join(AGGREGATES)}")
        elif self.unreliable_below is not None:
            raise LevelsetsError("--unreliable-below needs --aggregate dawid-skene or glad (the mean rates no annotator)")
        if self.table is not None:
            self.table = Path(self.table)
            if self.table.suffix.lower() != ".csv":
                raise LevelsetsError(f"--table {self.table} should end in .csv (crowd-kit's table is CSV)")

    def construction_settings(self) -> ConstructionSettings:
        """How each response becomes a label (``variety``, ``gamma``)."""
        return ConstructionSettings(variety=self.variety, gamma=self.gamma)


@dataclass
class Cifar10hJob:
    """Settings of ``levelsets labels cifar10h``: CIFAR-10H's published annotations as a soft-label file.

    ``source``, ``split`` and ``per_annotator`` are checked where they are used
    (:func:`levelsets.data.cifar10h.load_cifar10h`, :func:`~levelsets.data.cifar10h.cifar10h_label_set`),
    before anything is written.
    """

    data_dir: Path
    """The CIFAR-10H data folder: cifar10h-counts.npy (and cifar10h-raw.csv for --source raw)."""
    out: Path = field(metadata={"flags": ("-o",)})
    """Output soft-label JSON (ids = CIFAR-10 test indices); a provenance sidecar <out>.json beside it."""
    source: str = "counts"
    """counts (cifar10h-counts.npy) or raw (rebuilt from cifar10h-raw.csv, attention checks excluded)."""
    split: str = "all"
    """all, or seed 001's train (70 %) / heldout (30 %) part of the test images."""
    per_annotator: bool = False
    """Keep each annotator's choice as a one-hot label (needs --source raw), for --deaggregate training."""
    seed: int = 0
    """Seed of the 70/30 split; the same seed gives the same split."""
