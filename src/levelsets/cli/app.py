"""The ``levelsets`` Typer application and its entry point.

Each command group lives in its own module (``sample.py``, ``train.py``, ...) and is registered
here. Command modules import torch and friends *inside* the command functions, so that
``levelsets --help`` stays fast.

User mistakes raise :class:`levelsets.errors.LevelsetsError`; :class:`_Group` turns them into one
line on stderr and exit status 2, both for the console script and for ``typer.testing.CliRunner``.

Notes (the library's INFO records on the ``levelsets`` logger) go to stderr: :class:`_Group`
configures logging once per invocation (:func:`levelsets.logs.configure_cli`), and a command with
``--quiet`` lowers it to warnings. A command's result (tables, ``--json``, "Wrote <path>") is
printed on stdout by the command itself.
"""

from __future__ import annotations

import sys

import click
import typer
from typer.core import TyperGroup

from levelsets.errors import LevelsetsError

EXIT_USER_ERROR = 2


class _Group(TyperGroup):
    """Top-level group: notes on stderr; a :class:`LevelsetsError` becomes ``error: <message>`` and exit 2."""

    def invoke(self, ctx: click.Context):  # noqa: D102
        from levelsets.logs import configure_cli

        configure_cli()
        try:
            return super().invoke(ctx)
        except LevelsetsError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.stderr.flush()
            ctx.exit(EXIT_USER_ERROR)


app = typer.Typer(
    name="levelsets",
    cls=_Group,
    help="Sample prediction level sets of a classifier and use them (stimuli, soft-label training).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _register() -> None:
    from levelsets.cli import elicit, evaluate, labels, loop, sample, stimuli, sweep, train

    sample.register(app)
    sweep.register(app)
    train.register(app)
    labels.register(app)
    evaluate.register(app)
    loop.register(app)
    stimuli.register(app)
    elicit.register(app)


_register()


def main() -> None:
    """Console-script entry point."""
    app()
