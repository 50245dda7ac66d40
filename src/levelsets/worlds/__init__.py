"""Worlds: a latent prior, a decoder, a classifier and class names, ready for the sampler.

``load_world("shapes")`` is the procedural house/rocket world of seed 003 with its exact prior and
exact posterior (:mod:`levelsets.worlds.shapes`); ``load_world("mnist", prior="vae"|"gan")`` puts a
learned 5-d latent prior under an MNIST CNN (:mod:`levelsets.worlds.mnist`);
``load_world("mnist32")`` a 32-d latent MNIST VAE with a deeper decoder under a small
pre-activation ResNet (:mod:`levelsets.worlds.mnist32`, registered through the entry-point group
like any package's world). Missing models are trained on first use (and cached in the model home),
with a note of what is being trained on which data.

Any other world comes from a plugin (:mod:`levelsets.worlds.plugins`, ``docs/worlds.md``):
``load_world("my_world.py:make_world")``, ``load_world("package.module:make_world")``, or a name a
package registers in the entry-point group ``levelsets.worlds`` — where the built-ins register too.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from levelsets.worlds import mnist as _mnist
from levelsets.worlds import shapes as _shapes
from levelsets.worlds.plugins import (
    ENTRY_POINT_GROUP,
    WorldChoice,
    call_factory,
    choose_world,
    is_plugin_spec,
    registered_worlds,
    world_slug,
)
from levelsets.worlds.world import World

WORLDS = ("shapes", "mnist")
"""The built-in worlds (more are registered through the entry-point group ``levelsets.worlds``)."""
PRIORS = {"shapes": _shapes.PRIORS, "mnist": _mnist.PRIORS}
"""The priors of each built-in world; the first is the default."""
DEFAULT_ALPHA = {"mnist": _mnist.DEFAULT_ALPHA, "shapes": _shapes.DEFAULT_ALPHA}
"""Dirichlet tolerance α used when none is given. MNIST: seed 003's α = 100. Shapes: 300, because
the shapes CNN is near-certain on almost all of its prior, so at α = 100 the posterior's extra
prior mass on the confident side pulls the ambiguous level set's mean confidence to 0.54; at 300
it is 0.52 (seed 003 reports 51.0 %). Measured in README § "Shapes level sets". Plugin worlds: their
factory's ``default_alpha`` attribute, else 100."""

COMMANDS_WITHOUT_PLUGINS = {
    "loop": "levelsets loop retrains the world's classifier every round from the built-in training recipe "
            "(shapes or mnist); a plugin world brings a fixed classifier, so sample it with `levelsets sample "
            "--world {spec}` and export stimuli from the runs instead (docs/worlds.md)",
}
"""Commands that need a built-in world, with the one-line reason given for a plugin."""

__all__ = [
    "DEFAULT_ALPHA", "ENTRY_POINT_GROUP", "PRIORS", "WORLDS", "World", "WorldChoice", "default_prior", "is_plugin_spec",
    "load_world", "plugin_decoder", "registered_worlds", "validate_world", "world_slug",
]


def default_prior(world: str) -> str | None:
    """The prior used when ``--prior`` is not given: exact for shapes, VAE for MNIST, a plugin's first declared prior."""
    if world in PRIORS:
        return PRIORS[world][0]
    return choose_world(world).prior


def validate_world(world: str, prior: str | None = None, *, command: str = "sample") -> WorldChoice:
    """Check a ``--world`` value (and ``--prior``) before anything is loaded; one-line errors.

    Parameters
    ----------
    world:
        ``shapes``, ``mnist``, a name registered in the entry-point group ``levelsets.worlds``,
        ``FILE.py:FUNC`` or ``package.module:FUNC``.
    prior:
        ``--prior``, or ``None`` for the world's default.
    command:
        The command asking (``sample``, ``loop``, ...); ``loop`` accepts built-in worlds only.

    Returns
    -------
    WorldChoice
        The parsed spec, the prior to use and the world's default α (``.default_alpha``).
    """
    from levelsets.errors import LevelsetsError

    choice = choose_world(world, prior)
    if command in COMMANDS_WITHOUT_PLUGINS and not choice.spec.builtin:
        raise LevelsetsError(f"--world {world}: " + COMMANDS_WITHOUT_PLUGINS[command].format(spec=world))
    return choice


def load_world(
    world: str = "mnist",
    prior: str | None = None,
    *,
    device: Any = "cpu",
    seed: int = 0,
    exclude_class: int | None = None,
    classifier_path: str | Path | None = None,
    train_if_missing: bool = True,
    progress: bool = True,
) -> World:
    """Build a :class:`World`, training and caching missing models first (built-ins).

    Training a missing model is announced by notes on the ``levelsets`` logger ("training a VAE
    on ...", :mod:`levelsets.logs`).

    Parameters
    ----------
    world:
        ``"shapes"``, ``"mnist"``, a registered name, ``"FILE.py:FUNC"`` or ``"package.module:FUNC"``.
    prior:
        ``None`` for the world's default; see :data:`PRIORS` (plugins: ``FUNC.priors``).
    device:
        Where the decoder and classifier run.
    seed:
        Seed used if a model has to be trained.
    exclude_class:
        MNIST only: use a generator trained without this class (in-distribution adversarial use).
    classifier_path:
        Use this classifier checkpoint (e.g. one trained by the soft-label loop) instead of the
        cached zoo classifier of the world.
    train_if_missing:
        Train missing models (else raise a CheckpointError naming the training command).
    progress:
        Show progress bars while training missing models.

    Raises
    ------
    LevelsetsError
        Unknown world or prior; for a plugin, any failure to load it or a probe batch that does not
        fit (one line naming the plugin; :func:`levelsets.worlds.plugins.check_world`).
    """
    choice = validate_world(world, prior)
    return call_factory(choice, device=device, seed=seed, exclude_class=exclude_class, classifier_path=classifier_path,
                        train_if_missing=train_if_missing, progress=progress)


def plugin_decoder(summary: dict[str, Any], *, device: Any = "cpu") -> Callable | None:
    """The decoder of a run's plugin world (from ``summary["world_plugin"]``), or ``None`` for built-in worlds.

    Reloads the plugin from the file or module recorded in the run (so it works from any directory).
    """
    source = summary.get("world_plugin")
    if not source:
        return None
    world = load_world(source.get("load_spec") or source["spec"], source.get("prior"), device=device, progress=False)
    return world.decoder


def class_names(world: str, prior: str | None = None) -> tuple[str, ...]:
    """The K class names of a world, for parsing targets before the world is loaded for sampling.

    Built-ins answer from constants; a plugin's factory is called once here (on the CPU, in a forked
    RNG so the seeded run that follows is unchanged) and again when the run loads it.
    """
    if world == "shapes":
        from levelsets.generative.shapes import SHAPES_CLASSES

        return tuple(SHAPES_CLASSES)
    if world in ("mnist", "mnist32"):  # mnist32: answered here so that parsing a target trains nothing
        from levelsets.data.mnist import MNIST_CLASSES

        return tuple(MNIST_CLASSES)
    import torch

    with torch.random.fork_rng(devices=[]):
        return tuple(load_world(world, prior, device="cpu", progress=False).class_names)
