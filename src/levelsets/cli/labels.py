"""`levelsets labels` commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

labels_app = typer.Typer(help="Build soft labels from annotator responses (CIFAR-10S format).", no_args_is_help=True)


@labels_app.command("build")
def build(
    responses: Annotated[Path, typer.Option("--responses", help="JSON file {example id: [response, ...]} in the CIFAR-10S format.")],
    classes: Annotated[str, typer.Option("--classes", help='cifar10, mnist, shapes, or a list such as "cat,dog,bird".')],
    out: Annotated[Path, typer.Option("-o", "--out", help="Output JSON file; a provenance sidecar <out>.json is written beside it.")],
    variety: Annotated[str, typer.Option("--variety", help="t2-clamp (all information), t2-uniform, t1-clamp or t1-uniform.")] = "t2-clamp",
    gamma: Annotated[float, typer.Option("--gamma", help="Mass kept for possible-but-unnamed classes when the named mass reaches 100% (clamp only).")] = 0.1,
) -> None:
    """Turn each annotator's response into a soft label (T1/T2 x uniform/clamp) and average them."""
    from levelsets.softlabels.label_files import build_label_file

    result = build_label_file(responses, classes=classes, variety=variety, gamma=gamma, out=out)
    typer.echo(
        f"wrote {result.num_labels} annotator labels for {result.num_examples} examples "
        f"({result.variety}, gamma={result.gamma}) to {result.path}"
    )


def register(app: typer.Typer) -> None:
    """Add the `labels` command(s) to the top-level app."""
    app.add_typer(labels_app, name="labels")
