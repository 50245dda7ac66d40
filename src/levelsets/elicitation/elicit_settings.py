"""Settings of ``levelsets elicit serve`` (:class:`ServeJob`) and ``levelsets elicit export`` (:class:`ExportJob`).

Each CLI field is one option (or the argument) of its command: its docstring is the ``--help``
(:mod:`levelsets.cli.options`). Validated on construction, in one line per mistake;
:func:`levelsets.elicitation.server.serve` and :func:`levelsets.elicitation.export.export_responses`
build them from their keyword arguments, so the Python API and the CLI share one declaration. The
export's settings are written into its sidecar. Light to import (no FastAPI, no uvicorn).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from levelsets.elicitation.store import DEFAULT_LEASE_SECONDS
from levelsets.errors import LevelsetsError

DEFAULT_HOST = "127.0.0.1"
"""Loopback: the study is reachable from this machine only (a reverse proxy publishes it)."""
DEFAULT_PORT = 8000


@dataclass
class ServeJob:
    """Settings of ``levelsets elicit serve`` (validated on construction)."""

    stimulus_dir: Path = field(metadata={"argument": True})
    """Directory written by `levelsets stimuli export`."""
    db: Path
    """SQLite file for the responses (created when missing)."""
    host: str = DEFAULT_HOST
    """Interface to bind; the default is this machine only."""
    port: int = DEFAULT_PORT
    """TCP port."""
    admin_token: str | None = field(default=None, metadata={"envvar": "LEVELSETS_ADMIN_TOKEN"})
    """Token for /admin pages [default: a random one, printed at start]."""
    allowed_host: list[str] | None = None
    """Host name participants use (behind a reverse proxy), besides the loopback names; repeatable. Requests with any
    other Host header get 400."""
    completion_code: str | None = None
    """Completion code shown once the last answer is stored."""
    completion_url: str | None = None
    """Where to send participants once the last answer is stored (the platform's completion link; {code} is replaced
    by --completion-code)."""
    lease_minutes: float = DEFAULT_LEASE_SECONDS / 60
    """A participant holds their batch this long after their last request; then (or when they return the study) it
    goes to the next newcomer."""
    allowlist: Path | None = None
    """Text file of allowed participant ids, one per line; others get 403."""
    log_level: str = field(default="warning", metadata={"cli": False})
    """uvicorn's log level."""

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise LevelsetsError(f"--port {self.port} is out of range; use 1 to 65535")
        if not self.lease_minutes > 0:
            raise LevelsetsError(f"--lease-minutes {self.lease_minutes:g} must be above 0 (e.g. the platform's time limit)")
        self.allowed_host = list(self.allowed_host or ())


@dataclass
class ExportJob:
    """Settings of ``levelsets elicit export`` (validated on construction; recorded in the export's sidecar)."""

    db: Path
    """SQLite file written by `levelsets elicit serve`."""
    out: Path = field(metadata={"flags": ("-o",)})
    """CIFAR-10S JSON to write, e.g. responses.json."""
    exclude_flagged: bool = False
    """Leave out participants who failed a catch trial (always listed in the details)."""

    def __post_init__(self) -> None:
        self.db, self.out = Path(self.db), Path(self.out)
        if self.out.suffix != ".json" and not self.out.is_dir():  # a directory: export_responses says so
            raise LevelsetsError(f"-o {self.out} should end in .json (the CIFAR-10S format is JSON)")
