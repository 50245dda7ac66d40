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
    seed: int = SeedOption,
    device: str = DeviceOption,
    out: Path | None = typer.Option(None, "--out", "-o", help="Output directory (default: runs/<time>-loop-...)."),
    overwrite: bool = typer.Option(False, "--overwrite"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Close the loop: each round samples level sets of the current classifier, labels them, retrains and evaluates.

    Writes a per-round table (table.json, table.md), rounds.png, and every round's classifier and runs.
    """
    from levelsets.loop import LoopSettings, run_loop

    settings = LoopSettings(
        world=world, rounds=rounds, labeler=labeler, targets=tuple(target) or None,
        samples_per_target=samples_per_target, particles=particles, steps=steps, burn_in=burn_in, alpha=alpha,
        augment_repeat=augment_repeat,
        n_train=n_train, epochs=epochs, method=method, eval_size=eval_size, heldout_size=heldout_size,
        simulator_responses=simulator_responses, elicited_labels=elicited_labels, stimuli=stimuli,
        seed=seed, device=device, out=out, overwrite=overwrite, progress=not quiet,
    )
    result = run_loop(settings, echo=typer.echo)
    typer.echo((result.out / "table.md").read_text())


def register(app: typer.Typer) -> None:
    """Add ``levelsets loop``."""
    app.command("loop")(loop)
