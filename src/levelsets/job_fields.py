"""The settings many jobs share — seed, device, output directory, progress — declared once.

A job's settings dataclass declares them with these factories, e.g.::

    @dataclass
    class SampleJob:
        ...
        seed: int = seed_field()
        device: str = device_field()
        out: Path | None = out_field("runs/<time>-<world>-<prior>-<target>-seed<S>")
        overwrite: bool = overwrite_field()
        progress: bool = progress_field()

Each factory holds the field's default, its command-line flags and its help (in the field's
metadata, which :mod:`levelsets.cli.options` turns into the option), so ``--seed`` means and says
the same in every command; so do the sampling jobs' ``relaxation`` and ``tolerance``. Torch-free: the CLI imports the settings dataclasses to build its options.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any

__all__ = ["device_field", "out_field", "overwrite_field", "progress_field", "relaxation_field", "seed_field",
           "tolerance_field"]


def seed_field() -> Any:
    """``seed``: the one random seed of a job (default 0)."""
    return field(default=0, metadata={"help": "Random seed; the same seed and settings give the same output."})


def device_field() -> Any:
    """``device``: where the job's tensors live (default ``auto``, resolved by :func:`levelsets.devices.resolve_device`)."""
    return field(default="auto", metadata={"help": "auto (CUDA when present, else CPU), cpu, cuda or cuda:N."})


def out_field(default: str, *, what: str = "Output directory") -> Any:
    """``out`` (``-o``): the directory a job writes (default None: the job names one, as ``default`` says).

    Parameters
    ----------
    default:
        How the job names the directory when none is given (shown in the help), e.g.
        ``runs/<time>-loop-...``; the job's ``__post_init__`` builds it.
    what:
        What the directory holds, the help's first words.
    """
    return field(default=None, metadata={"flags": ("-o",), "help": f"{what} (default: `{default}`)."})


def overwrite_field() -> Any:
    """``overwrite``: replace an output directory levelsets wrote before (default False)."""
    return field(default=False, metadata={"help": "Replace a non-empty --out."})


def progress_field() -> Any:
    """``progress``: show progress bars (default True); not an option, the CLI's ``--quiet`` sets it."""
    return field(default=True, metadata={"cli": False, "help": "Show progress bars (the CLI's ``--quiet`` turns them off)."})


def relaxation_field() -> Any:
    """``relaxation``: which level-set target a sampling job draws from (default ``band``)."""
    return field(default="band", metadata={"help": (
        "band (default: the prior restricted to max_l |f_l − p_l| ≤ --tolerance, i.e. the generator's own images "
        "within the tolerance; adaptive-level SMC, reports the band's prior mass), dirichlet (seed 003's relaxation, "
        "Table 1; uses --alpha) or normal (Bayes-TrEx constraints).")})


def tolerance_field() -> Any:
    """``tolerance``: τ of the band, and the "within tolerance" of every relaxation's report (default 0.05)."""
    return field(default=0.05, metadata={"help": "Within tolerance: max_l |f(x)_l − p_l| ≤ this (the band's τ)."})
