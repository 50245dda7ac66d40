"""A sweep: one ``levelsets sample`` job per cell of targets × priors × seeds, as Ray tasks.

:func:`run_sweep` validates every cell first (nothing starts on a bad input), trains the missing
models once in the driver (caching them in the model home), then runs each cell as one Ray task
that calls :func:`levelsets.sampling.run_sample_job` into ``<out>/<cell>/`` with a fixed torch
thread count, so a cell's samples are identical to ``levelsets sample`` with the same options,
seed and thread count. ``<out>/sweep.json`` lists every cell with its summary (or its error) and
is rewritten as cells finish; ``<out>/sweep.md`` is the table.

Fault tolerance: a task whose worker process dies is retried by Ray (``retries``); a cell that
fails for good (a :class:`~levelsets.errors.LevelsetsError`, any exception, or a worker that dies
on every attempt) is recorded with its error and the rest of the sweep completes. ``resume``
skips the cells already finished in ``out`` (each cell's directory appears only when complete).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from levelsets.errors import LevelsetsError
from levelsets.sampling import SampleJob

CELL_FIELDS = ("target", "prior", "seed", "out", "progress")
"""SampleJob fields a sweep sets per cell; every other field is shared by all cells."""

_NOT_SETTINGS = ("out", "overwrite", "progress")
"""SampleJob fields that do not change a cell's samples (ignored when resuming)."""


@dataclass
class SweepSpec:
    """What to sweep and where.

    Attributes
    ----------
    targets, priors, seeds:
        The grid; one cell per combination (in this order: target, prior, seed).
    out:
        Sweep directory (default ``runs/<time>-sweep-<world>``); cell ``c`` goes into ``out/c/``.
    options:
        :class:`~levelsets.sampling.SampleJob` fields shared by every cell (``world``,
        ``particles``, ``steps``, ...); not :data:`CELL_FIELDS`.
    address:
        ``None``: start a local Ray cluster (and shut it down after); ``auto`` or ``HOST:PORT``:
        join an existing one.
    resume:
        Skip cells that are already finished in ``out``.
    num_cpus:
        CPUs of the local cluster (default: all of the machine's).
    cell_threads:
        torch threads of each task (also the CPUs it reserves).
    cell_gpus:
        GPUs each task reserves (Ray's ``num_gpus``; fractions share a GPU).
    retries:
        How often Ray re-runs a task whose worker died.
    progress:
        Show a progress bar over cells.
    command:
        The command line recorded as every cell's ``command`` (``levelsets sweep`` fills it in);
        default: this process's ``sys.argv``.
    """

    targets: list[str]
    priors: list[str] | None = None
    seeds: list[int] = field(default_factory=lambda: [0])
    out: Path | None = None
    options: dict[str, Any] = field(default_factory=dict)
    address: str | None = None
    resume: bool = False
    num_cpus: int | None = None
    cell_threads: int = 1
    cell_gpus: float = 0.0
    retries: int = 3
    progress: bool = True
    command: list[str] | None = None


@dataclass
class Cell:
    """One sampling job of the sweep; ``finished`` holds its summary when resuming skips it."""

    name: str
    target: str
    prior: str
    seed: int
    job: SampleJob
    finished: dict[str, Any] | None = None


@dataclass
class SweepResult:
    """The sweep directory, the record written to ``sweep.json`` and how many cells failed."""

    out: Path
    record: dict[str, Any]
    failed: int


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


def _settings(job: SampleJob) -> dict[str, Any]:
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
    from levelsets.sampling import _class_names
    from levelsets.targets import graded_strip, is_graded_strip, parse_target
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
    new = _settings(cell.job)
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


def model_files(world: Any, job: SampleJob) -> dict[str, bytes]:
    """The cached model files (checkpoint + card) a world was loaded from, relative to the model home.

    Tasks write the missing ones into their own model home (:func:`install_model_files`), so the
    nodes of a cluster use the driver's models instead of training their own. A ``--classifier``
    checkpoint outside the model home is not shipped: it must be readable on every node.
    """
    from levelsets.checkpoints import card_path
    from levelsets.home import model_home

    home = model_home().resolve()
    paths = []
    for card in world.cards.values():
        checkpoint = card.get("checkpoint") or card.get("path")
        if checkpoint:
            paths += [Path(checkpoint), card_path(Path(checkpoint))]
    files = {}
    for path in paths:
        path = path.resolve()
        if path.is_file() and path.is_relative_to(home):
            files[str(path.relative_to(home))] = path.read_bytes()
    return files


