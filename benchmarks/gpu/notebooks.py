"""The notebook stage of ``benchmarks/gpu_check.py``: run one notebook in quick mode, with a hard time limit."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_NOTEBOOK_RUNNER = """
import sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
try:
    NotebookClient(nb, kernel_name="python3", timeout=None, resources={"metadata": {"path": sys.argv[2]}}).execute()
except Exception as exc:
    ename = getattr(exc, "ename", None)
    print(f"{type(exc).__name__}: {ename}: {exc.evalue}" if ename else f"{type(exc).__name__}: {exc}", file=sys.stderr)
    sys.exit(1)
"""
"""Executes notebook argv[1] with working directory argv[2]; on failure one line on stderr, exit 1."""


def run_notebook(path: Path, timeout: float) -> dict[str, Any]:
    """Execute one notebook in quick mode in a temporary directory, killed after ``timeout`` seconds.

    Runs nbclient in a child process (``LEVELSETS_NOTEBOOK_QUICK=1``, as ``tests/notebooks`` does), so
    the time limit is hard and the notebook's environment changes stay there. Returns the notebook's
    name, ``ok``, the seconds, and a one-line ``error`` when it failed or ran out of time.
    """
    env = {**os.environ, "LEVELSETS_NOTEBOOK_QUICK": "1", "MPLBACKEND": "Agg"}
    with tempfile.TemporaryDirectory(prefix="gpu-check-nb-") as tmp:
        start = time.perf_counter()
        try:
            done = subprocess.run([sys.executable, "-c", _NOTEBOOK_RUNNER, str(path), tmp], env=env, capture_output=True,
                                  text=True, timeout=max(timeout, 1.0))
        except subprocess.TimeoutExpired:
            return {"notebook": path.name, "ok": False, "seconds": time.perf_counter() - start,
                    "error": f"did not finish within {timeout:.0f} s (the run's budget)"}
        seconds = time.perf_counter() - start
    if done.returncode == 0:
        return {"notebook": path.name, "ok": True, "seconds": seconds}
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    return {"notebook": path.name, "ok": False, "seconds": seconds, "error": (lines[-1] if lines else f"exit {done.returncode}")[:300]}
