"""``levelsets sweep``: ``levelsets sample`` over targets × priors × seeds, one Ray task per cell.

The sampler options are not declared here: they are the fields of
:class:`levelsets.workflows.sample.SampleJob` (:mod:`levelsets.cli.options`), as for ``levelsets sample``,
so every option ``levelsets sample`` gains is a sweep option too (with the same declaration and
help). The job's ``--target``, ``--prior``, ``--seed`` and ``--out`` are replaced by the sweep's
lists and its directory. The sweep's own options ``--out`` … ``--retries`` are fields of
:class:`levelsets.workflows.sweep_plan.SweepSpec`; only the grid's comma-separated lists and the
presentation options are declared here.
"""

from __future__ import annotations

import json
from typing import Any

import typer

from levelsets.cli.options import field_options, job_options
from levelsets.workflows.sample import SampleJob
from levelsets.workflows.sweep_plan import SweepSpec, parse_seeds, split_list

REPLACED = ("target", "prior", "seed", "out")
"""``SampleJob`` fields the sweep replaces by its own options (lists, a sweep directory)."""

_SPEC_OPTIONS = field_options(SweepSpec, exclude=("targets", "priors", "seeds", "options", "progress", "command"))
"""The sweep's own options that are :class:`~levelsets.workflows.sweep_plan.SweepSpec` fields as they are
(``--out`` … ``--retries``); the grid's lists are given as comma-separated text, declared below."""


@job_options(SampleJob, exclude=(*REPLACED, "progress"), before=_SPEC_OPTIONS,
             help={"overwrite": "Redo every cell of an existing sweep --out, replacing the finished ones."})
def sweep(
    ctx: typer.Context,
    targets: str = typer.Option(..., "--targets", help="Comma-separated targets, e.g. 1vs7,8vs9,ambiguous (vectors in brackets: [0.2,0.8])."),
    priors: str | None = typer.Option(None, "--priors", help="Comma-separated priors, e.g. vae,gan (default: the world's default prior)."),
    seeds: str = typer.Option("0", "--seeds", help="Comma-separated seeds, or a range: 0,1,2 or 0-9."),
    *,
    json_output: bool = typer.Option(False, "--json", help="Print sweep.json to stdout instead of a table."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar (cells never show their own), and notes only at warning level."),
    **options: Any,
) -> None:
    """Run `levelsets sample` for every target × prior × seed, one Ray task per cell.

    Each cell writes what `levelsets sample` writes into --out/<cell>/; --out/sweep.json lists every
    cell with its summary (or error) and --out/sweep.md is the table. Missing models are trained
    once, before the cells start. Without --address a local Ray cluster is started and stopped.
    """
    from levelsets.logs import configure_cli
    from levelsets.workflows.sweep import run_sweep

    configure_cli(quiet=quiet)
    own = {p.name: options.pop(p.name) for p in _SPEC_OPTIONS}
    spec = SweepSpec(
        targets=split_list(targets, "--targets"),
        priors=split_list(priors, "--priors") if priors is not None else None,
        seeds=parse_seeds(seeds), options=options, progress=not quiet, command=_command_line(ctx), **own,
    )
    result = run_sweep(spec)
    if json_output:
        typer.echo(json.dumps(result.record, indent=2))
    else:
        _print_table(result.record)
        typer.echo(f"Wrote {result.out / 'sweep.json'} and {result.out / 'sweep.md'}")
    if result.failed:
        typer.echo(f"{result.failed} of {len(result.record['cells'])} cells failed; their errors are in sweep.json", err=True)
        raise typer.Exit(1)


def _command_line(ctx: typer.Context) -> list[str]:
    """``levelsets sweep`` and the options given on its command line, rebuilt from the parsed context.

    Each cell records this as its ``command`` (not Ray's worker script, nor whatever program
    invoked the CLI, e.g. a test runner).
    """
    words = ["levelsets", ctx.info_name or "sweep"]
    for param in ctx.command.params:
        source = ctx.get_parameter_source(param.name)
        if param.param_type_name != "option" or source is None or source.name == "DEFAULT":
            continue
        value = ctx.params[param.name]
        if param.is_flag:
            words += (param.opts if value else param.secondary_opts)[:1]
        elif value is not None:
            words += [param.opts[0], str(value)]
    return words


def _print_table(record: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    from levelsets.workflows.sweep_table import COLUMNS, rows

    table = Table(title=f"sweep · {record['counts']['done']} done, {record['counts']['failed']} failed")
    for column in COLUMNS:  # the cell name in full (it is the directory); the other columns fold
        table.add_column(column, overflow="fold", no_wrap=column == "cell")
    for row in rows(record):
        table.add_row(*row)
    Console().print(table)


def register(app: typer.Typer) -> None:
    """Add ``levelsets sweep``."""
    app.command("sweep")(sweep)
