"""``levelsets loop``: sample → label → train → evaluate, for several rounds."""

from __future__ import annotations

from pathlib import Path

import typer

from levelsets.cli.common import DeviceOption, SeedOption


def loop(
    world: str = typer.Option("shapes", "--world", help="shapes (exact posterior known) or mnist; the loop retrains the classifier from a built-in recipe, so plugin worlds (FILE.py:FUNC) are refused — sample them with `levelsets sample`."),
    rounds: int = typer.Option(3, "--rounds", "-R", help="Augmentation rounds after round 0 (hard labels)."),
    labeler: str = typer.Option("truth", "--labeler", help="truth (exact posterior, shapes) | target | simulator | elicited."),
    target: list[str] = typer.Option([], "--target", "-t", help="Level-set target(s) sampled each round (repeatable); default: ambiguous and class-pair targets."),
    samples_per_target: int = typer.Option(300, "--samples-per-target", help="Samples added per target per round."),
    particles: int = typer.Option(600, "--particles", "-N"),
    steps: int = typer.Option(150, "--steps", "-T"),
    burn_in: int = typer.Option(100, "--burn-in"),
    alpha: float = typer.Option(50.0, "--alpha"),
    augment_repeat: int = typer.Option(1, "--augment-repeat", help="Add each augmenting run this many times (weight of the labelled samples vs base data)."),
    n_train: int | None = typer.Option(None, "--n-train", help="Base training examples (default: 4,000 shapes; all of the MNIST split)."),
    epochs: int | None = typer.Option(None, "--epochs", help="Training epochs per round (default: the recipe's)."),
    method: str = typer.Option("ce", "--method", help="ce | label-smoothing | mixup | mix-maxent | ent-wc"),
    eval_size: int = typer.Option(2000, "--eval-size", help="Near-boundary evaluation examples."),
    heldout_size: int = typer.Option(2000, "--heldout-size", help="Ordinary held-out examples (accuracy)."),
    simulator_responses: Path | None = typer.Option(None, "--simulator-responses", help="Responses (CIFAR-10S JSON) to fit the simulator labeler."),
    elicited_labels: Path | None = typer.Option(None, "--elicited-labels", help="Soft labels from `levelsets labels build` (elicited labeler)."),
    stimuli: Path | None = typer.Option(None, "--stimuli", help="The `levelsets stimuli export` directory those labels are about."),
    study: Path | None = typer.Option(None, "--study", help="Live elicitation: a new directory the loop adds a round of stimuli to each round; serve it with `levelsets elicit serve STUDY --db DB`."),
    db: Path | None = typer.Option(None, "--db", help="Live elicitation: the response database of that server (created by the server)."),
    stimuli_per_round: int = typer.Option(20, "--stimuli-per-round", help="Live: samples shown to people per round, where the classifier and the elicited labels disagree most (total variation)."),
    wait_responses: int = typer.Option(3, "--wait-responses", help="Live: responses (distinct participants) to wait for on each of the round's stimuli."),
    poll_seconds: float = typer.Option(10.0, "--poll-seconds", help="Live: how often the database is read while waiting."),
    timeout: float | None = typer.Option(None, "--timeout", help="Live: longest wait per round in seconds, then go on with what came back [default: no limit]."),
    per_participant: int = typer.Option(10, "--per-participant", help="Live: trials per participant batch."),
    repeats: int = typer.Option(1, "--repeats", help="Live: trials per batch that repeat a stimulus (consistency check)."),
    stimulus_size: int = typer.Option(160, "--stimulus-size", help="Live: side of the stimulus PNGs in pixels."),
    seed: int = SeedOption,
    device: str = DeviceOption,
    out: Path | None = typer.Option(None, "--out", "-o", help="Output directory (default: runs/<time>-loop-...)."),
    overwrite: bool = typer.Option(False, "--overwrite"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Close the loop: each round samples level sets of the current classifier, labels them, retrains and evaluates.

    Writes a per-round table (table.json, table.md), rounds.png, and every round's classifier and runs.
    With --labeler elicited --study DIR --db FILE the loop runs against a live study: each round adds
    stimuli to DIR (the running `levelsets elicit serve DIR` takes them up), waits for the responses
    and trains on them.
    """
    from levelsets.loop import LoopSettings, run_loop

    settings = LoopSettings(
        world=world, rounds=rounds, labeler=labeler, targets=tuple(target) or None,
        samples_per_target=samples_per_target, particles=particles, steps=steps, burn_in=burn_in, alpha=alpha,
        augment_repeat=augment_repeat,
        n_train=n_train, epochs=epochs, method=method, eval_size=eval_size, heldout_size=heldout_size,
        simulator_responses=simulator_responses, elicited_labels=elicited_labels, stimuli=stimuli,
        study=study, db=db, stimuli_per_round=stimuli_per_round, wait_responses=wait_responses,
        poll_seconds=poll_seconds, timeout=timeout, per_participant=per_participant, repeats=repeats,
        stimulus_size=stimulus_size,
        seed=seed, device=device, out=out, overwrite=overwrite, progress=not quiet,
    )
    result = run_loop(settings, echo=typer.echo)
    typer.echo((result.out / "table.md").read_text())


def register(app: typer.Typer) -> None:
    """Add ``levelsets loop``."""
    app.command("loop")(loop)
