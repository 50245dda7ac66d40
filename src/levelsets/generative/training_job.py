"""Settings of ``levelsets train vae`` and ``levelsets train gan`` (:class:`TrainGeneratorJob`).

Each CLI field is one option of both commands (its docstring the option's ``--help``,
:mod:`levelsets.cli.options`); a bad value is refused in one line on construction. The job is
:func:`levelsets.generative.zoo.train_generator` with these settings. Torch-free, so the CLI can
build its options from this module cheaply.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from levelsets.errors import LevelsetsError
from levelsets.job_fields import device_field, seed_field

KINDS = ("vae", "gan")


@dataclass
class TrainGeneratorJob:
    """Settings of ``levelsets train vae|gan`` (validated on construction)."""

    kind: str = field(default="vae", metadata={"cli": False})
    """vae or gan: the command (``levelsets train vae`` / ``levelsets train gan``)."""
    dataset: str = "mnist"
    """Training data; only mnist for now."""
    epochs: int | None = None
    """Training epochs (default: VAE 40, GAN 60)."""
    seed: int = seed_field()
    device: str = device_field()
    data_dir: Path | None = None
    """Directory with the standard MNIST IDX files (full MNIST); default: the offline subset."""
    download: bool = False
    """Download full MNIST with torchvision (needs internet)."""
    exclude_class: int | None = None
    """Train without this digit (0-9)."""
    out: Path | None = None
    """Write the model to this new directory instead of the model cache."""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise LevelsetsError(f"unknown generator {self.kind!r}; choose one of {', '.join(KINDS)}")
        if self.epochs is not None and self.epochs < 1:
            raise LevelsetsError(f"--epochs must be >= 1, got {self.epochs}")
        if self.exclude_class is not None and not 0 <= self.exclude_class <= 9:
            raise LevelsetsError(f"--exclude-class must be a digit from 0 to 9, got {self.exclude_class}")

    def train_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`levelsets.generative.zoo.train_generator` (``kind`` and ``dataset`` too)."""
        return asdict(self)
