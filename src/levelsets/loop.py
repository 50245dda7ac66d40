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

import datetime as _dt
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from levelsets.errors import LevelsetsError

LABELERS = ("truth", "target", "simulator", "elicited")
DEFAULT_TARGETS = {
    "shapes": ("ambiguous", "graded:rocketvshouse:0.25", "graded:rocketvshouse:0.75"),
    "mnist": ("ambiguous", "1vs7", "8vs9", "4vs9", "3vs5"),
}
_RUN_KEYS = ("delta", "within_tolerance", "distinct", "acceptance_rate", "exact_posterior_mean",
             "exact_posterior_mean_abs_deviation", "wall_seconds")
LOOP_N_TRAIN: dict[str, int | None] = {"shapes": 4000, "mnist": None}
"""Default base training-set size per world (the zoo's shapes recipe uses 16,000)."""
ROUND_METRICS = ("kl", "ce", "calibration_rmse_true_class", "calibration_rmse_expected", "calibration_rmse",
                 "fgsm_ce", "accuracy", "heldout_accuracy", "heldout_calibration_rmse")


@dataclass
class LoopSettings:
    """Settings of :func:`run_loop` (validated on construction).

    Attributes
    ----------
    world:
        ``shapes`` or ``mnist``.
    rounds:
        R ≥ 1 augmentation rounds after round 0.
    labeler:
        ``truth`` | ``target`` | ``simulator`` | ``elicited`` (see the module docstring).
    targets:
        Level-set targets sampled each round (default :data:`DEFAULT_TARGETS`).
    samples_per_target, particles, steps, burn_in, alpha:
        Sampler settings for every run.
    augment_repeat:
        How many times each augmenting run is added to the training set (≥ 1; a weight on the
        labelled level-set samples relative to the base data).
    n_train, epochs, method:
        Classifier recipe: base training-set size (None = :data:`LOOP_N_TRAIN`: 4,000 shapes, so
        a round trains in well under a minute on CPU; all of the MNIST split), epochs (None = the
        zoo recipe's), training method.
    eval_size, heldout_size:
        Sizes of the near-boundary and ordinary held-out sets.
    study, db:
        Live elicitation (module docstring): the study directory the loop adds a round of stimuli
        to each round (new, or empty), and the response database of the server serving it.
    stimuli_per_round:
        Distinct samples shown to people per round (chosen among all targets' samples).
    wait_responses:
        Responses (distinct participants) to wait for on each of the round's stimuli.
    poll_seconds, timeout:
        How often the database is read while waiting, and how long to wait per round at most
        (``None``: until done); on timeout the loop goes on with the responses that came back.
    per_participant, repeats, stimulus_size:
        Trials per participant batch, repeated trials per batch, and PNG size of the round's
        stimuli (``levelsets stimuli export`` settings; no catch trials).
    """

    world: str = "shapes"
    rounds: int = 3
    labeler: str = "truth"
    targets: tuple[str, ...] | None = None
    samples_per_target: int = 300
    particles: int = 600
    steps: int = 150
    burn_in: int = 100
    alpha: float = 50.0
    augment_repeat: int = 1
    n_train: int | None = None
    epochs: int | None = None
    method: str = "ce"
    eval_size: int = 2000
    heldout_size: int = 2000
    simulator_responses: Path | None = None
    elicited_labels: Path | None = None
    stimuli: Path | None = None
    study: Path | None = None
    db: Path | None = None
    stimuli_per_round: int = 20
    wait_responses: int = 3
    poll_seconds: float = 10.0
    timeout: float | None = None
    per_participant: int = 10
    repeats: int = 1
    stimulus_size: int = 160
    seed: int = 0
    device: str = "auto"
    out: Path | None = None
    overwrite: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        from levelsets.worlds import validate_world

        validate_world(self.world, command="loop")  # one line for unknown worlds and for plugins (built-ins only)
        if self.rounds < 1:
            raise LevelsetsError(f"--rounds must be ≥ 1 (got {self.rounds})")
        if self.labeler not in LABELERS:
            raise LevelsetsError(f"unknown --labeler {self.labeler!r}; choose one of {', '.join(LABELERS)}")
        if self.labeler == "truth" and self.world != "shapes":
            raise LevelsetsError("--labeler truth needs a world with a known posterior; use --world shapes")
        if self.labeler == "simulator" and self.simulator_responses is None:
            raise LevelsetsError("--labeler simulator needs --simulator-responses FILE (CIFAR-10S-format responses to fit it)")
        self._check_elicited()
        for name in ("samples_per_target", "particles", "steps", "eval_size", "heldout_size", "augment_repeat"):
            if getattr(self, name) < 1:
                raise LevelsetsError(f"--{name.replace('_', '-')} must be ≥ 1 (got {getattr(self, name)})")
        if self.samples_per_target > self.particles:
            raise LevelsetsError("--samples-per-target cannot exceed --particles")
        if self.burn_in < 0 or self.burn_in >= self.steps:
            raise LevelsetsError(f"need 0 ≤ --burn-in < --steps (got burn-in {self.burn_in}, steps {self.steps})")
        if not self.alpha > 0:
            raise LevelsetsError(f"--alpha must be > 0 (got {self.alpha})")
        if self.n_train is None:
            self.n_train = LOOP_N_TRAIN[self.world]
        if self.n_train is not None and self.n_train < 1:
            raise LevelsetsError(f"--n-train must be ≥ 1 (got {self.n_train})")
        if self.epochs is not None and self.epochs < 1:
            raise LevelsetsError(f"--epochs must be ≥ 1 (got {self.epochs})")
        from levelsets.softlabels.methods import METHOD_NAMES

        if self.method not in METHOD_NAMES:
            raise LevelsetsError(f"unknown --method {self.method!r}; choose one of {', '.join(METHOD_NAMES)}")
        for name in ("simulator_responses", "elicited_labels", "stimuli"):
            path = getattr(self, name)
            if path is not None and not Path(path).exists():
                raise LevelsetsError(f"--{name.replace('_', '-')} {path} does not exist")
        self.targets = tuple(self.targets or DEFAULT_TARGETS[self.world])
        _check_targets(self.world, self.targets)
        if self.out is None:
            stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            self.out = Path("runs") / f"{stamp}-loop-{self.world}-{self.labeler}-seed{self.seed}"
        self.out = Path(self.out)
        if self.live:
            out = self.out.expanduser().resolve()
            for name in ("study", "db"):
                if Path(getattr(self, name)).expanduser().resolve().is_relative_to(out):
                    raise LevelsetsError(f"--{name} must lie outside --out {self.out} (the loop replaces --out when it "
                                         "finishes; the study and its responses must outlive it)")


    @property
    def live(self) -> bool:
        """True for live elicitation (``study`` + ``db``)."""
        return self.labeler == "elicited" and self.study is not None

    def _check_elicited(self) -> None:
        offline = self.elicited_labels is not None or self.stimuli is not None
        live = self.study is not None or self.db is not None
        if self.labeler != "elicited":
            if live:
                raise LevelsetsError("--study and --db are for --labeler elicited (live elicitation)")
            return
        if offline and live:
            raise LevelsetsError("give either --elicited-labels and --stimuli (labels collected earlier) "
                                 "or --study and --db (a live study), not both")
        if not live and (self.elicited_labels is None or self.stimuli is None):
            raise LevelsetsError("--labeler elicited needs --elicited-labels FILE (from `levelsets labels build`) and --stimuli DIR, "
                                 "or --study DIR --db FILE for a live study")
        if not live:
            return
        if self.study is None or self.db is None:
            raise LevelsetsError("a live study needs both --study DIR (where the loop adds stimuli) and --db FILE "
                                 "(the database `levelsets elicit serve` writes)")
        for name in ("stimuli_per_round", "wait_responses", "per_participant"):
            if getattr(self, name) < 1:
                raise LevelsetsError(f"--{name.replace('_', '-')} must be ≥ 1 (got {getattr(self, name)})")
        candidates = self.samples_per_target * len(self.targets or DEFAULT_TARGETS[self.world])
        if self.stimuli_per_round > candidates:
            raise LevelsetsError(f"--stimuli-per-round {self.stimuli_per_round} exceeds the {candidates} samples a round draws "
                                 "(--samples-per-target × targets); lower it or sample more")
        if self.repeats < 0 or self.repeats >= self.per_participant:
            raise LevelsetsError(f"need 0 ≤ --repeats < --per-participant (got {self.repeats} and {self.per_participant})")
        if not 8 <= self.stimulus_size <= 2048:
            raise LevelsetsError(f"--stimulus-size {self.stimulus_size} is out of range; use 8 to 2048 pixels")
        if not self.poll_seconds > 0:
            raise LevelsetsError(f"--poll-seconds must be > 0 (got {self.poll_seconds:g})")
        if self.timeout is not None and not self.timeout > 0:
            raise LevelsetsError(f"--timeout must be > 0 seconds (got {self.timeout:g})")
        from levelsets.elicitation.study import is_study

        study = Path(self.study).expanduser()
        if study.exists() and (not study.is_dir() or is_study(study) or any(study.iterdir())):
            raise LevelsetsError(f"--study {study} exists and is not empty; give a new directory (the loop writes round 1 "
                                 "there, and the server's --db is tied to it)")
        db = Path(self.db).expanduser()
        if db.exists() and not db.is_file():
            raise LevelsetsError(f"--db {db} is a directory; give the SQLite file `levelsets elicit serve --db` writes")
        if db.exists():
            raise LevelsetsError(f"--db {db} already exists and belongs to another study; give a new file "
                                 "(the server creates it for this --study)")
        if not db.parent.is_dir():
            raise LevelsetsError(f"--db {db}: directory {db.parent} does not exist; create it first")


