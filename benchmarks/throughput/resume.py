"""``--resume``: stage results saved as they finish, so a killed run continues where it stopped."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

NOT_IN_FINGERPRINT = ("particles", "replicates", "out", "resume", "quadrature_step", "ablation")
"""Settings that do not change a stage's result: a ``--resume`` may differ in them."""


class Checkpoint:
    """Stage results saved as they finish, so ``--resume`` can continue a killed run.

    A full run with ``--replicates`` takes about an hour on a shared 2-CPU machine; each finished
    stage (one MH row, one NUTS run, one replicate) is written to ``<out>/<name>.partial.json``
    with a fingerprint of the settings that change results, and reused only when it matches. The
    file is removed when the run completes.
    """

    def __init__(self, path: Path, fingerprint: dict, resume: bool) -> None:
        self.path, self.fingerprint, self.stages = path, fingerprint, {}
        if resume and path.is_file():
            saved = json.loads(path.read_text())
            if saved.get("fingerprint") == fingerprint:
                self.stages = saved.get("stages", {})
                print(f"resuming: {len(self.stages)} finished stage(s) from {path}", file=sys.stderr)

    def run(self, key: str, fn: Callable[[], dict]) -> dict:
        """Return the saved result of stage ``key``, or compute, save and return it."""
        if key in self.stages:
            return self.stages[key]
        value = fn()
        from levelsets.artifacts import to_jsonable, write_json

        self.stages[key] = to_jsonable(value)
        write_json(self.path, {"fingerprint": self.fingerprint, "stages": self.stages})
        return self.stages[key]

    def finish(self) -> None:
        self.path.unlink(missing_ok=True)
