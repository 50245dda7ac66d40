"""Settings of the closed loop (:func:`levelsets.workflows.loop.run_loop`), validated on construction.

Every ``levelsets loop`` option is a field of :class:`LoopSettings`; a bad value raises a one-line
:class:`~levelsets.errors.LevelsetsError` before anything runs.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from levelsets.errors import LevelsetsError
from levelsets.job_fields import (
    device_field,
    out_field,
    overwrite_field,
    progress_field,
    relaxation_field,
    seed_field,
    tolerance_field,
)
from levelsets.sampler_checks import check_sampler_settings

LABELERS = ("truth", "target", "simulator", "elicited")
DEFAULT_TARGETS = {
    "shapes": ("ambiguous", "graded:rocketvshouse:0.25", "graded:rocketvshouse:0.75"),
    "mnist": ("ambiguous", "1vs7", "8vs9", "4vs9", "3vs5"),
}
LOOP_N_TRAIN: dict[str, int | None] = {"shapes": 4000, "mnist": None}
"""Default base training-set size per world (the zoo's shapes recipe uses 16,000)."""

@dataclass
class LoopSettings:
    """Settings of :func:`levelsets.workflows.loop.run_loop` (validated on construction).

    Each field is one option of ``levelsets loop``: its docstring is the option's ``--help``
    (:mod:`levelsets.cli.options`; the fields every job shares come from :mod:`levelsets.job_fields`).
    The sampling settings are checked by the sampler's own checks
    (:func:`~levelsets.sampler_checks.check_sampler_settings`). After construction ``targets``,
    ``n_train`` and ``out`` hold their resolved values.
    """

    world: str = "shapes"
    """shapes (exact posterior known) or mnist; the loop retrains the classifier from a built-in recipe, so
    plugin worlds (FILE.py:FUNC) are refused — sample them with `levelsets sample`."""
    rounds: int = field(default=3, metadata={"flags": ("-R",)})
    """Augmentation rounds after round 0 (hard labels)."""
    labeler: str = "truth"
    """truth (exact posterior, shapes) | target | simulator | elicited."""
    targets: tuple[str, ...] | None = field(default=None, metadata={"option": "--target", "flags": ("-t",), "type": list[str]})
    """Level-set target(s) sampled each round (repeatable); default: ambiguous and class-pair targets."""
    samples_per_target: int = 300
    """Samples added per target per round."""
    particles: int = field(default=600, metadata={"flags": ("-N",)})
    """Particles N of each round's sampling runs."""
    steps: int = field(default=150, metadata={"flags": ("-T",)})
    """Total MH steps per particle (burn-in included)."""
    burn_in: int = 100
    """Steps of tempering + proposal adaptation before the kept draws."""
    relaxation: str = relaxation_field()
    tolerance: float = tolerance_field()
    alpha: float = 50.0
    """Dirichlet tolerance α of each round's sampling job (larger = tighter), with --relaxation dirichlet."""
    augment_repeat: int = 1
    """Add each augmenting run this many times (weight of the labelled samples vs base data)."""
    n_train: int | None = None
    """Base training examples (default: 4,000 shapes; all of the MNIST split)."""
    epochs: int | None = None
    """Training epochs per round (default: the recipe's)."""
    method: str = "ce"
    """ce | label-smoothing | mixup | mix-maxent | ent-wc"""
    eval_size: int = 2000
    """Near-boundary evaluation examples."""
    heldout_size: int = 2000
    """Ordinary held-out examples (accuracy)."""
    simulator_responses: Path | None = None
    """Responses (CIFAR-10S JSON) to fit the simulator labeler."""
    elicited_labels: Path | None = None
    """Soft labels from `levelsets labels build` (elicited labeler)."""
    stimuli: Path | None = None
    """The `levelsets stimuli export` directory those labels are about."""
    study: Path | None = None
    """Live elicitation: a new directory the loop adds a round of stimuli to each round; serve it with
    `levelsets elicit serve STUDY --db DB`."""
    db: Path | None = None
    """Live elicitation: the response database of that server (created by the server)."""
    stimuli_per_round: int = 20
    """Live: samples shown to people per round, where the classifier and the elicited labels disagree most
    (total variation)."""
    wait_responses: int = 3
    """Live: responses (distinct participants) to wait for on each of the round's stimuli."""
    poll_seconds: float = 10.0
    """Live: how often the database is read while waiting."""
    timeout: float | None = None
    """Live: longest wait per round in seconds, then go on with what came back [default: no limit]."""
    per_participant: int = 10
    """Live: trials per participant batch."""
    repeats: int = 1
    """Live: trials per batch that repeat a stimulus (consistency check)."""
    stimulus_size: int = 160
    """Live: side of the stimulus PNGs in pixels."""
    seed: int = seed_field()
    device: str = device_field()
    out: Path | None = out_field("runs/<time>-loop-...")
    overwrite: bool = overwrite_field()
    progress: bool = progress_field()  # not an option: the CLI's --quiet

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
        # what each round's sampling job gets: the sampler's own checks (--samples-per-target is its samples)
        check_sampler_settings({"particles": self.particles, "steps": self.steps, "burn_in": self.burn_in,
                                "samples": self.samples_per_target, "alpha": self.alpha,
                                "relaxation": self.relaxation, "tolerance": self.tolerance},
                               options=True, rename={"samples": "--samples-per-target"})
        for name in ("eval_size", "heldout_size", "augment_repeat"):
            if getattr(self, name) < 1:
                raise LevelsetsError(f"--{name.replace('_', '-')} must be ≥ 1 (got {getattr(self, name)})")
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
        _check_targets(self.world, self.targets, self.relaxation)
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


def _check_targets(world: str, targets: Sequence[str], relaxation: str) -> None:
    """Every loop target must parse for the world's classes and be a single target; the Dirichlet needs all p_l > 0."""
    from levelsets.targets import check_relaxation_target, is_graded_strip, parse_target
    from levelsets.workflows.sample import _class_names

    names = _class_names(world)
    for spec in targets:
        if is_graded_strip(spec):
            raise LevelsetsError(f"target {spec!r} is a whole graded strip; give one β per loop target, e.g. {spec}:0.25")
        check_relaxation_target(parse_target(spec, names), relaxation)
