"""A sweep: one ``levelsets sample`` job per cell of targets × priors × seeds, as Ray tasks.

:func:`run_sweep` validates every cell first (nothing starts on a bad input), trains the missing
models once in the driver (caching them in the model home), then runs each cell as one Ray task
that calls :func:`levelsets.workflows.sample.run_sample_job` into ``<out>/<cell>/`` with a fixed torch
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
import logging
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from levelsets.workflows.sample import SampleJob
from levelsets.workflows.sweep_cell import model_files, run_cell
from levelsets.workflows.sweep_plan import (
    Cell,
    SweepSpec,
    cell_name,
    job_settings,
    parse_seeds,
    plan,
    split_list,
)

log = logging.getLogger(__name__)

__all__ = ["SweepResult", "SweepSpec", "cell_name", "parse_seeds", "plan", "run_cell", "run_sweep", "split_list"]


@dataclass
class SweepResult:
    """The sweep directory, the record written to ``sweep.json`` and how many cells failed."""

    out: Path
    record: dict[str, Any]
    failed: int


CellFn = Callable[..., dict[str, Any]]


def run_sweep(spec: SweepSpec, *, cell_fn: CellFn = run_cell) -> SweepResult:
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
        log.info(f"Resuming {out}: {len(cells) - len(pending)} of {len(cells)} cells already finished")

    shared = cells[0].job
    files: dict[str, dict[str, bytes]] = {}
    for prior in dict.fromkeys(cell.prior for cell in pending):  # train missing models once, here
        seed_everything(pending[0].seed)  # as `levelsets sample --seed <first seed>` would
        world = load_world(shared.world, prior, device=resolve_device(shared.device), seed=pending[0].seed,
                           exclude_class=shared.exclude_class, classifier_path=shared.classifier,
                           progress=spec.progress)
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

    shared = {k: v for k, v in job_settings(cells[0].job).items() if k not in ("target", "prior", "seed")}
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