def _check_targets(world: str, targets: Sequence[str]) -> None:
    """Every loop target must parse for the world's classes, be a single target and have all p_l > 0."""
    from levelsets.sampling import _class_names
    from levelsets.targets import is_graded_strip, parse_target

    names = _class_names(world)
    for spec in targets:
        if is_graded_strip(spec):
            raise LevelsetsError(f"target {spec!r} is a whole graded strip; give one β per loop target, e.g. {spec}:0.25")
        if np.any(parse_target(spec, names).probs <= 0):
            raise LevelsetsError(f"target {spec!r} has a zero entry; the sampler's Dirichlet relaxation needs every p_l > 0")


@dataclass
class LoopResult:
    """Per-round table rows (also in ``table.json``) and where everything went."""

    out: Path
    table: list[dict[str, Any]] = field(default_factory=list)


NEAR_BOUNDARY_SEED_OFFSET = 2_000_003
HELDOUT_SEED_OFFSET = 3_000_017


@dataclass
class EvalSets:
    """The held-out sets every round is evaluated on.

    Attributes
    ----------
    near_images, near_labels:
        (N, C, H, W) images and (N, K) labels of the near-boundary set (shapes: exact posterior;
        mnist: one-hot held-out digits).
    near_classes:
        (N,) true classes of the near-boundary set (shapes: the generating class, drawn from the
        exact posterior; mnist: the held-out digits' classes).
    heldout_images, heldout_classes:
        (M, C, H, W) images and (M,) true classes of the ordinary held-out set.
    heldout_posteriors:
        (M, K) exact posterior of the held-out set (shapes), else ``None``.
    description:
        What the sets are (recorded in ``summary.json``).
    """

    near_images: Any
    near_labels: np.ndarray
    heldout_images: Any
    heldout_classes: np.ndarray
    description: dict[str, Any]
    heldout_posteriors: np.ndarray | None = None
    near_classes: np.ndarray | None = None


