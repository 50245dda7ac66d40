"""The :class:`World` record: a latent prior, a decoder, a classifier and class names.

Everything the sampler, the sample job and stimulus export need about one world. Built-in worlds
(:mod:`levelsets.worlds.shapes`, :mod:`levelsets.worlds.mnist`) and user plugins
(:mod:`levelsets.worlds.plugins`) return the same record. This module imports no torch, so
``levelsets.World`` stays cheap to reach.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch


@dataclass
class World:
    """Everything the sampler needs about one world.

    A world plugin's factory returns ``World(prior=..., decoder=..., classifier=...,
    class_names=...)``; every other field is optional.

    Attributes
    ----------
    prior:
        Latent prior p(z), a ``torch.distributions.Distribution`` with event shape ``(d,)``
        (``sample``, ``log_prob``).
    decoder:
        z ``(N, d)`` → images ``(N, C, H, W)``, float, in [0, 1] (a renderer or a generator network).
    classifier:
        images ``(N, C, H, W)`` → probabilities ``(N, K)``, rows summing to 1; a black box (a torch
        module, any callable returning a torch tensor or numpy array, or an estimator with
        ``predict_proba``).
    class_names:
        The K class names, in the classifier's output order.
    name:
        Short name used in titles and summaries (default: the plugin's file stem or spec).
    latent_names:
        Names of the d latent coordinates (default ``z1..zd``).
    exact_posterior:
        z ``(N, d)`` float64 → exact p(class | z) ``(N, K)`` when the world knows it, else ``None``.
    data:
        One line saying which data the models were trained on.
    prior_name:
        Which prior of the world this is (``exact``, ``vae``, ...; plugins: the ``--prior`` given,
        else ``"default"``).
    cards:
        Model cards of the classifier and the generator (what was trained, how, how well).
    source:
        Where a plugin world came from (spec, file, SHA-256, function); set by the loader and
        recorded in every run's ``summary.json`` as ``world_plugin``. ``None`` for built-ins.
    """

    prior: torch.distributions.Distribution
    decoder: Callable[[torch.Tensor], torch.Tensor]
    classifier: Callable[[torch.Tensor], torch.Tensor]
    class_names: Sequence[str]
    name: str | None = None
    latent_names: Sequence[str] | None = None
    exact_posterior: Callable[[torch.Tensor], torch.Tensor] | None = None
    data: str = ""
    prior_name: str | None = None
    cards: dict[str, Any] = field(default_factory=dict)
    source: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.class_names, (str, bytes)) and self.class_names is not None:
            self.class_names = tuple(str(c) for c in self.class_names)
        if self.latent_names is None:
            shape = getattr(self.prior, "event_shape", None)
            if shape is not None and len(shape) == 1:
                self.latent_names = tuple(f"z{i + 1}" for i in range(int(shape[0])))
        elif not isinstance(self.latent_names, (str, bytes)):
            self.latent_names = tuple(str(n) for n in self.latent_names)

    @property
    def latent_dim(self) -> int:
        """d, the latent dimension."""
        return len(self.latent_names or ())

    def describe(self) -> dict[str, Any]:
        """JSON-ready description for summaries: names, data, the model cards' key facts, plugin source."""
        out = {
            "world": self.name,
            "prior": self.prior_name,
            "class_names": list(self.class_names),
            "latent_names": list(self.latent_names or ()),
            "data": self.data,
            "classifier": _card_digest(self.cards.get("classifier")),
            "generator": _card_digest(self.cards.get("generator")) if "generator" in self.cards else self.prior_name,
        }
        if self.source is not None:
            out["world_plugin"] = dict(self.source)
        return out


def _card_digest(card: dict | None) -> dict | None:
    if not card:
        return None
    keys = ("kind", "name", "path", "data", "heldout_accuracy", "bayes_accuracy", "seed", "exclude_class", "config")
    return {k: card[k] for k in keys if k in card}
