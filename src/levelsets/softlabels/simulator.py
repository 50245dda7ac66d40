r"""The soft-label simulator of seed 001 appendix B.5: human-like soft labels for hard-labelled data.

Fitting (from CIFAR-10S-format responses), separately for *low*- and *high*-entropy examples:

* a Beta distribution of the top-1 probability (responses' "Most Probable Class Prob" / 100),
* a Beta distribution of the top-2 probability (when a second class was given),
* a histogram of :math:`K_p`, the number of alternative classes *not* marked impossible
  (:math:`0 \le K_p \le K-1`).

An example's entropy is that of its aggregate T2-clamp label (or one the caller supplies, e.g.
CIFAR-10H's); the split is at ``entropy_threshold`` (default: the median over the fitted examples).

Generating a label for hard label c (entropy group g):

1. top-1 class c, probability :math:`p_1 \sim \mathrm{Beta}_{1,g}`;
2. rank the other classes by similarity to c (a given K×K matrix, or one derived from a
   classifier's confusion matrix, :func:`~levelsets.softlabels.class_similarity.similarity_from_confusion`; ties in random order);
3. :math:`K_p \sim` the group's histogram; the alternatives beyond the first :math:`K_p` are
   "impossible";
4. if :math:`K_p \ge 1`, :math:`p_2 \sim \mathrm{Beta}_{2,g}` (capped at :math:`p_1`, as a
   second-most-probable class cannot be more probable) goes on the most similar alternative;
5. the remaining mass is spread by the T2-clamp rule of
   :mod:`levelsets.softlabels.label_construction` (with γ), exactly as a human response would be.

References
----------
Collins, *Improving ML Systems by Eliciting and Incorporating Additional Human Knowledge*,
appendix B.5 and §5.2.3.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.special import entr

from levelsets.errors import LevelsetsError
from levelsets.softlabels.label_construction import (
    ConstructionSettings,
    SoftLabelSet,
    construct_label,
)
from levelsets.softlabels.responses import Response, parse_responses

BETA_CLIP = 1e-3
"""Probabilities are clipped to [ε, 1 − ε] before the Beta fit (humans often answer 100%)."""

GROUPS = ("low", "high")


def fit_beta(values: np.ndarray) -> tuple[float, float]:
    r"""Maximum-likelihood Beta(a, b) on [0, 1] for values clipped to [ε, 1 − ε].

    Falls back to the method of moments when the MLE fails, and to Beta(1, 1) with fewer than
    two distinct values.

    Returns
    -------
    (a, b)
    """
    from scipy import stats

    x = np.clip(np.asarray(values, dtype=np.float64), BETA_CLIP, 1.0 - BETA_CLIP)
    if x.size < 2 or np.ptp(x) == 0:
        return 1.0, 1.0
    mean, var = x.mean(), x.var()
    common = mean * (1 - mean) / var - 1.0
    moments = (max(mean * common, 1e-2), max((1 - mean) * common, 1e-2))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a, b, _, _ = stats.beta.fit(x, moments[0], moments[1], floc=0.0, fscale=1.0)
    except (ValueError, RuntimeError, FloatingPointError):
        return moments
    if not (np.isfinite(a) and np.isfinite(b) and a > 0 and b > 0):
        return moments
    return float(a), float(b)


def entropy(p: np.ndarray) -> np.ndarray:
    r"""Shannon entropy in nats along the last axis, :math:`-\sum_k p_k \log p_k` with 0 log 0 = 0.

    ``p`` is ``(..., K)``; the result is ``(...)``. The terms are :func:`scipy.special.entr`.
    """
    return entr(np.asarray(p, dtype=np.float64)).sum(axis=-1)


@dataclass
class GroupFit:
    """Fitted statistics for one entropy group.

    Attributes
    ----------
    top1:
        (a, b) of the Beta over the top-1 probability.
    top2:
        (a, b) of the Beta over the top-2 probability.
    possible_counts:
        (K,) probabilities of K_p = 0 … K−1 possible alternatives.
    num_responses:
        Responses used.
    """

    top1: tuple[float, float]
    top2: tuple[float, float]
    possible_counts: np.ndarray
    num_responses: int


@dataclass
class SoftLabelSimulator:
    """A fitted simulator (see the module docstring); build one with :meth:`fit`."""

    class_names: tuple[str, ...]
    groups: dict[str, GroupFit]
    entropy_threshold: float
    gamma: float = 0.1

    @property
    def num_classes(self) -> int:
        """K."""
        return len(self.class_names)

    @classmethod
    def fit(
        cls,
        raw_responses: Mapping[str, object],
        class_names: Sequence[str],
        *,
        entropies: Mapping[str, float] | None = None,
        entropy_threshold: float | None = None,
        gamma: float = 0.1,
    ) -> SoftLabelSimulator:
        """Fit the Beta distributions and possible-class histograms from responses.

        Parameters
        ----------
        raw_responses:
            ``{example id: [response, ...]}`` (CIFAR-10S format; validated).
        class_names:
            The K classes.
        entropies:
            Per-example entropy used for the low/high split; default: the entropy of the
            example's aggregate T2-clamp label.
        entropy_threshold:
            Examples with entropy ≥ this are "high"; default: the median entropy.
        gamma:
            γ of the clamp rule used when generating.
        """
        settings = ConstructionSettings("t2-clamp", gamma)
        parsed = parse_responses(raw_responses, class_names, source="simulator responses")
        k = len(class_names)
        if entropies is None:
            entropies = {
                key: float(entropy(np.mean([construct_label(r, k, settings) for r in rs], axis=0)))
                for key, rs in parsed.items()
            }
        missing = [key for key in parsed if key not in entropies]
        if missing:
            raise LevelsetsError(f"no entropy given for example {missing[0]!r} ({len(missing)} missing)")
        values = np.array([entropies[key] for key in parsed])
        threshold = float(np.median(values)) if entropy_threshold is None else float(entropy_threshold)
        by_group: dict[str, list[Response]] = {"low": [], "high": []}
        for key, rs in parsed.items():
            by_group["high" if entropies[key] >= threshold else "low"].extend(rs)
        all_responses = [r for rs in parsed.values() for r in rs]
        groups = {}
        for name in GROUPS:
            rs = by_group[name] or all_responses  # an empty group borrows the pooled fit
            groups[name] = _fit_group(rs, k)
        return cls(class_names=tuple(class_names), groups=groups, entropy_threshold=threshold, gamma=gamma)

    def generate(
        self,
        hard_labels: np.ndarray,
        *,
        similarity: np.ndarray | None = None,
        high_entropy: np.ndarray | None = None,
        seed: int = 0,
    ) -> np.ndarray:
        """Simulate one annotator's soft label for each hard label.

        Parameters
        ----------
        hard_labels:
            (N,) class indices.
        similarity:
            (K, K) class similarity (larger = more similar); default: none (random ranking).
        high_entropy:
            (N,) bool, which examples use the high-entropy fit; default all low.
        seed:
            Seed of the draws; the same seed gives the same labels.

        Returns
        -------
        numpy.ndarray
            (N, K) float64, rows sum to 1.
        """
        settings = ConstructionSettings("t2-clamp", self.gamma)
        responses = self.draw_responses(hard_labels, similarity=similarity, high_entropy=high_entropy, seed=seed)
        out = np.empty((len(responses), self.num_classes))
        for n, response in enumerate(responses):
            out[n] = construct_label(response, self.num_classes, settings)
        return out

    def draw_responses(
        self,
        hard_labels: np.ndarray,
        *,
        similarity: np.ndarray | None = None,
        high_entropy: np.ndarray | None = None,
        seed: int = 0,
    ) -> list[Response]:
        """Simulate one annotator's *response* (steps 1–4 of the module docstring) per hard label.

        The same draws as :meth:`generate` (same seed, same responses); :meth:`generate` turns
        them into labels with step 5. Probabilities are in [0, 1]; a simulated participant of a
        live study posts them as percentages.
        """
        k = self.num_classes
        hard = np.asarray(hard_labels, dtype=np.int64)
        if hard.ndim != 1 or (hard.size and (hard.min() < 0 or hard.max() >= k)):
            raise LevelsetsError(f"hard labels must be a 1-d array of class indices in 0..{k - 1}")
        sim = np.zeros((k, k)) if similarity is None else np.asarray(similarity, dtype=np.float64)
        if sim.shape != (k, k):
            raise LevelsetsError(f"the similarity matrix must be {k}x{k}, got {sim.shape}")
        high = np.zeros(hard.shape, dtype=bool) if high_entropy is None else np.asarray(high_entropy, dtype=bool)
        if high.shape != hard.shape:
            raise LevelsetsError("high_entropy must have one entry per hard label")
        rng = np.random.default_rng(seed)
        out: list[Response] = []
        for c, is_high in zip(hard, high, strict=True):
            g = self.groups["high" if is_high else "low"]
            p1 = float(rng.beta(*g.top1))
            others = np.array([j for j in range(k) if j != c])
            order = others[np.lexsort((rng.random(others.size), -sim[c, others]))]
            k_p = int(rng.choice(k, p=g.possible_counts))
            top2 = top2_prob = None
            if k_p >= 1:
                top2 = int(order[0])
                top2_prob = min(float(rng.beta(*g.top2)), p1)
            impossible = frozenset(int(j) for j in order[k_p:])
            out.append(Response(int(c), p1, top2, top2_prob, impossible))
        return out

    @classmethod
    def fit_file(cls, path: str | Path, classes: str | Sequence[str], **kwargs) -> SoftLabelSimulator:
        """Fit from a CIFAR-10S response file (``classes`` as in ``labels build --classes``)."""
        from levelsets.softlabels.class_sets import resolve_class_names

        path = Path(path)
        if not path.is_file():
            raise LevelsetsError(f"response file {path} does not exist")
        try:
            raw = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise LevelsetsError(f"response file {path} is not valid JSON ({exc})") from None
        names = resolve_class_names(classes) if isinstance(classes, str) else tuple(classes)
        return cls.fit(raw, names, **kwargs)

    def label_set(
        self,
        hard_labels: np.ndarray,
        *,
        ids: Sequence[str] | None = None,
        annotators: int = 1,
        similarity: np.ndarray | None = None,
        high_entropy: np.ndarray | None = None,
        seed: int = 0,
    ) -> SoftLabelSet:
        """Simulate ``annotators`` labels per example as a :class:`SoftLabelSet` (ids default "0".."N-1").

        Save it with :func:`levelsets.softlabels.label_files.save_soft_labels`; keyed by sample
        index it labels an augmenting run (``augment_labels``), keyed by example index a dataset.
        """
        if annotators < 1:
            raise LevelsetsError(f"annotators must be >= 1, got {annotators}")
        hard = np.asarray(hard_labels, dtype=np.int64)
        ids = [str(i) for i in range(hard.size)] if ids is None else [str(i) for i in ids]
        if len(ids) != hard.size:
            raise LevelsetsError(f"{len(ids)} ids for {hard.size} hard labels")
        draws = np.stack(
            [self.generate(hard, similarity=similarity, high_entropy=high_entropy, seed=seed * 1000 + m) for m in range(annotators)],
            axis=1,
        )  # (N, M, K)
        return SoftLabelSet(
            class_names=self.class_names,
            per_annotator={key: draws[n] for n, key in enumerate(ids)},
            settings=ConstructionSettings("t2-clamp", self.gamma),
            source="soft-label simulator (seed 001 appendix B.5)",
        )

    def to_dict(self) -> dict:
        """Plain-JSON form (for sidecars and reuse)."""
        return {
            "class_names": list(self.class_names),
            "entropy_threshold": self.entropy_threshold,
            "gamma": self.gamma,
            "groups": {
                name: {
                    "top1_beta": list(g.top1),
                    "top2_beta": list(g.top2),
                    "possible_counts": g.possible_counts.tolist(),
                    "num_responses": g.num_responses,
                }
                for name, g in self.groups.items()
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> SoftLabelSimulator:
        """Inverse of :meth:`to_dict`."""
        groups = {
            name: GroupFit(
                top1=tuple(g["top1_beta"]),
                top2=tuple(g["top2_beta"]),
                possible_counts=np.asarray(g["possible_counts"], dtype=np.float64),
                num_responses=int(g["num_responses"]),
            )
            for name, g in data["groups"].items()
        }
        return cls(
            class_names=tuple(data["class_names"]),
            groups=groups,
            entropy_threshold=float(data["entropy_threshold"]),
            gamma=float(data["gamma"]),
        )


def _fit_group(responses: Sequence[Response], k: int) -> GroupFit:
    top1 = np.array([r.top1_prob for r in responses])
    top2 = np.array([r.top2_prob for r in responses if r.top2 is not None and r.top2_prob is not None])
    counts = np.bincount([k - 1 - len(r.impossible - {r.top1}) for r in responses], minlength=k)[:k].astype(np.float64)
    return GroupFit(
        top1=fit_beta(top1),
        top2=fit_beta(top2) if top2.size else (1.0, 1.0),
        possible_counts=counts / counts.sum(),
        num_responses=len(responses),
    )