def loop_eval_sets(world: str, *, eval_size: int = 2000, heldout_size: int = 2000, seed: int = 0) -> EvalSets:
    """Build the loop's evaluation sets (seeded apart from all training data).

    Parameters
    ----------
    world:
        ``shapes``: ``eval_size`` near-boundary shapes (max_c p(c | z) ≤ 0.9, labelled by the exact
        posterior, seed ``seed + 2,000,003``) and ``heldout_size`` shapes from the prior (seed
        ``seed + 3,000,017``); ``mnist``: the offline held-out split for both (sizes ignored).
    """
    import torch

    if world == "shapes":
        from levelsets.data.shapes import make_shapes_dataset
        from levelsets.softlabels.evaluation_sets import near_boundary_shapes

        near = near_boundary_shapes(eval_size, seed=seed + NEAR_BOUNDARY_SEED_OFFSET)
        held = make_shapes_dataset(heldout_size, seed=seed + HELDOUT_SEED_OFFSET)
        return EvalSets(near.images, np.asarray(near.labels), held.images, np.asarray(held.labels),
                        {"near_boundary": near.description,
                         "heldout": {"kind": "shapes from the prior", "n": heldout_size, "seed": seed + HELDOUT_SEED_OFFSET}},
                        heldout_posteriors=held.posteriors.double().numpy(), near_classes=near.classes)
    from levelsets.data.mnist import load_mnist

    held = load_mnist("heldout", echo=None)
    images = torch.as_tensor(held.images).float()
    onehot = np.eye(10)[np.asarray(held.labels)]
    return EvalSets(images, onehot, images, np.asarray(held.labels),
                    {"near_boundary": f"MNIST held-out split ({held.source}); hard labels", "heldout": held.source},
                    near_classes=np.asarray(held.labels))


