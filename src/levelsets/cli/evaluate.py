"""`levelsets evaluate`: a classifier's CE, calibration, FGSM CE, accuracy and KL on an evaluation set.

The options are the fields of :class:`levelsets.evaluation.evaluate_settings.EvaluateJob`,
declared there once with their help (:mod:`levelsets.cli.options`).
"""

from __future__ import annotations

from typing import Any

import typer

from levelsets.cli.options import job_options
from levelsets.evaluation.evaluate_settings import EvaluateJob


@job_options(EvaluateJob)
def evaluate(**options: Any) -> None:
    """Evaluate a classifier: CE vs soft labels, RMSE calibration, FGSM CE, accuracy, KL; JSON + PNG."""
    from pathlib import Path

    from levelsets.artifacts import check_output_file

    job = EvaluateJob(**options)
    check_output_file(job.out, option="-o")  # before a classifier is loaded (or trained): refuse a user's file first
    check_output_file(job.plot_path, option="--plot")

    from levelsets.evaluation.classifier_report import load_classifier, run_evaluation
    from levelsets.softlabels.evaluation_sets import (
        eval_set_from_labels,
        eval_set_from_run,
        near_boundary_shapes,
    )

    if job.world is not None:
        # A seed far from training seeds keeps this set held out.
        eval_set = near_boundary_shapes(job.near_boundary, seed=10_000 + job.seed, max_confidence=job.max_confidence)
    elif Path(job.eval_labels).is_dir():
        eval_set = eval_set_from_run(job.eval_labels, label_source=job.label_source)
    else:
        # the split seed stays 0: the zoo models train on split 0
        eval_set = eval_set_from_labels(job.eval_labels, job.images, data_dir=job.data_dir)
    model, info = load_classifier(job.classifier, seed=job.seed, device=job.device)
    output = run_evaluation(model, eval_set, job.out, plot=job.plot, settings=job.evaluation_settings(),
                            classifier_info=info, seed=job.seed, device=job.device, job=job)
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
