"""Planning a sweep: its grid of cells, their directories, and every check made before anything starts.

:func:`plan` turns a :class:`SweepSpec` into one :class:`~levelsets.workflows.sample.SampleJob` per cell of
targets × priors × seeds, refusing a bad input in one line (unknown prior or target, invalid
sampler setting, unusable ``out``, or, when resuming, a finished cell sampled with other settings).
:func:`levelsets.workflows.sweep.run_sweep` runs the plan.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from levelsets.errors import LevelsetsError
from levelsets.job_fields import out_field, progress_field
from levelsets.workflows.sample import SampleJob

CELL_FIELDS = ("target", "prior", "seed", "out", "progress")
"""SampleJob fields a sweep sets per cell; every other field is shared by all cells."""

_NOT_SETTINGS = ("out", "overwrite", "progress")
"""SampleJob fields that do not change a cell's samples (ignored when resuming)."""


@dataclass
class SweepSpec:
    """What to sweep and where.

    The fields from ``out`` to ``retries`` are also ``levelsets sweep``'s own options: their
    docstrings (``out``'s: :func:`levelsets.job_fields.out_field`) are the options' ``--help``
    (:mod:`levelsets.cli.options`).
    """

    targets: list[str]
    """The grid's targets; one cell per target × prior × seed (in that order)."""
    priors: list[str] | None = None
    """The grid's priors (``None``: the world's default prior)."""
    seeds: list[int] = field(default_factory=lambda: [0])
    """The grid's seeds."""
    out: Path | None = out_field("runs/<time>-sweep-<world>", what="Sweep directory: `<cell>/` per cell, sweep.json, sweep.md")
    options: dict[str, Any] = field(default_factory=dict)
    """:class:`~levelsets.workflows.sample.SampleJob` fields shared by every cell (``world``, ``particles``, ``steps``,
    ...); not :data:`CELL_FIELDS`."""
    address: str | None = None
    """Join a running Ray cluster: auto or HOST:PORT (default: start a local one)."""
    resume: bool = False
    """Skip the cells already finished in --out."""
    num_cpus: int | None = None
    """CPUs of the local Ray cluster (default: all of this machine's)."""
    cell_threads: int = 1
    """torch threads (and CPUs reserved) per cell; samples equal `levelsets sample` run with as many threads."""
    cell_gpus: float = 0.0
    """GPUs reserved per cell (fractions share a GPU)."""
    retries: int = 3
    """Re-runs of a cell whose worker process died."""
    progress: bool = progress_field()  # one bar over the cells; not an option: the CLI's --quiet
    command: list[str] | None = None
    """The command line recorded as every cell's ``command`` (``levelsets sweep`` fills it in); default: this
    process's ``sys.argv``."""


@dataclass
class Cell:
    """One sampling job of the sweep; ``finished`` holds its summary when resuming skips it."""

    name: str
    target: str
    prior: str
    seed: int
    job: SampleJob
    finished: dict[str, Any] | None = None


def split_list(text: str, option: str) -> list[str]:
    """Split ``a,b,[0.2,0.8]`` at the commas outside brackets; an empty list is a user error."""
    items, depth, current = [], 0, ""
    for char in text:
        depth += {"[": 1, "]": -1}.get(char, 0)
        if char == "," and depth == 0:
            items.append(current.strip())
            current = ""
        else:
            current += char
    items.append(current.strip())
    items = [item for item in items if item]
    if not items:
        raise LevelsetsError(f"{option} is empty; give a comma-separated list such as {option} 1vs7,8vs9")
    return items


def parse_seeds(text: str) -> list[int]:
    """``0,1,2`` → ``[0, 1, 2]``; ``0-3`` is the range 0, 1, 2, 3."""
    seeds: list[int] = []
    for item in split_list(text, "--seeds"):
        first, sep, last = item.partition("-") if not item.startswith("-") else (item, "", "")
        try:
            seeds.extend(range(int(first), int(last) + 1) if sep else [int(item)])
        except ValueError:
            raise LevelsetsError(f"--seeds: {item!r} is not an integer or a range like 0-3") from None
    return seeds


def cell_name(target: str, prior: str, seed: int) -> str:
    """Directory name of a cell, e.g. ``1vs7-vae-seed0`` (``[0.2,0.8]`` becomes ``p0.2_0.8``)."""
    safe = target.strip()
    if safe.startswith("["):
        safe = "p" + safe
    for old, new in ((":", "_"), (",", "_"), ("[", ""), ("]", ""), (" ", ""), ("/", "_")):
        safe = safe.replace(old, new)
    return f"{safe}-{prior}-seed{seed}"


def job_settings(job: SampleJob) -> dict[str, Any]:
    """The job's fields that change its samples (JSON-ready): what resuming compares."""
    from levelsets.artifacts import to_jsonable

    return {k: v for k, v in to_jsonable(dataclasses.asdict(job)).items() if k not in _NOT_SETTINGS}


