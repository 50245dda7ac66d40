"""Settings of a classifier evaluation: the metrics' (:class:`EvaluationSettings`) and ``levelsets evaluate``'s (:class:`EvaluateJob`).

Both are validated on construction, in one line per mistake. Torch-free: the CLI builds
``levelsets evaluate``'s options from :class:`EvaluateJob`'s fields (:mod:`levelsets.cli.options`),
and :mod:`levelsets.evaluation.classifier` (which computes the metrics) re-exports
:class:`EvaluationSettings`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from levelsets.errors import LevelsetsError
from levelsets.job_fields import device_field, seed_field

FGSM_EPSILON = 4.0 / 255.0
"""Default FGSM ℓ∞ radius, in [0, 1] pixel units."""
DEFAULT_BIN_SIZE = 100
"""Default examples per adaptive calibration bin."""


@dataclass
class EvaluationSettings:
    """Settings of an evaluation.

    Attributes
    ----------
    epsilon:
        FGSM ℓ∞ radius (images in [0, 1]).
    bin_size:
        Examples per adaptive calibration bin.
    batch_size:
        Images per forward pass.
    """

    epsilon: float = FGSM_EPSILON
    bin_size: int = DEFAULT_BIN_SIZE
    batch_size: int = 512

    def __post_init__(self) -> None:
        if not 0.0 <= self.epsilon <= 1.0:
            raise LevelsetsError(f"--epsilon must be in [0, 1] (pixel units), got {self.epsilon}")
        if self.bin_size < 1:
            raise LevelsetsError(f"--bin-size must be >= 1, got {self.bin_size}")
        if self.batch_size < 1:
            raise LevelsetsError(f"batch size must be >= 1, got {self.batch_size}")


@dataclass
class EvaluateJob:
    """Settings of ``levelsets evaluate`` (validated on construction; written into the result's sidecar).

    Each field is one option of the command: its docstring is the option's ``--help``
    (:mod:`levelsets.cli.options`). The evaluation set is either ``eval_labels`` (a soft-label
    file with ``images``, or a sample run directory) or ``world`` shapes with ``near_boundary``.
    """

    classifier: str
    """shapes, mnist, cifar10 (from the model home) or a checkpoint .pt file."""
    out: Path = field(metadata={"flags": ("-o",)})
    """Output JSON; the reliability diagram goes to OUT.png unless --plot."""
    eval_labels: str | None = None
    """A soft-label JSON (ids index --images) or a `levelsets sample` run directory."""
    images: str | None = None
    """With a soft-label file: a sample run directory, mnist (offline held-out split) or cifar10 (the test set; ids are
    test indices, as in CIFAR-10H/10S)."""
    data_dir: Path | None = None
    """--images cifar10: the folder holding cifar-10-batches-py/ (default: the model home's datasets/)."""
    label_source: str = "auto"
    """For a run directory: auto (exact posterior if present), posterior or target."""
    world: str | None = None
    """Built-in evaluation set: shapes (with --near-boundary N)."""
    near_boundary: int | None = None
    """N held-out shapes near the class boundary, labelled by the exact posterior."""
    max_confidence: float = 0.9
    """Near-boundary shapes have max_c p(c|z) at most this."""
    epsilon: float = FGSM_EPSILON
    """FGSM l-infinity radius in [0,1] pixel units."""
    bin_size: int = DEFAULT_BIN_SIZE
    """Examples per adaptive calibration bin."""
    plot: Path | None = None
    """Reliability diagram PNG path (default OUT.png)."""
    seed: int = seed_field()
    device: str = device_field()

    def __post_init__(self) -> None:
        self.out = Path(self.out)
        self.evaluation_settings()  # --epsilon, --bin-size: the metrics' own checks
        if self.out.is_dir():
            raise LevelsetsError(f"-o {self.out} is a directory; give a file path such as eval.json")
        if (self.world is None) == (self.eval_labels is None):
            raise LevelsetsError("give either --eval-labels FILE|RUN_DIR or --world shapes --near-boundary N")
        if self.world is not None:
            if self.world != "shapes":
                raise LevelsetsError(f"--world {self.world}: only shapes has a built-in evaluation set")
            if self.near_boundary is None or self.near_boundary < 1:
                raise LevelsetsError("--world shapes needs --near-boundary N ≥ 1 (the number of held-out examples)")
        elif Path(self.eval_labels).is_file() and self.images is None:
            raise LevelsetsError("--eval-labels FILE needs --images RUN_DIR|mnist|cifar10 (the images its ids index)")
        elif not Path(self.eval_labels).exists():
            raise LevelsetsError(f"--eval-labels {self.eval_labels} does not exist")
        if self.data_dir is not None and self.images != "cifar10":
            raise LevelsetsError("--data-dir applies to --images cifar10 (the CIFAR-10 test images)")

    def evaluation_settings(self) -> EvaluationSettings:
        """The metrics' settings of this job (``epsilon``, ``bin_size``)."""
        return EvaluationSettings(epsilon=self.epsilon, bin_size=self.bin_size)

    @property
    def plot_path(self) -> Path:
        """Where the reliability diagram goes: ``plot``, else ``out`` with ``.png``."""
        return Path(self.plot) if self.plot else self.out.with_suffix(".png")
