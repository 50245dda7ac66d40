"""Notes through stdlib :mod:`logging`: one ``levelsets`` logger tree, configured by the caller.

Library modules write their *notes* (progress, "training the classifier ...", "using the offline
MNIST subset") with ``log = logging.getLogger(__name__)`` and ``log.info(...)`` /
``log.warning(...)``; every module logger sits under the ``levelsets`` logger. A command's *result
output* (tables, ``--json``, "Wrote <path>") is not a note: the CLI prints it on stdout.

Importing levelsets configures no handler, on the root logger or on ``levelsets`` (the stdlib's
advice for libraries). So without configuration a Python user sees only warnings (the stdlib's
last-resort handler prints WARNING and above on stderr). Two ways to see the INFO notes:

- :func:`enable` (notebooks, scripts): a plain ``message``-only handler on stderr for the
  ``levelsets`` logger (or one of its children), at the level asked;
- the ``levelsets`` CLI calls :func:`configure_cli` once per command: rich's ``RichHandler`` on
  stderr (a plain line per note when stderr is not a terminal) at INFO, or WARNING with ``--quiet``.

Both replace the handler they installed before (calling them again changes the level, never
duplicates a note), and leave every other handler alone.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator

ROOT = "levelsets"
"""The name of the logger every levelsets module logs under."""

_OWN = "_levelsets_handler"
"""Attribute marking the handlers :func:`enable` and :func:`configure_cli` installed."""


class _StderrHandler(logging.StreamHandler):
    """A stream handler that writes to the *current* ``sys.stderr`` (notebooks and test runners swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):  # noqa: D102
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def _install(handler: logging.Handler, level: int | str, name: str) -> logging.Logger:
    logger = logging.getLogger(name)
    for old in [h for h in logger.handlers if getattr(h, _OWN, False)]:
        logger.removeHandler(old)
    setattr(handler, _OWN, True)
    logger.addHandler(handler)
    logger.setLevel(level)
    return logger


def disable(name: str = ROOT) -> logging.Logger:
    """Remove the handlers :func:`enable` / :func:`configure_cli` installed on ``name`` and reset its level."""
    logger = logging.getLogger(name)
    for old in [h for h in logger.handlers if getattr(h, _OWN, False)]:
        logger.removeHandler(old)
    logger.setLevel(logging.NOTSET)
    return logger


class _PlainFormatter(logging.Formatter):
    """``message`` for notes, ``warning: message`` (``error: ...``) for WARNING and above."""

    def format(self, record: logging.LogRecord) -> str:  # noqa: D102
        text = super().format(record)
        return text if record.levelno < logging.WARNING else f"{record.levelname.lower()}: {text}"


def enable(level: int | str = "INFO", name: str = ROOT) -> logging.Logger:
    """Show levelsets' notes at ``level`` and above on stderr, one plain line per note.

    Parameters
    ----------
    level
        A :mod:`logging` level, e.g. ``"INFO"`` (every note) or ``"WARNING"`` (warnings only).
    name
        The logger to enable: ``"levelsets"`` (all notes) or a module's, e.g.
        ``"levelsets.workflows.loop"`` for the soft-label loop's per-round lines only.

    Returns
    -------
    logging.Logger
        The logger configured (its level is set; records still propagate to the root logger's
        handlers, if the program configured any).
    """
    handler = _StderrHandler()
    handler.setFormatter(_PlainFormatter("%(message)s"))
    return _install(handler, level, name)


def configure_cli(*, quiet: bool = False) -> logging.Logger:
    """Configure the ``levelsets`` logger for a CLI command, notes on stderr.

    Notes at INFO, or WARNING and above with ``quiet`` (the commands' ``--quiet``). On a terminal
    the handler is rich's ``RichHandler`` (no time, no source path, no markup interpretation, so
    paths with brackets print as they are); when stderr is a pipe or a file (scripts, logs, the
    tests' ``CliRunner``) it is the plain handler of :func:`enable`, one unwrapped line per note,
    since rich would wrap long paths at 80 columns and pad every line.
    """
    from rich.console import Console
    from rich.logging import RichHandler

    level = logging.WARNING if quiet else logging.INFO
    console = Console(stderr=True)  # looks sys.stderr up at each write
    if not console.is_terminal:
        return enable(level)
    handler = RichHandler(console=console, show_time=False, show_path=False, markup=False, rich_tracebacks=False)
    return _install(handler, level, ROOT)


class _ListHandler(logging.Handler):
    def __init__(self, lines: list[str]) -> None:
        super().__init__()
        self.lines = lines

    def emit(self, record: logging.LogRecord) -> None:  # noqa: D102
        self.lines.append(self.format(record))


@contextlib.contextmanager
def capture(level: int | str = "INFO", name: str = ROOT) -> Iterator[list[str]]:
    """Collect the notes logged under ``name`` at ``level`` and above into a list, while in the block.

    For a job whose notes travel with its result (a sweep cell's ``log``), e.g.::

        with capture() as lines:
            run_sample_job(job)

    The logger's level is lowered to ``level`` for the block (and restored after it), so the notes
    are collected even where nothing else is configured; its other handlers still get them.
    """
    logger = logging.getLogger(name)
    lines: list[str] = []
    handler = _ListHandler(lines)
    handler.setFormatter(_PlainFormatter("%(message)s"))
    handler.setLevel(level)
    before = logger.level
    logger.addHandler(handler)
    if logger.getEffectiveLevel() > handler.level:
        logger.setLevel(level)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(before)
