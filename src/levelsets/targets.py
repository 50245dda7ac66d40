r"""Named targets to probability vectors (DESIGN §2).

A *target* is the prediction p a level set is sampled for. Named forms, for K classes:

``ambiguous``
    uniform, :math:`p_l = 1/K`.
``AvsB`` (e.g. ``1vs7``, ``rocketvshouse``)
    :math:`p_A = p_B = (1 - 0.01 (K-2)) / 2`, every other class 0.01 (0.46 each for K = 10).
``confident:C`` or ``confident:C:q``
    :math:`p_C = q`, the others share :math:`1 - q`; default :math:`q = 1 - 0.01 (K-1)`,
    and 0.999 for K = 2 (seed 003's houses / rockets).
``graded:AvsB:β``
    mass m = 1 - 0.01 (K-2) moves from A to B: :math:`p_A = (1-β) m`, :math:`p_B = β m`.
    For K = 2 this is seed 003's β = p_B.
an explicit vector
    ``"0.2,0.8"`` or ``"[0.2, 0.8]"``: length K, non-negative, summing to 1.

Classes are named by their class names (``house``) or their indices (``7``).

References
----------
Booth et al., *Sampling Prediction-Matching Examples in Neural Networks*, Table 1 targets.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from levelsets.errors import LevelsetsError

OTHER_MASS = 0.01
"""Probability given to each non-target class in ``AvsB``, ``confident`` and ``graded`` targets."""

SUM_TOLERANCE = 1e-6

GRADED_STRIP_BETAS = tuple(round(0.1 * i, 1) for i in range(11))
"""β values of a graded strip: 0, 0.1, ..., 1."""


@dataclass(frozen=True)
class Target:
    """A validated target prediction.

    Attributes
    ----------
    spec:
        The string the user gave (or ``"vector"`` for an array).
    probs:
        Target probabilities, shape ``(K,)``, float64, non-negative, summing to 1.
    class_names:
        Names of the K classes, in the classifier's output order.
    classes:
        Indices of the classes the target is *about* (A and B for ``AvsB``, C for ``confident``);
        empty for ``ambiguous`` and explicit vectors.
    """

    spec: str
    probs: np.ndarray
    class_names: tuple[str, ...]
    classes: tuple[int, ...] = ()

    @property
    def num_classes(self) -> int:
        """K, the number of classes."""
        return len(self.class_names)

    def describe(self) -> str:
        """A short human-readable description, e.g. ``1vs7 (p[1]=0.46, p[7]=0.46)``."""
        shown = self.classes or tuple(int(i) for i in np.argsort(-self.probs)[: min(3, self.num_classes)])
        parts = ", ".join(f"p[{self.class_names[i]}]={self.probs[i]:.3g}" for i in shown)
        return f"{self.spec} ({parts})"

    def to_dict(self) -> dict:
        """JSON-ready form for summaries and sidecars."""
        return {
            "spec": self.spec,
            "probs": [float(p) for p in self.probs],
            "class_names": list(self.class_names),
            "classes": list(self.classes),
        }


def _class_index(token: str, class_names: Sequence[str], spec: str) -> int:
    token = token.strip()
    lowered = [c.lower() for c in class_names]
    if token.lower() in lowered:
        return lowered.index(token.lower())
    if token.isdigit() and int(token) < len(class_names):
        return int(token)
    raise LevelsetsError(
        f"target {spec!r}: unknown class {token!r}; classes are {', '.join(class_names)}"
    )


def _pair(text: str, class_names: Sequence[str], spec: str) -> tuple[int, int]:
    match = re.fullmatch(r"(.+?)vs(.+)", text.strip(), flags=re.IGNORECASE)
    if not match:
        raise LevelsetsError(f"target {spec!r}: expected a pair like 1vs7")
    a = _class_index(match.group(1), class_names, spec)
    b = _class_index(match.group(2), class_names, spec)
    if a == b:
        raise LevelsetsError(f"target {spec!r}: the two classes must differ")
    return a, b


def _beta(text: str, spec: str) -> float:
    try:
        beta = float(text)
    except ValueError:
        raise LevelsetsError(f"target {spec!r}: {text!r} is not a number") from None
    if not 0.0 <= beta <= 1.0:
        raise LevelsetsError(f"target {spec!r}: β={beta} must lie in [0, 1]")
    return beta


def validate_probs(probs: Sequence[float] | np.ndarray, num_classes: int, *, what: str = "target") -> np.ndarray:
    """Check a probability vector: length K, finite, non-negative, sums to 1. Returns float64."""
    arr = np.asarray(probs, dtype=np.float64)
    if arr.ndim != 1:
        raise LevelsetsError(f"{what} must be a flat vector of {num_classes} probabilities, got shape {arr.shape}")
    if arr.shape[0] != num_classes:
        raise LevelsetsError(
            f"{what} has {arr.shape[0]} entries but the classifier has {num_classes} classes; give {num_classes} probabilities"
        )
    if not np.all(np.isfinite(arr)):
        raise LevelsetsError(f"{what} contains NaN or infinite values")
    if np.any(arr < 0):
        raise LevelsetsError(f"{what} has negative entries ({arr.min():g}); probabilities must be ≥ 0")
    if abs(arr.sum() - 1.0) > SUM_TOLERANCE:
        raise LevelsetsError(f"{what} sums to {arr.sum():.6g}, not 1; rescale it so the entries sum to 1")
    return arr


def _others(num_classes: int, keep: Sequence[int]) -> np.ndarray:
    probs = np.full(num_classes, OTHER_MASS)
    probs[list(keep)] = 0.0
    return probs


def graded_probs(a: int, b: int, beta: float, num_classes: int) -> np.ndarray:
    """``graded:AvsB:β`` as an array: p_A = (1-β) m, p_B = β m, others 0.01."""
    probs = _others(num_classes, (a, b))
    mass = 1.0 - probs.sum()
    probs[a] = (1.0 - beta) * mass
    probs[b] = beta * mass
    return probs


def parse_target(spec: str | Sequence[float] | np.ndarray, class_names: Sequence[str]) -> Target:
    """Turn a target specification into a validated :class:`Target` for these classes.

    Parameters
    ----------
    spec:
        A named target (see the module docstring) or an explicit probability vector.
    class_names:
        The classifier's class names; their number K fixes the vector length.

    Raises
    ------
    LevelsetsError
        On an unknown name or class, a vector of the wrong length, negative entries or a sum ≠ 1.
    """
    class_names = tuple(str(c) for c in class_names)
    k = len(class_names)
    if k < 2:
        raise LevelsetsError(f"a classifier needs at least 2 classes, got {k}")
    if not isinstance(spec, str):
        return Target("vector", validate_probs(spec, k), class_names)

    text = spec.strip()
    if not text:
        raise LevelsetsError("empty target; use ambiguous, AvsB (e.g. 1vs7), confident:C, graded:AvsB:β or a vector")
    if text.startswith("[") or ("," in text and re.match(r"[-+.\d]", text)):
        try:
            values = json.loads(text if text.startswith("[") else f"[{text}]")
        except json.JSONDecodeError:
            raise LevelsetsError(f"target {spec!r} is not a valid vector; write it like 0.2,0.8") from None
        return Target(text, validate_probs(values, k), class_names)

    lowered = text.lower()
    if lowered == "ambiguous":
        return Target(text, np.full(k, 1.0 / k), class_names)
    if lowered.startswith("confident:"):
        parts = text.split(":")
        if len(parts) not in (2, 3):
            raise LevelsetsError(f"target {spec!r}: write confident:C or confident:C:q")
        c = _class_index(parts[1], class_names, spec)
        default_q = 0.999 if k == 2 else 1.0 - OTHER_MASS * (k - 1)
        q = _beta(parts[2], spec) if len(parts) == 3 else default_q
        probs = np.full(k, (1.0 - q) / (k - 1))
        probs[c] = q
        return Target(text, probs, class_names, (c,))
    if lowered.startswith("graded:"):
        parts = text.split(":")
        if len(parts) != 3:
            raise LevelsetsError(f"target {spec!r}: write graded:AvsB:β, e.g. graded:1vs7:0.3")
        a, b = _pair(parts[1], class_names, spec)
        return Target(text, graded_probs(a, b, _beta(parts[2], spec), k), class_names, (a, b))
    if "vs" in lowered:
        a, b = _pair(text, class_names, spec)
        return Target(text, graded_probs(a, b, 0.5, k), class_names, (a, b))
    raise LevelsetsError(
        f"unknown target {spec!r}; use ambiguous, AvsB (e.g. 1vs7), confident:C, graded:AvsB:β or a vector like 0.2,0.8"
    )


def graded_strip(spec: str, class_names: Sequence[str], betas: Sequence[float] = GRADED_STRIP_BETAS) -> list[Target]:
    """``graded:AvsB`` (no β): one target per β in ``betas``, mass moving from A to B."""
    parts = spec.split(":")
    if len(parts) != 2 or parts[0].lower() != "graded":
        raise LevelsetsError(f"target {spec!r}: a graded strip is written graded:AvsB")
    return [parse_target(f"{parts[0]}:{parts[1]}:{beta:g}", class_names) for beta in betas]


def is_graded_strip(spec: str) -> bool:
    """True for ``graded:AvsB`` without a β (the strip form)."""
    return isinstance(spec, str) and spec.lower().startswith("graded:") and spec.count(":") == 1


def check_relaxation_target(target: Target, relaxation: str) -> None:
    """Refuse, in one line, a target the relaxation cannot use: the Dirichlet needs every p_l > 0."""
    if relaxation == "dirichlet" and np.any(target.probs <= 0):
        raise LevelsetsError(f"target {target.spec} has a zero entry; the Dirichlet relaxation needs every p_l > 0 "
                             "(use e.g. 0.01 instead of 0, or --relaxation band or normal)")
