"""``levelsets evaluate`` as a Python API: load a classifier, run the suite, write JSON + PNG.

Formerly ``levelsets.softlabels.evaluation_report`` (no re-export is kept: no notebook or doc used it).

Output: ``OUT.json`` = ``{"classifier", "eval_set", "class_names", "metrics", "reliability_bins",
"settings"}``, the reliability diagram ``OUT.png`` (or ``--plot``), and the provenance sidecar
``OUT.json.json``. Everything is computed before anything is written.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from levelsets.artifacts import check_output_file, provenance, write_json, write_sidecar
from levelsets.errors import LevelsetsError
from levelsets.evaluation.classifier import (
    EvaluationResult,
    EvaluationSettings,
    evaluate_classifier,
    plot_reliability,
)
from levelsets.softlabels.evaluation_sets import EvalSet

NAMED_CLASSIFIERS = ("shapes", "mnist", "cifar10")


def load_classifier(spec: str | Path, *, seed: int = 0, device: str = "auto") -> tuple[torch.nn.Module, dict]:
    """Load a classifier by name (``shapes`` / ``mnist``: the model home, trained if missing; ``cifar10``:
    the model home, never trained implicitly) or checkpoint path.

    Returns
    -------
    (model, info)
        The logits model in eval mode and a description (name or path, config).
    """
    from levelsets.checkpoints import load_model
    from levelsets.classifiers.cnn import build_classifier

    text = str(spec)
    if text in NAMED_CLASSIFIERS:
        from levelsets.classifiers.zoo import get_classifier

        model, card = get_classifier(text, seed=seed, device=device)
        return model.eval(), {"classifier": text, "card": card}
    path = Path(text)
    if not path.exists():
        raise LevelsetsError(f"--classifier {text} is neither {' nor '.join(NAMED_CLASSIFIERS)} nor an existing checkpoint file")
    model, payload = load_model(path, kind="classifier", build=build_classifier, retrain_hint="levelsets train classifier ...")
    return model.eval(), {"classifier": str(path), "config": payload["config"]}


@dataclass
class EvaluationOutput:
    """Where :func:`run_evaluation` wrote, and the result."""

    json_path: Path
    plot_path: Path
    result: EvaluationResult


def run_evaluation(
    model: torch.nn.Module,
    eval_set: EvalSet,
    out: str | Path,
    *,
    plot: str | Path | None = None,
    settings: EvaluationSettings | None = None,
    classifier_info: dict | None = None,
    seed: int | None = None,
    device: str = "auto",
    job: Any = None,
) -> EvaluationOutput:
    """Evaluate and write ``out`` (JSON), the reliability PNG and the sidecar.

    Parameters
    ----------
    model:
        Logits classifier.
    eval_set:
        Images, labels, reference.
    out:
        JSON output path; the PNG defaults to the same path with ``.png``.
    job:
        The whole job's settings (``levelsets evaluate``'s
        :class:`~levelsets.evaluation.evaluate_settings.EvaluateJob`), recorded resolved in the sidecars'
        ``settings`` beside the metrics' own.
    """
    out = Path(out)
    out = check_output_file(out, option="-o")
    plot_path = Path(plot) if plot else out.with_suffix(".png")
    if plot_path == out:
        raise LevelsetsError(f"the plot path {plot_path} equals the JSON output path; give --plot another name")
    check_output_file(plot_path, option="--plot")
    settings = settings or EvaluationSettings()
    result = evaluate_classifier(model, eval_set.images, eval_set.labels, reference=eval_set.reference, classes=eval_set.classes, settings=settings, device=device)
    info = {k: v for k, v in (classifier_info or {}).items() if k != "card"}
    document = {
        "classifier": info,
        "eval_set": eval_set.description,
        "class_names": list(eval_set.class_names),
        **result.to_dict(),
        "plot": str(plot_path),
    }
    plot_reliability(result, plot_path)
    recorded = asdict(settings) if job is None else {**asdict(settings), **asdict(job)}
    record = provenance(settings=recorded, seed=seed, data=eval_set.description, classifier=info, artifact="evaluation")
    write_sidecar(plot_path, {**record, "what": "reliability diagram"})
    write_json(out, document)
    write_sidecar(out, record)
    return EvaluationOutput(json_path=out, plot_path=plot_path, result=result)