def install_model_files(files: dict[str, bytes]) -> list[Path]:
    """Write each missing model file into this process's model home; return the files written."""
    from levelsets.home import model_home

    home = model_home()
    written = []
    for rel, data in files.items():
        path = home / rel
        if path.is_file() and path.stat().st_size == len(data):
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        written.append(path)
    return written


def run_cell(job: dict[str, Any], model_files: dict[str, bytes], *, model_home: str, threads: int,
             argv: list[str]) -> dict[str, Any]:
    """Run one cell (inside a Ray task): what ``levelsets sample`` runs, with ``threads`` torch threads.

    Returns ``{"status": "done", "summary": ...}`` or, for a user error (which a retry cannot fix),
    ``{"status": "failed", "error": ...}``; both with the job's ``log`` lines. Other exceptions
    propagate (Ray records them); a dying worker is retried by Ray.
    """
    import torch

    from levelsets.sampling import run_sample_job

    os.environ["LEVELSETS_HOME"] = model_home
    install_model_files(model_files)
    torch.set_num_threads(threads)
    sys.argv = list(argv)  # provenance records the sweep's command, not Ray's worker script
    log: list[str] = []
    try:
        result = run_sample_job(SampleJob(**job), echo=log.append)
    except LevelsetsError as exc:
        return {"status": "failed", "error": str(exc), "log": log}
    return {"status": "done", "summary": result.summary, "log": log}


CellFn = Callable[..., dict[str, Any]]


def run_sweep(spec: SweepSpec, *, echo: Callable[[str], None] = print, cell_fn: CellFn = run_cell) -> SweepResult:
    """Run a whole sweep (see the module docstring) and return what ``sweep.json`` holds.

    ``cell_fn`` runs in each task with :func:`run_cell`'s signature (tests wrap it to inject
    faults).
    """
    from levelsets.devices import resolve_device
    from levelsets.home import model_home
    from levelsets.seeding import seed_everything
    from levelsets.workflows.ray_cluster import probe, ray_cluster, resolve_address
    from levelsets.worlds import load_world

    out, cells = plan(spec)
    address = None
    if spec.address is not None:
        address = resolve_address(spec.address)
        if address != "auto":
            probe(address)
    pending = [cell for cell in cells if cell.finished is None]
    if spec.resume:
        echo(f"Resuming {out}: {len(cells) - len(pending)} of {len(cells)} cells already finished")

    shared = cells[0].job
    files: dict[str, dict[str, bytes]] = {}
    for prior in dict.fromkeys(cell.prior for cell in pending):  # train missing models once, here
        seed_everything(pending[0].seed)  # as `levelsets sample --seed <first seed>` would
        world = load_world(shared.world, prior, device=resolve_device(shared.device), seed=pending[0].seed,
                           exclude_class=shared.exclude_class, classifier_path=shared.classifier,
                           progress=spec.progress, echo=echo)
        files[prior] = model_files(world, shared)

    started = time.perf_counter()
    records = {cell.name: _record(cell) for cell in cells}
    with ray_cluster(address, num_cpus=spec.num_cpus) as cluster:
        import ray

        header = _header(spec, out, cells, cluster.describe())
        out.mkdir(parents=True, exist_ok=True)
        _write(out, header, records, started)
        task = ray.remote(_as_function(cell_fn)).options(num_cpus=spec.cell_threads, num_gpus=spec.cell_gpus,
                                                         max_retries=spec.retries, retry_exceptions=False)
        by_prior = {prior: ray.put(blob) for prior, blob in files.items()}
        argv = list(spec.command) if spec.command else [Path(sys.argv[0]).name, *sys.argv[1:]] if sys.argv else []
        running = {
            task.remote(_job_kwargs(cell.job), by_prior[cell.prior], model_home=str(model_home().resolve()),
                        threads=spec.cell_threads, argv=argv): cell
            for cell in pending
        }
        from levelsets.progress import progress_bar

        with progress_bar(total=len(cells), initial=len(cells) - len(pending), desc="sweep", unit="cell",
                          enabled=spec.progress) as bar:
            while running:
                ready, _ = ray.wait(list(running), num_returns=1)
                cell = running.pop(ready[0])
                records[cell.name].update(_outcome(ray, ready[0]))
                if records[cell.name]["status"] == "failed":
                    bar.write(f"cell {cell.name} failed: {records[cell.name]['error']}")
                bar.update(1)
                _write(out, header, records, started)
    for cell in cells:  # a worker killed mid-cell leaves its job's temporary directory behind
        for partial in out.glob(f".{cell.name}.partial-*"):
            shutil.rmtree(partial, ignore_errors=True)
    record = _write(out, header, records, started, final=True)
    failed = sum(r["status"] == "failed" for r in records.values())
    return SweepResult(out=out, record=record, failed=failed)


