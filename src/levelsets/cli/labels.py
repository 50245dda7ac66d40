"""`levelsets labels` commands: ``build`` (soft labels from annotator responses) and ``cifar10h``.

Their options are the fields of :class:`levelsets.softlabels.label_settings.BuildLabelsJob` and
:class:`~levelsets.softlabels.label_settings.Cifar10hJob`, declared there once with their help
(:mod:`levelsets.cli.options`).
"""

from __future__ import annotations

from typing import Any

import typer

from levelsets.cli.options import job_options
from levelsets.softlabels.label_settings import BuildLabelsJob, Cifar10hJob

labels_app = typer.Typer(help="Build soft labels from annotator responses (CIFAR-10S format).", no_args_is_help=True)


@labels_app.command("build")
@job_options(BuildLabelsJob)
def build(**settings: Any) -> None:
    """Turn each annotator's response into a soft label (T1/T2 x uniform/clamp) and aggregate them."""
    from levelsets.softlabels.label_files import write_label_file

    job = BuildLabelsJob(**settings)
    result = write_label_file(job)
    typer.echo(
        f"wrote {result.num_labels} annotator labels for {result.num_examples} examples "
        f"({result.variety}, gamma={result.gamma}, aggregate={result.aggregate}) to {result.path}"
    )
    if not job.strict:
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
@job_options(Cifar10hJob)
def cifar10h(**settings: Any) -> None:
    """Turn CIFAR-10H's published annotations into a soft-label file (training or evaluation labels)."""
    from levelsets.data.cifar10h import cifar10h_label_set, load_cifar10h
    from levelsets.softlabels.label_files import save_soft_labels

    job = Cifar10hJob(**settings)
    data = load_cifar10h(job.data_dir, source=job.source)
    labels = cifar10h_label_set(data, split=job.split, seed=job.seed, per_annotator=job.per_annotator)
    path = save_soft_labels(job.out, labels, seed=job.seed, settings=job,
                            data={"cifar10h": data.source, "split": job.split, "per_annotator": job.per_annotator})
    typer.echo(f"wrote CIFAR-10H labels for {len(labels):,} test images ({job.split}, {job.source}) to {path}")


def register(app: typer.Typer) -> None:
    """Add the `labels` command(s) to the top-level app."""
    app.add_typer(labels_app, name="labels")