def finished_summary(cell_dir: Path) -> dict[str, Any] | None:
    """The summary of a finished cell directory (written completely by a sampling job), else None."""
    import json

    from levelsets.artifacts import MARKER

    try:
        summary = json.loads((cell_dir / "summary.json").read_text())
    except (OSError, ValueError):
        return None
    return summary if (cell_dir / MARKER).is_file() and isinstance(summary, dict) else None


def _check_out(spec: SweepSpec, out: Path) -> None:
    """Refuse an unusable sweep directory before anything runs."""
    from levelsets.artifacts import _levelsets_record, check_writable_dir

    overwrite = bool(spec.options.get("overwrite"))
    if spec.resume and overwrite:
        raise LevelsetsError("--resume keeps finished cells and --overwrite replaces them; pass one of them")
    if out.is_dir() and any(out.iterdir()):
        if not (spec.resume or overwrite):
            raise LevelsetsError(f"--out {out} already exists and is not empty; pass --resume to finish that sweep, "
                                 "--overwrite to redo its cells, or choose a new --out")
        if not _levelsets_record(out / "sweep.json"):
            raise LevelsetsError(f"--out {out} holds no sweep.json written by levelsets sweep; choose a new --out")
        if not os.access(out, os.W_OK | os.X_OK):
            raise LevelsetsError(f"cannot write to {out}; choose another --out")
        return
    check_writable_dir(out)


def plan(spec: SweepSpec) -> tuple[Path, list[Cell]]:
    """Validate the whole sweep and return its directory and cells; nothing is trained or started.

    Raises
    ------
    LevelsetsError
        An empty or duplicated list, an unknown prior or target, an invalid sampler setting, an
        unusable ``out``, or (when resuming) a finished cell sampled with other settings.
    """
    from levelsets.targets import graded_strip, is_graded_strip, parse_target
    from levelsets.workflows.sample import _class_names
    from levelsets.worlds import PRIORS, WORLDS, default_prior

    clash = sorted(set(spec.options) & set(CELL_FIELDS))
    if clash:
        raise LevelsetsError(f"sweep options cannot set {', '.join(clash)}; use the sweep's own lists")
    if not spec.targets:
        raise LevelsetsError("--targets is empty; give a comma-separated list such as --targets 1vs7,8vs9")
    if not spec.seeds:
        raise LevelsetsError("--seeds is empty; give a comma-separated list such as --seeds 0,1,2")
    if spec.cell_threads < 1:
        raise LevelsetsError(f"--cell-threads must be ≥ 1 (got {spec.cell_threads})")
    if spec.cell_gpus < 0 or spec.retries < 0:
        raise LevelsetsError("--cell-gpus and --retries must be ≥ 0")
    world = spec.options.get("world", "mnist")
    if world not in WORLDS:
        raise LevelsetsError(f"unknown world {world!r}; choose one of {', '.join(WORLDS)}")
    priors = spec.priors or [default_prior(world)]
    for prior in priors:
        if prior not in PRIORS[world]:
            raise LevelsetsError(f"world {world} has no prior {prior!r}; choose --priors from {', '.join(PRIORS[world])}")
    names = _class_names(world)
    for target in spec.targets:
        graded_strip(target, names) if is_graded_strip(target) else parse_target(target, names)

    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path(spec.out if spec.out is not None else Path("runs") / f"{stamp}-sweep-{world}").expanduser()
    if spec.resume and spec.out is None:
        raise LevelsetsError("--resume needs the --out of the sweep to finish")
    _check_out(spec, out)

    options = dict(spec.options)
    if options.get("classifier") is not None:  # tasks may run in another working directory
        options["classifier"] = Path(options["classifier"]).expanduser().absolute()
    cells: list[Cell] = []
    for target in spec.targets:
        for prior in priors:
            for seed in spec.seeds:
                name = cell_name(target, prior, seed)
                job = SampleJob(**{**options, "target": target, "prior": prior, "seed": seed,
                                   "out": (out / name).absolute(), "progress": False})
                cells.append(Cell(name=name, target=target, prior=prior, seed=seed, job=job))
    seen: dict[str, Cell] = {}
    for cell in cells:
        if cell.name in seen:
            raise LevelsetsError(f"cells {seen[cell.name].target!r} and {cell.target!r} (prior {cell.prior}, seed "
                                 f"{cell.seed}) share the directory {cell.name}; list each target and seed once")
        seen[cell.name] = cell
    if spec.resume:
        for cell in cells:
            cell.finished = finished_summary(out / cell.name)
            if cell.finished is not None:
                _check_same_settings(cell)
    return out, cells


def _check_same_settings(cell: Cell) -> None:
    new = job_settings(cell.job)
    defaults = {f.name: f.default for f in dataclasses.fields(SampleJob) if f.name in new}
    old = {k: v for k, v in {**defaults, **(cell.finished or {}).get("settings", {})}.items()  # a field added
           if k not in _NOT_SETTINGS}                                                        # since: its default
    differ = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    if differ:
        key = differ[0]
        raise LevelsetsError(
            f"cannot resume: cell {cell.name} was sampled with {key}={old.get(key)!r}, this sweep asks for "
            f"{new.get(key)!r}; rerun with the same options, --overwrite to redo every cell, or a new --out"
        )
