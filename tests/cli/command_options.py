"""Helpers of the CLI tests: a command's click options, and the help each settings field gives its option."""

from __future__ import annotations

import dataclasses
from typing import Any

import typer

from levelsets.cli import app
from levelsets.cli.options import field_help


def helps(cls: type) -> dict[str, str | None]:
    """Each field's help: its docstring, or the help a shared field carries (levelsets.job_fields)."""
    return {f.name: field_help(cls, f) for f in dataclasses.fields(cls)}


def options(*command_path: str, kind: str = "option") -> dict[str, Any]:
    """The click parameters of ``levelsets <command_path>`` of one kind (``option`` or ``argument``), by name."""
    group = typer.main.get_command(app)
    command = group
    for name in command_path:
        command = command.get_command(typer.Context(group), name)
    return {p.name: p for p in command.params if p.param_type_name == kind}


def capture_call(monkeypatch, module: Any, name: str) -> dict[str, Any]:
    """Replace ``module.name`` (a workflow the command calls with its one settings object) by a stub that keeps
    that object under ``"settings"`` and ends the command (exit 0) before any work; return the dict it fills."""
    seen: dict[str, Any] = {}

    def stub(settings: Any) -> None:
        seen["settings"] = settings
        raise typer.Exit(0)

    monkeypatch.setattr(module, name, stub)
    return seen