def _as_function(cell_fn: CellFn) -> CellFn:
    """``cell_fn`` as a plain function: ``ray.remote`` refuses other callables (``functools.partial``)."""
    import inspect

    if inspect.isfunction(cell_fn):
        return cell_fn

    def cell(*args: Any, **kwargs: Any) -> dict[str, Any]:
        return cell_fn(*args, **kwargs)

    cell.__name__ = cell.__qualname__ = getattr(cell_fn, "__name__", "cell")
    return cell


def _job_kwargs(job: SampleJob) -> dict[str, Any]:
    return {f.name: getattr(job, f.name) for f in dataclasses.fields(job)}


def _record(cell: Cell) -> dict[str, Any]:
    record: dict[str, Any] = {"cell": cell.name, "dir": cell.name, "target": cell.target, "prior": cell.prior,
                              "seed": cell.seed, "status": "pending"}
    if cell.finished is not None:
        record.update(status="done", resumed=True, summary=cell.finished)
    return record


def _outcome(ray: Any, ref: Any) -> dict[str, Any]:
    """The record update for a finished task: its result, or its failure in one line."""
    from ray.exceptions import RayTaskError, WorkerCrashedError

    try:
        result = ray.get(ref)
    except RayTaskError as exc:
        cause = exc.cause if getattr(exc, "cause", None) is not None else exc
        text = str(cause).strip().splitlines()
        return {"status": "failed", "error": f"{type(cause).__name__}: {text[0] if text else ''}".rstrip(": ")}
    except WorkerCrashedError:
        return {"status": "failed", "error": "the worker running this cell died on every attempt "
                                             "(killed, or out of memory); see the Ray logs"}
    except ray.exceptions.RayError as exc:
        text = str(exc).strip().splitlines()
        return {"status": "failed", "error": f"{type(exc).__name__}: {text[0] if text else ''}"}
    return dict(result)


def _header(spec: SweepSpec, out: Path, cells: list[Cell], cluster: dict[str, Any]) -> dict[str, Any]:
    from levelsets.artifacts import provenance

    shared = {k: v for k, v in _settings(cells[0].job).items() if k not in ("target", "prior", "seed")}
    settings = {"targets": spec.targets, "priors": list(dict.fromkeys(c.prior for c in cells)), "seeds": spec.seeds,
                "sample_options": shared, "cell_threads": spec.cell_threads, "cell_gpus": spec.cell_gpus,
                "retries": spec.retries, "out": str(out)}
    return {"cluster": cluster, **provenance(settings=settings, data=None)}


def _write(out: Path, header: dict[str, Any], records: dict[str, dict[str, Any]], started: float, *,
           final: bool = False) -> dict[str, Any]:
    from levelsets.artifacts import to_jsonable, write_json
    from levelsets.workflows.sweep_table import markdown_table

    statuses = [r["status"] for r in records.values()]
    record = {
        "cells": list(records.values()),
        "counts": {s: statuses.count(s) for s in ("done", "failed", "pending")},
        "complete": final and "pending" not in statuses,
        "wall_seconds": time.perf_counter() - started,
        **header,
    }
    record = to_jsonable(record)  # what the file holds (NaN → null), also for the caller
    write_json(out / "sweep.json", record)
    if final:
        (out / "sweep.md").write_text(markdown_table(record))
    return record
