"""One sweep cell inside a Ray task: ship the driver's cached models to the node, run the sampling job.

:func:`model_files` collects the model files a world was loaded from; :func:`run_cell` (the task)
installs the missing ones into the node's model home and runs what ``levelsets sample`` runs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from levelsets.errors import LevelsetsError
from levelsets.workflows.sample import SampleJob


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
    ``{"status": "failed", "error": ...}``; both with the job's ``log``: its notes, the INFO
    records on the ``levelsets`` logger while it ran (:func:`levelsets.logs.capture`). Other exceptions
    propagate (Ray records them); a dying worker is retried by Ray.
    """
    import torch

    from levelsets.workflows.sample import run_sample_job

    os.environ["LEVELSETS_HOME"] = model_home
    install_model_files(model_files)
    torch.set_num_threads(threads)
    sys.argv = list(argv)  # provenance records the sweep's command, not Ray's worker script
    from levelsets.logs import capture

    with capture() as log:
        try:
            result = run_sample_job(SampleJob(**job))
        except LevelsetsError as exc:
            return {"status": "failed", "error": str(exc), "log": log}
    return {"status": "done", "summary": result.summary, "log": log}
