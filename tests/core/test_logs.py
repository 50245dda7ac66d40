"""levelsets.logs: notes through stdlib logging, configured by the caller, never on import."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest

from levelsets import logs

note_log = logging.getLogger("levelsets.tests.notes")


@pytest.fixture(autouse=True)
def _restore_levelsets_logger():
    """Leave the ``levelsets`` logger as the test found it (handlers and level)."""
    root = logging.getLogger(logs.ROOT)
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_importing_levelsets_configures_no_handler():
    code = (
        "import json, logging\n"
        "import levelsets, levelsets.cli, levelsets.workflows.sample, levelsets.workflows.loop, levelsets.classifiers.zoo\n"
        "print(json.dumps({'root': len(logging.getLogger().handlers), 'levelsets': len(logging.getLogger('levelsets').handlers),"
        " 'level': logging.getLogger('levelsets').level}))\n"
    )
    got = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert got == {"root": 0, "levelsets": 0, "level": logging.NOTSET}


def test_enable_shows_notes_once_on_stderr(capsys):
    logs.enable()
    logs.enable()  # again: replaces its handler, no second copy
    note_log.info("a note")
    note_log.warning("a warning")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == ["a note", "warning: a warning"]


def test_enable_at_warning_hides_notes(capsys):
    logs.enable("WARNING")
    note_log.info("a note")
    note_log.warning("a warning")
    assert capsys.readouterr().err.splitlines() == ["warning: a warning"]


def test_enable_one_module_only(capsys):
    logging.getLogger(logs.ROOT).setLevel(logging.WARNING)
    logs.enable(name="levelsets.tests.notes")
    note_log.info("shown")
    logging.getLogger("levelsets.tests.other").info("not shown")
    assert capsys.readouterr().err.splitlines() == ["shown"]
    logging.getLogger("levelsets.tests.notes").handlers.clear()
    logging.getLogger("levelsets.tests.notes").setLevel(logging.NOTSET)


def test_capture_collects_and_restores():
    root = logging.getLogger(logs.ROOT)
    root.setLevel(logging.WARNING)
    before = list(root.handlers)
    with logs.capture() as lines:
        note_log.info("one")
        note_log.debug("too detailed")
        note_log.warning("two")
    note_log.warning("after the block")
    assert lines == ["one", "warning: two"]
    assert root.level == logging.WARNING and root.handlers == before


def test_configure_cli_off_a_terminal_is_plain_and_quiet_means_warnings(capsys):
    logger = logs.configure_cli()
    assert logger.level == logging.INFO
    note_log.info("x" * 200 + " /a/long/path")
    assert capsys.readouterr().err == "x" * 200 + " /a/long/path\n"  # one line, unwrapped, unpadded
    logger = logs.configure_cli(quiet=True)
    assert logger.level == logging.WARNING
    assert sum(getattr(h, "_levelsets_handler", False) for h in logger.handlers) == 1
    note_log.info("hidden")
    assert capsys.readouterr().err == ""


def test_configure_cli_on_a_terminal_uses_rich(monkeypatch):
    from rich.console import Console
    from rich.logging import RichHandler

    monkeypatch.setattr(Console, "is_terminal", property(lambda self: True))
    logger = logs.configure_cli()
    mine = [h for h in logger.handlers if getattr(h, "_levelsets_handler", False)]
    assert len(mine) == 1 and isinstance(mine[0], RichHandler)
    assert mine[0].console.stderr and not mine[0].markup


def test_disable_removes_only_our_handlers_and_resets_the_level():
    root = logging.getLogger(logs.ROOT)
    foreign = logging.NullHandler()
    root.addHandler(foreign)
    try:
        logs.configure_cli(quiet=True)
        assert root.level == logging.WARNING and len(root.handlers) == 2
        logs.disable()
        assert root.handlers == [foreign] and root.level == logging.NOTSET
    finally:
        root.removeHandler(foreign)
