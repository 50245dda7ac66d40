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
    out: Annotated[Path, typer.Option("-o", "--out", help="Output JSON file; a provenance sidecar <out>.json and the anomaly list <stem>.anomalies.json are written beside it.")],
    variety: Annotated[str, typer.Option("--variety", help="t2-clamp (all information), t2-uniform, t1-clamp or t1-uniform.")] = "t2-clamp",
    gamma: Annotated[float, typer.Option("--gamma", help="Mass kept for possible-but-unnamed classes when the named mass reaches 100% (clamp only).")] = 0.1,
    strict: Annotated[bool, typer.Option("--strict", help="Refuse the published data's anomalies (second class = first, a named class marked impossible, a second class without a probability) instead of building them as the published CIFAR-10S labels were.")] = False,
    aggregate: Annotated[str, typer.Option("--aggregate", help="mean (of the soft labels), dawid-skene or glad (crowd-kit posteriors from each response's most probable class; needs annotator ids).")] = "mean",
    annotators: Annotated[Path | None, typer.Option("--annotators", help="Which annotator gave each response: the responses.details.json of `elicit export` (used by default when it sits beside the responses) or {example id: [annotator id, ...]}.")] = None,
    unreliable_below: Annotated[float | None, typer.Option("--unreliable-below", help="Flag annotators whose estimated accuracy is below this (dawid-skene/glad; default 0.5).")] = None,
    table: Annotated[Path | None, typer.Option("--table", help="Also write crowd-kit's (task, worker, label) table as CSV (label = most probable class; needs annotator ids).")] = None,
) -> None:
    """Turn each annotator's response into a soft label (T1/T2 x uniform/clamp) and aggregate them."""
    from levelsets.softlabels.label_files import build_label_file

    result = build_label_file(
        responses, classes=classes, variety=variety, gamma=gamma, out=out, strict=strict,
        aggregate=aggregate, annotators=annotators, unreliable_below=unreliable_below, table=table,
    )
    typer.echo(
        f"wrote {result.num_labels} annotator labels for {result.num_examples} examples "
        f"({result.variety}, gamma={result.gamma}, aggregate={result.aggregate}) to {result.path}"
    )
    if not strict:
        counts = result.anomaly_counts or {}
        detail = ", ".join(f"{n} {kind}" for kind, n in counts.items())
        typer.echo(
            f"{sum(counts.values())} anomalies in the responses, built as the published CIFAR-10S labels were"
            + (f" ({detail})" if detail else "")
            + f"; listed in {result.anomalies_path} (--strict refuses them)",
            err=True,
        )
    if result.aggregate != "mean":
        flagged = ", ".join(result.unreliable) if result.unreliable else "none"
        typer.echo(
            f"{len(result.unreliable)} of {result.num_workers} annotators unreliable ({result.aggregate} estimated "
            f"accuracy < {result.unreliable_below}): {flagged}"
            + (f"; {result.repeats_dropped} repeated answers (same annotator and example) left out of the model"
               if result.repeats_dropped else ""),
            err=True,
        )
    if result.table_path is not None:
        typer.echo(f"wrote the crowd-kit table to {result.table_path}")


@labels_app.command("cifar10h")
def cifar10h(
    data_dir: Annotated[Path, typer.Option("--data-dir", help="The CIFAR-10H data folder: cifar10h-counts.npy (and cifar10h-raw.csv for --source raw).")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Output soft-label JSON (ids = CIFAR-10 test indices); a provenance sidecar <out>.json beside it.")],
    source: Annotated[str, typer.Option("--source", help="counts (cifar10h-counts.npy) or raw (rebuilt from cifar10h-raw.csv, attention checks excluded).")] = "counts",
    split: Annotated[str, typer.Option("--split", help="all, or seed 001's train (70 %) / heldout (30 %) part of the test images.")] = "all",
    per_annotator: Annotated[bool, typer.Option("--per-annotator", help="Keep each annotator's choice as a one-hot label (needs --source raw), for --deaggregate training.")] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the 70/30 split; the same seed gives the same split.")] = 0,
) -> None:
    """Turn CIFAR-10H's published annotations into a soft-label file (training or evaluation labels)."""
    from levelsets.data.cifar10h import cifar10h_label_set, load_cifar10h
    from levelsets.softlabels.label_files import save_soft_labels

    data = load_cifar10h(data_dir, source=source)
    labels = cifar10h_label_set(data, split=split, seed=seed, per_annotator=per_annotator)
    path = save_soft_labels(out, labels, seed=seed, data={"cifar10h": data.source, "split": split, "per_annotator": per_annotator})
    typer.echo(f"wrote CIFAR-10H labels for {len(labels):,} test images ({split}, {source}) to {path}")


def register(app: typer.Typer) -> None:
    """Add the `labels` command(s) to the top-level app."""
    app.add_typer(labels_app, name="labels")
