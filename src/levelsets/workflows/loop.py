r"""The closed loop: train → sample level sets → label → augment → retrain → evaluate (DESIGN §6).

Round 0 trains :math:`f_0` on the world's hard labels. Round :math:`r \ge 1` samples level sets
of :math:`f_{r-1}` for each loop target (ambiguous and class-pair targets), labels the samples,
adds them to the augmenting data (accumulated over rounds), and trains :math:`f_r` from scratch
with the same seed and recipe on base data + all augmenting data, so that differences between
rounds come from the augmenting data alone. Every round is evaluated on the same held-out sets:

* ``near_boundary``: examples near the class boundary, labelled by the exact posterior (shapes)
  and carrying their true classes — KL(exact ‖ classifier), CE, RMSE calibration error, FGSM CE,
  accuracy;
* ``heldout``: ordinary held-out examples with their true classes — accuracy and RMSE
  calibration error.

Calibration on the near-boundary set is reported three ways (seed 001: "correct" when the
argmax agrees with the label's argmax; the three differ in the label):

``calibration_rmse_true_class``  the label is the example's true class (shapes: the class that
    generated it) — the usual calibration error on labelled data, and the one the loop is judged by;
``calibration_rmse_expected``    correct with the exact posterior's probability of the predicted
    class — the expectation of the first over the true class, without its sampling noise;
``calibration_rmse``             the label is the exact posterior itself, correct when the argmax
    agrees with its argmax. Near the boundary this rewards over-confidence: the exact posterior
    scores ~0.3 on it (right "by argmax" everywhere with confidence ~0.7), so a loop that moves
    the classifier towards the exact posterior raises it. Kept because seed 001 reports it.

``benchmarks/softlabel_loop.py`` reports all three, with the exact posterior as a reference row.

Labelers
--------
``truth``      the exact posterior p(class | z) of each sample (shapes only: the world knows it);
``target``     the target vector the sample was drawn for;
``simulator``  the soft-label simulator of seed 001 appendix B.5, fitted on a responses file
               (``simulator_responses``), one simulated annotator per sample (hard label = the
               classifier's top class; the other target class ranked most similar);
``elicited``   human labels, in one of two modes:

               *offline* (``elicited_labels`` + ``stimuli``): a soft-label file from ``levelsets
               labels build`` over stimuli exported earlier; the same elicited set is added in
               round 1 and no new level sets are sampled afterwards;

               *live* (``study`` + ``db``): each round r samples level sets of f_{r-1}, chooses
               ``stimuli_per_round`` of them where f_{r-1} and the elicited labels disagree most
               (total variation, :mod:`levelsets.elicitation.live_rounds`; round 1: k-center),
               adds them to the live study directory as round r, which the running ``levelsets
               elicit serve STUDY --db DB`` takes up without a restart, waits until each has
               ``wait_responses`` responses (polling the database every ``poll_seconds``, at
               most ``timeout`` seconds), then exports every response so far, builds soft labels
               (``labels build``: T2-clamp, γ = 0.1, annotator mean) and trains f_r on base data +
               all elicited labels so far. The study directory and the database live outside
               ``out`` and keep everything collected, whatever happens to the loop.

Weighting: with ``augment_repeat = m`` every augmenting run enters the training set m times
(duplication), so each labelled level-set sample weighs as much as m base examples.

Outputs (in ``out``): ``round_<r>/classifier.pt`` (+ card), ``round_<r>/runs/<target>/`` (sample
runs), ``table.json``, ``table.md``, ``rounds.png`` and ``summary.json``. The loop builds in a
temporary directory renamed to ``out`` on success; paths recorded in its JSON files are rewritten
to ``out`` then (:func:`levelsets.artifacts.atomic_output_dir`).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from levelsets.errors import LevelsetsError
from levelsets.workflows.loop_evaluation import (
    ROUND_METRICS,
    evaluate_round,
    loop_eval_sets,
    markdown_table,
)
from levelsets.workflows.loop_settings import LoopSettings

log = logging.getLogger(__name__)

_RUN_KEYS = ("delta", "within_tolerance", "distinct", "acceptance_rate", "exact_posterior_mean",
             "exact_posterior_mean_abs_deviation", "wall_seconds")


@dataclass
class LoopResult:
    """Per-round table rows (also in ``table.json``) and where everything went."""

    out: Path
    table: list[dict[str, Any]] = field(default_factory=list)


def _simulator_labels(settings: LoopSettings, run_dir: Path, seed: int) -> Path:
    """Write one simulated annotator's label per sample of ``run_dir``; return the label file."""
    from levelsets.artifacts import write_json
    from levelsets.runs import load_run
    from levelsets.softlabels.simulator import SoftLabelSimulator

    run = load_run(run_dir)
    try:
        raw = json.loads(Path(settings.simulator_responses).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise LevelsetsError(f"cannot read --simulator-responses {settings.simulator_responses}: {exc}") from None
    simulator = SoftLabelSimulator.fit(raw, run.class_names)
    similarity = np.tile(run.target[None, :], (len(run.class_names), 1))
    labels = simulator.generate(run.probs.argmax(-1), similarity=similarity,
                                high_entropy=np.ones(len(run), dtype=bool), seed=seed)
    path = run_dir / "simulated_labels.json"
    write_json(path, {str(i): row for i, row in enumerate(labels)})
    return path


def _elicited_augment(settings: LoopSettings, out_dir: Path) -> tuple[list[Path], list[Path | None]]:
    """Runs and label files for the elicited labeler (label files and partial-run copies go to ``out_dir``)."""
    from levelsets.elicitation.manifest import elicited_label_files

    return elicited_label_files(Path(settings.stimuli), Path(settings.elicited_labels), out_dir)


def _live_round(settings: LoopSettings, r: int, runs: list, names: list[str], labelled, round_dir: Path) -> dict[str, Any]:
    """Round ``r`` of live elicitation: choose, add to the study, wait, collect (module docstring)."""
    from levelsets.elicitation.live_rounds import (
        add_stimulus_round,
        choose_stimuli,
        collect_labels,
        labelled_samples,
        wait_for_responses,
    )
    from levelsets.elicitation.manifest import load_stimuli
    from levelsets.elicitation.stimuli import StimuliSettings

    choice = choose_stimuli(runs, settings.stimuli_per_round, labelled=labelled, seed=settings.seed + r)
    export = StimuliSettings(size=settings.stimulus_size, per_participant=settings.per_participant,
                             repeats=settings.repeats, catch=0, seed=settings.seed + r, select="random")
    stimulus_dir = add_stimulus_round(settings.study, r, runs, names, choice, export)
    new = load_stimuli(stimulus_dir)
    ids = [sid for sid, rec in new.stimuli.items() if rec["kind"] == "sample"]
    how = ("spread by k-center (no elicited labels yet)" if choice.rule == "diverse" else
           f"where f_{r - 1} and the elicited labels disagree most (mean total variation {choice.mean_disagreement['chosen']:.3f} "
           f"vs {choice.mean_disagreement['candidates']:.3f} over all {choice.candidates} candidates)")
    log.info(f"Round {r}: added {len(ids)} stimuli in {len(new.batches)} batches to the study {settings.study} "
             f"(round {r}), chosen {how}")
    limit = "no time limit" if settings.timeout is None else f"at most {settings.timeout:g} s"
    log.info(f"  waiting for {settings.wait_responses} responses per stimulus (database {settings.db}, "
             f"checked every {settings.poll_seconds:g} s, {limit}) ...")
    counts = wait_for_responses(settings.db, settings.study, ids, per_stimulus=settings.wait_responses,
                                poll_seconds=settings.poll_seconds, timeout=settings.timeout,
                                progress=settings.progress)
    collected = collect_labels(settings.db, settings.study, round_dir / "elicited",
                               class_names=runs[0].class_names)
    log.info(f"  {collected['counts']['cifar10s_responses']} responses on {collected['labelled']} stimuli so far "
             f"({sum(counts.values())} on this round's); labels in {collected['labels']}")
    summary = {
        "round": r, "stimuli_dir": str(stimulus_dir), "rule": choice.rule, "candidates": choice.candidates,
        "stimuli": len(ids), "batches": len(new.batches), "responses_this_round": counts,
        "elicited_responses": collected["counts"]["cifar10s_responses"], "labelled_stimuli": collected["labelled"],
        "disagreement_chosen": None if choice.mean_disagreement is None else choice.mean_disagreement["chosen"],
        "disagreement_candidates": None if choice.mean_disagreement is None else choice.mean_disagreement["candidates"],
    }
    return {"summary": summary, "collected": collected,
            "labelled": labelled_samples(collected["runs"], collected["label_files"])}


def run_loop(settings: LoopSettings) -> LoopResult:
    """Run the loop of the module docstring and write its table, plot and per-round artifacts.

    Each round's progress is logged at INFO on the ``levelsets.workflows.loop`` logger ("Round r:
    ...", then its metrics); the caller reports ``settings.out`` (the CLI prints "Wrote <out>").
    """
    from levelsets.artifacts import atomic_output_dir, check_writable_dir, provenance, write_json
    from levelsets.devices import resolve_device
    from levelsets.plots import plot_rounds
    from levelsets.runs import load_run
    from levelsets.seeding import seed_everything
    from levelsets.softlabels.soft_training import train_with_soft_labels
    from levelsets.workflows.sample import SampleJob, run_sample_job

    check_writable_dir(settings.out, overwrite=settings.overwrite)
    device = resolve_device(settings.device)
    seed_everything(settings.seed)
    label_source = {"truth": "posterior", "target": "target"}.get(settings.labeler, "auto")
    started = time.perf_counter()
    table: list[dict[str, Any]] = []
    with atomic_output_dir(settings.out, overwrite=settings.overwrite) as tmp:
        sets = loop_eval_sets(settings.world, eval_size=settings.eval_size, heldout_size=settings.heldout_size, seed=settings.seed)
        augment: list[Path] = []
        augment_labels: list[Path | None] = []

        details: list[dict[str, Any]] = []
        repeat = settings.augment_repeat
        recipe: dict[str, Any] = {"epochs": settings.epochs} if settings.epochs else {}
        if settings.world == "shapes":
            recipe["n_heldout"] = settings.heldout_size

        def train(round_dir: Path):
            return train_with_soft_labels(
                settings.world, method=settings.method, augment=[a for a in augment for _ in range(repeat)],
                augment_labels=[a for a in augment_labels for _ in range(repeat)] or None,
                label_source=label_source, n_train=settings.n_train, seed=settings.seed, device=str(device),
                out=round_dir / "classifier.pt", progress=settings.progress, **recipe,
            )

        def sample_round(r: int, target: str, round_dir: Path):
            """Sample the level set of ``target`` under f_{r-1} into ``round_dir/runs``; record it in ``details``."""
            safe = target.replace(":", "_").replace(",", "_")
            job = SampleJob(
                world=settings.world, target=target, alpha=settings.alpha, relaxation=settings.relaxation,
                tolerance=settings.tolerance, particles=settings.particles,
                steps=settings.steps, burn_in=settings.burn_in, samples=settings.samples_per_target,
                seed=settings.seed + 1000 * r, device=str(device), out=round_dir / "runs" / safe,
                classifier=tmp / f"round_{r - 1}" / "classifier.pt", progress=settings.progress,
            )
            done = run_sample_job(job)
            details.append({"round": r, "target": target, "run": str(Path(f"round_{r}") / "runs" / safe),
                            **{k: done.summary[k] for k in _RUN_KEYS if k in done.summary}})
            return job, safe

        live_rounds: list[dict[str, Any]] = []
        labelled = None
        for r in range(settings.rounds + 1):
            round_dir = tmp / f"round_{r}"
            round_dir.mkdir()
            added = 0
            extra: dict[str, Any] = {}
            if r >= 1 and settings.live:
                runs, names = [], []
                for target in settings.targets:
                    job, safe = sample_round(r, target, round_dir)
                    runs.append(load_run(job.out))
                    names.append(safe)
                record = _live_round(settings, r, runs, names, labelled, round_dir)
                live_rounds.append(record["summary"])
                augment[:] = record["collected"]["runs"]
                augment_labels[:] = record["collected"]["label_files"]
                labelled = record["labelled"]
                added = record["summary"]["stimuli"]
                extra = {k: record["summary"][k] for k in ("elicited_responses", "labelled_stimuli", "disagreement_chosen")}
            elif r >= 1 and settings.labeler == "elicited":
                if r == 1:
                    runs, files = _elicited_augment(settings, round_dir / "elicited")
                    augment += runs
                    augment_labels += files
                    added = sum(len(load_run(run)) for run in runs)
            elif r >= 1:
                for t, target in enumerate(settings.targets):
                    job, _ = sample_round(r, target, round_dir)
                    augment.append(job.out)
                    augment_labels.append(_simulator_labels(settings, job.out, job.seed + 7 * t + 1) if settings.labeler == "simulator" else None)
                    added += settings.samples_per_target
            log.info(f"Round {r}: training on base data + {len(augment)} augmenting run(s) ...")
            model, card = train(round_dir)
            metrics = evaluate_round(model, sets, device)
            row = {"round": r, "augmenting_runs": len(augment), "added_this_round": added, **extra, **metrics}
            table.append(row)
            log.info("  " + ", ".join(f"{k}={v:.4g}" for k, v in metrics.items() if isinstance(v, float)))

        write_json(tmp / "table.json", table)
        (tmp / "table.md").write_text(markdown_table(table))
        plot_rounds(table, [m for m in ROUND_METRICS if m in table[0]], path=tmp / "rounds.png")
        summary = {"table": table, "runs": details, "eval_sets": sets.description, "wall_seconds": time.perf_counter() - started}
        if settings.live:
            from levelsets.elicitation.live_rounds import DISAGREEMENT

            summary["live_study"] = {"study": str(Path(settings.study).resolve()), "db": str(Path(settings.db).resolve()),
                                     "disagreement": DISAGREEMENT, "round_1": "k-center (no elicited labels yet)",
                                     "rounds": live_rounds}
        summary.update(provenance(settings=asdict(settings), seed=settings.seed, data=sets.description))
        write_json(tmp / "summary.json", summary)
    return LoopResult(out=Path(settings.out), table=table)
