"""levelsets.cli.options: CLI options built from a settings dataclass (each option declared once)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from levelsets.cli.options import (
    attribute_docs,
    field_options,
    job_options,
    option_name,
)

runner = CliRunner()


@dataclass
class _Job:
    """A toy job."""

    size: int = field(default=3, metadata={"flags": ("-s",)})
    """How many.
    Second line of the same help."""
    name: str | None = None
    """Who."""
    out: Path | None = None
    """Where to."""
    verbose: bool = field(default=True, metadata={"cli": False})
    """Python only."""
    fast_mode: bool = False
    """Go fast."""


@dataclass
class _Child(_Job):
    name: str | None = "kid"
    """The child's name."""


def test_attribute_docs_reads_the_string_below_each_field():
    docs = attribute_docs(_Job)
    assert docs["size"] == "How many. Second line of the same help."
    assert docs["name"] == "Who."
    assert set(docs) == {"size", "name", "out", "verbose", "fast_mode"}
    child = attribute_docs(_Child)
    assert child["name"] == "The child's name." and child["size"] == "How many. Second line of the same help."


def test_field_options_one_option_per_field():
    params = field_options(_Job, help={"out": "Elsewhere."})
    assert [p.name for p in params] == ["size", "name", "out", "fast_mode"]  # verbose: cli=False
    by_name = {p.name: p for p in params}
    assert by_name["size"].default.param_decls == ("--size", "-s")
    assert by_name["size"].default.default == 3 and by_name["size"].annotation is int
    assert by_name["fast_mode"].default.param_decls == ("--fast-mode",)
    assert by_name["name"].annotation == (str | None)
    assert by_name["out"].default.help == "Elsewhere."
    assert [p.name for p in field_options(_Job, exclude=("name", "out"))] == ["size", "fast_mode"]
    assert option_name("burn_in") == "--burn-in"


def test_a_field_without_default_is_required_and_an_argument_field_is_positional():
    @dataclass
    class Job:
        src: Path = field(metadata={"argument": True})
        """Where from."""
        x: int
        """X."""
        shared: int = field(default=4, metadata={"help": "From metadata.", "metavar": "K"})

    params = {p.name: p.default for p in field_options(Job)}
    assert isinstance(params["src"], typer.models.ArgumentInfo) and params["src"].help == "Where from."
    assert params["x"].default is ... and params["x"].param_decls == ("--x",)
    assert params["shared"].help == "From metadata." and params["shared"].metavar == "K"
    toy = typer.Typer(add_completion=False)
    seen = {}
    toy.command()(job_options(Job)(lambda **job: seen.update(job=Job(**job))))
    assert runner.invoke(toy, ["here", "--x", "2"]).exit_code == 0 and seen["job"] == Job(Path("here"), 2)
    missing = runner.invoke(toy, ["here"])
    assert missing.exit_code == 2 and "Missing option '--x'" in missing.output


def test_field_options_refuses_what_cannot_be_an_option():
    @dataclass
    class NoHelp:
        x: int = 1

    with pytest.raises(TypeError, match="no help"):
        field_options(NoHelp)
    with pytest.raises(TypeError, match="not a dataclass"):
        field_options(int)
    with pytest.raises(TypeError, match="not fields of _Job"):
        field_options(_Job, exclude=("sise",))
    with pytest.raises(TypeError, match="not fields of _Job"):
        field_options(_Job, help={"nmae": "typo"})


def _toy_app(seen: dict[str, Any]) -> typer.Typer:
    toy = typer.Typer(add_completion=False)

    @toy.command()
    @job_options(_Job)
    def run(
        ctx: typer.Context,
        label: str = typer.Option("x", "--label", help="Own option."),
        *,
        loud: bool = typer.Option(False, "--loud", help="Presentation."),
        **job: Any,
    ) -> None:
        """Run the toy job."""
        seen.update(job=_Job(**job), label=label, loud=loud, ctx=ctx)

    return toy


def test_job_options_builds_a_typer_command():
    seen: dict[str, Any] = {}
    toy = _toy_app(seen)
    result = runner.invoke(toy, ["-s", "7", "--name", "ann", "--fast-mode", "--loud", "--label", "y"])
    assert result.exit_code == 0, result.output
    assert seen["job"] == _Job(size=7, name="ann", out=None, verbose=True, fast_mode=True)
    assert seen["label"] == "y" and seen["loud"] is True and seen["ctx"].params["size"] == 7
    result = runner.invoke(toy, [])
    assert seen["job"] == _Job() and seen["loud"] is False

    command = typer.main.get_command(toy)
    names = [p.name for p in command.params if p.param_type_name == "option"]
    assert names == ["label", "size", "name", "out", "fast_mode", "loud"]  # own, fields, keyword-only
    helps = {p.name: p.help for p in command.params}
    assert helps["size"] == "How many. Second line of the same help."
    assert runner.invoke(toy, ["--verbose"]).exit_code == 2  # a cli=False field is no option


def test_job_options_refuses_a_second_declaration():
    with pytest.raises(TypeError, match="declared twice"):
        @job_options(_Job)
        def run(*, size: int = 1, **job: Any) -> None: ...

    with pytest.raises(TypeError, match=r"\*\*kwargs"):
        @job_options(_Job)
        def run2(*, loud: bool = False) -> None: ...
