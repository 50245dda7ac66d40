"""`levelsets evaluate` commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from levelsets.cli.common import DeviceOption, SeedOption


def evaluate(
    classifier: Annotated[str, typer.Option("--classifier", help="shapes, mnist, cifar10 (from the model home) or a checkpoint .pt file.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Output JSON; the reliability diagram goes to OUT.png unless --plot.")],
    eval_labels: Annotated[
        str | None,
        typer.Option("--eval-labels", help="A soft-label JSON (ids index --images) or a `levelsets sample` run directory."),
    ] = None,
    images: Annotated[
        str | None,
        typer.Option("--images", help="With a soft-label file: a sample run directory, mnist (offline held-out split) or cifar10 (the test set; ids are test indices, as in CIFAR-10H/10S)."),
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="--images cifar10: the folder holding cifar-10-batches-py/ (default: the model home's datasets/).")
    ] = None,
    label_source: Annotated[str, typer.Option("--label-source", help="For a run directory: auto (exact posterior if present), posterior or target.")] = "auto",
    world: Annotated[str | None, typer.Option("--world", help="Built-in evaluation set: shapes (with --near-boundary N).")] = None,
    near_boundary: Annotated[int | None, typer.Option("--near-boundary", help="N held-out shapes near the class boundary, labelled by the exact posterior.")] = None,
    max_confidence: Annotated[float, typer.Option("--max-confidence", help="Near-boundary shapes have max_c p(c|z) at most this.")] = 0.9,
    epsilon: Annotated[float, typer.Option("--epsilon", help="FGSM l-infinity radius in [0,1] pixel units.")] = 4 / 255,
    bin_size: Annotated[int, typer.Option("--bin-size", help="Examples per adaptive calibration bin.")] = 100,
    plot: Annotated[Path | None, typer.Option("--plot", help="Reliability diagram PNG path (default OUT.png).")] = None,
    seed: int = SeedOption,
    device: str = DeviceOption,
) -> None:
    """Evaluate a classifier: CE vs soft labels, RMSE calibration, FGSM CE, accuracy, KL; JSON + PNG."""
    from levelsets.errors import LevelsetsError
    from levelsets.evaluation.classifier import EvaluationSettings

    settings = EvaluationSettings(epsilon=epsilon, bin_size=bin_size)
    if out.is_dir():
        raise LevelsetsError(f"-o {out} is a directory; give a file path such as eval.json")
    if (world is None) == (eval_labels is None):
        raise LevelsetsError("give either --eval-labels FILE|RUN_DIR or --world shapes --near-boundary N")
    if world is not None:
        if world != "shapes":
            raise LevelsetsError(f"--world {world}: only shapes has a built-in evaluation set")
        if near_boundary is None:
            raise LevelsetsError("--world shapes needs --near-boundary N (the number of held-out examples)")
    elif Path(eval_labels).is_file() and images is None:
        raise LevelsetsError("--eval-labels FILE needs --images RUN_DIR|mnist|cifar10 (the images its ids index)")
    elif not Path(eval_labels).exists():
        raise LevelsetsError(f"--eval-labels {eval_labels} does not exist")
    if data_dir is not None and images != "cifar10":
        raise LevelsetsError("--data-dir applies to --images cifar10 (the CIFAR-10 test images)")
    from levelsets.artifacts import check_output_file

    check_output_file(out, option="-o")  # before a classifier is loaded (or trained): refuse a user's file first
    check_output_file(Path(plot) if plot else out.with_suffix(".png"), option="--plot")

    from levelsets.evaluation.classifier_report import load_classifier, run_evaluation
    from levelsets.softlabels.evaluation_sets import (
        eval_set_from_labels,
        eval_set_from_run,
        near_boundary_shapes,
    )

    if world is not None:
        # A seed far from training seeds keeps this set held out.
        eval_set = near_boundary_shapes(near_boundary, seed=10_000 + seed, max_confidence=max_confidence)
    elif Path(eval_labels).is_dir():
        eval_set = eval_set_from_run(eval_labels, label_source=label_source)
    else:
        # the split seed stays 0: the zoo models train on split 0
        eval_set = eval_set_from_labels(eval_labels, images, data_dir=data_dir)
    model, info = load_classifier(classifier, seed=seed, device=device)
    output = run_evaluation(model, eval_set, out, plot=plot, settings=settings, classifier_info=info, seed=seed, device=device)
    m = output.result.metrics
    typer.echo(
        f"n={m['n']}  CE={m['ce']:.4f}  calibration RMSE={m['calibration_rmse']:.4f}  "
        f"FGSM CE={m['fgsm_ce']:.4f}  accuracy={m['accuracy']:.4f}  KL={m['kl']:.4f}"
    )
    if "calibration_rmse_true_class" in m:
        typer.echo(f"against the true classes: calibration RMSE={m['calibration_rmse_true_class']:.4f}  "
                   f"accuracy={m['accuracy_true_class']:.4f}")
    typer.echo(f"wrote {output.json_path} and {output.plot_path}")


def register(app: typer.Typer) -> None:
    """Add the `evaluate` command(s) to the top-level app."""
    app.command("evaluate")(evaluate)