def evaluate_round(model, sets: EvalSets, device="cpu") -> dict[str, float]:
    """Evaluate one round's classifier on the loop's sets.

    Returns the metrics of :func:`levelsets.softlabels.evaluation.evaluate_classifier` on the
    near-boundary set (``kl`` is KL(exact posterior ‖ classifier) for shapes), plus on the
    ordinary held-out set with its true classes: ``heldout_accuracy`` and
    ``heldout_calibration_rmse`` (adaptive-binning RMSE calibration error against the true class).
    """
    from levelsets.classifiers.training import predict_probs
    from levelsets.softlabels.evaluation import evaluate_classifier, true_class_metrics

    metrics = dict(evaluate_classifier(model, sets.near_images, sets.near_labels, classes=sets.near_classes, device=device).metrics)
    probs = predict_probs(model, sets.heldout_images, batch_size=512, device=device).cpu().numpy()
    held = true_class_metrics(probs, sets.heldout_classes)
    metrics["heldout_accuracy"] = held["accuracy_true_class"]
    metrics["heldout_calibration_rmse"] = held["calibration_rmse_true_class"]
    return metrics


def _simulator_labels(settings: LoopSettings, run_dir: Path, seed: int) -> Path:
    """Write one simulated annotator's label per sample of ``run_dir``; return the label file."""
    from levelsets.artifacts import write_json
    from levelsets.sample_runs import load_run
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


def _live_round(settings: LoopSettings, r: int, runs: list, names: list[str], labelled, round_dir: Path,
                echo: Callable[[str], None]) -> dict[str, Any]:
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
    echo(f"Round {r}: added {len(ids)} stimuli in {len(new.batches)} batches to the study {settings.study} "
         f"(round {r}), chosen {how}")
    limit = "no time limit" if settings.timeout is None else f"at most {settings.timeout:g} s"
    echo(f"  waiting for {settings.wait_responses} responses per stimulus (database {settings.db}, "
         f"checked every {settings.poll_seconds:g} s, {limit}) ...")
    counts = wait_for_responses(settings.db, settings.study, ids, per_stimulus=settings.wait_responses,
                                poll_seconds=settings.poll_seconds, timeout=settings.timeout, echo=echo,
                                progress=settings.progress)
    collected = collect_labels(settings.db, settings.study, round_dir / "elicited",
                               class_names=runs[0].class_names)
    echo(f"  {collected['counts']['cifar10s_responses']} responses on {collected['labelled']} stimuli so far "
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


def run_loop(settings: LoopSettings, *, echo: Callable[[str], None] = print) -> LoopResult:
    """Run the loop of the module docstring and write its table, plot and per-round artifacts."""
    from levelsets.artifacts import atomic_output_dir, check_writable_dir, provenance, write_json
    from levelsets.devices import resolve_device
    from levelsets.plots import plot_rounds
    from levelsets.sample_runs import load_run
    from levelsets.sampling import SampleJob, run_sample_job
    from levelsets.seeding import seed_everything
    from levelsets.softlabels.soft_training import train_with_soft_labels

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
                out=round_dir / "classifier.pt", echo=echo, progress=settings.progress, **recipe,
            )

        def sample_round(r: int, target: str, round_dir: Path):
            """Sample the level set of ``target`` under f_{r-1} into ``round_dir/runs``; record it in ``details``."""
            safe = target.replace(":", "_").replace(",", "_")
            job = SampleJob(
                world=settings.world, target=target, alpha=settings.alpha, particles=settings.particles,
                steps=settings.steps, burn_in=settings.burn_in, samples=settings.samples_per_target,
                seed=settings.seed + 1000 * r, device=str(device), out=round_dir / "runs" / safe,
                classifier=tmp / f"round_{r - 1}" / "classifier.pt", progress=settings.progress,
            )
            done = run_sample_job(job, echo=echo)
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
                record = _live_round(settings, r, runs, names, labelled, round_dir, echo)
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
            echo(f"Round {r}: training on base data + {len(augment)} augmenting run(s) ...")
            model, card = train(round_dir)
            metrics = evaluate_round(model, sets, device)
            row = {"round": r, "augmenting_runs": len(augment), "added_this_round": added, **extra, **metrics}
            table.append(row)
            echo("  " + ", ".join(f"{k}={v:.4g}" for k, v in metrics.items() if isinstance(v, float)))

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
    echo(f"Wrote {settings.out}")
    return LoopResult(out=Path(settings.out), table=table)


def markdown_table(table: Sequence[dict[str, Any]], metrics: Sequence[str] = ROUND_METRICS) -> str:
    """The per-round table as GitHub markdown."""
    cols = ["round", "augmenting_runs", *[m for m in metrics if table and m in table[0]]]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in table:
        cells = [f"{row[c]:.4f}" if isinstance(row[c], float) else str(row[c]) for c in cols]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
