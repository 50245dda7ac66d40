r"""Soft labels from annotator responses in the CIFAR-10S format (seed 001 §3.2.2, DESIGN §5).

See :mod:`levelsets.softlabels.responses` for the response format and its validation.

Construction (one response → one label :math:`\hat p \in \Delta^{K-1}`)
-------------------------------------------------------------------------
Varieties: **T1** uses the most probable class only, **T2** also the second; **uniform**
ignores the "definitely not" classes, **clamp** uses them.

1. Put the given probabilities / 100 on their classes; let :math:`m` be their sum.
2. If :math:`m < 1`: spread :math:`1 - m` equally over the classes that still have zero mass
   (uniform: all of them; clamp: only those not marked impossible). If none is left, spread
   nothing.
3. If :math:`m \ge 1`: divide by :math:`m`; then, for clamp only, if some class that is not
   impossible still has zero mass, multiply the existing mass by :math:`1 - \gamma` and spread
   :math:`\gamma` equally over those classes.
4. Normalize to sum 1.

The aggregate label of an example is the mean of its annotators' labels.

Published responses (CIFAR-10S) and their anomalies
---------------------------------------------------
The published CIFAR-10S responses hold answers the elicitation server refuses: the second class
equal to the first, a named class also marked impossible, a second class without a
probability. ``strict=False`` accepts them and reproduces the published construction (the
code behind the published labels), recording each as an :class:`Anomaly`:

* a second class equal to the first *overwrites* the first's probability (T2 only; T1 never
  reads the second class);
* a second class without a probability is ignored;
* clamp: the spread is divided over :math:`D = |\{\text{not impossible}\}| - |\{\text{mass} > 0\}|`
  classes (each open class -- not impossible, zero mass -- gets :math:`r / D`, with
  :math:`r = 1 - m` or :math:`\gamma`). A class that holds mass *and* is marked impossible is
  counted in the second set although it is not in the first, so :math:`D` is smaller than the
  number of open classes, each gets more, and step 4 renormalizes. Without such a class
  :math:`D` is the number of open classes and the rule above is unchanged.

:math:`D` can reach 0 or go negative when both named classes are marked impossible. With
:math:`D = 0` the published code spreads nothing (not even γ); so does this one, so an open
class can be left at zero mass. With :math:`D < 0` the published code would put *negative*
mass :math:`r / D` on the open classes, which no probability can reproduce: here a count
:math:`D \le 0` spreads nothing, and either case leaving an open class at zero is listed as a
``spread-count`` anomaly. A response whose label would be empty (no mass, every class marked
impossible, clamp) is refused in both modes: the published code divides 0 by 0 there.
With ``strict=True`` (the library default; ``levelsets labels build --strict``) every anomaly
is a problem and nothing is built.

References
----------
Collins, *Improving ML Systems by Eliciting and Incorporating Additional Human Knowledge*,
§3.2.2 (construction, γ = 0.1) and Fig. 3.2 (the four varieties).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from levelsets.errors import LevelsetsError
from levelsets.softlabels.responses import (
    SPREAD_COUNT,
    Anomaly,
    Response,
    format_problems,
    parse_responses,
)

VARIETIES = ("t2-clamp", "t2-uniform", "t1-clamp", "t1-uniform")
DEFAULT_GAMMA = 0.1


@dataclass(frozen=True)
class ConstructionSettings:
    """How responses become labels.

    Attributes
    ----------
    variety:
        ``t2-clamp`` (all elicited information; CIFAR-10S), ``t2-uniform``, ``t1-clamp`` or
        ``t1-uniform``.
    gamma:
        Mass γ kept for possible-but-unnamed classes when the named mass reaches 1 (clamp only),
        in [0, 1). Seed 001 selected 0.1 on held-out data.
    """

    variety: str = "t2-clamp"
    gamma: float = DEFAULT_GAMMA

    def __post_init__(self) -> None:
        if self.variety not in VARIETIES:
            raise LevelsetsError(f"unknown label variety {self.variety!r}; choose one of {', '.join(VARIETIES)}")
        if not (isinstance(self.gamma, (int, float)) and 0.0 <= float(self.gamma) < 1.0):
            raise LevelsetsError(f"--gamma must be in [0, 1), got {self.gamma!r}")

    @property
    def use_second(self) -> bool:
        """Whether the second most probable class is used (T2)."""
        return self.variety.startswith("t2")

    @property
    def clamp(self) -> bool:
        """Whether "definitely not" classes are excluded from redistribution (clamp)."""
        return self.variety.endswith("clamp")


@dataclass
class SoftLabelSet:
    """Per-annotator soft labels and their mean, keyed by example id (input order kept).

    Attributes
    ----------
    class_names:
        The K class names, in label order.
    per_annotator:
        ``{example id: array (M_i, K)}``, row m is annotator m's label (response order kept).
    settings:
        The construction settings used (``None`` for labels that did not come from responses).
    anomalies:
        The anomalies accepted while building (empty when built strictly or loaded).
    aggregated:
        ``{example id: (K,)}`` when the aggregate is not the mean of ``per_annotator`` (Dawid-Skene
        or GLAD posteriors); ``None`` means the mean.
    aggregation:
        How the aggregate was made: ``{"method": "mean" | "dawid-skene" | "glad", ...}`` with, for
        the latter two, the per-annotator reliability (see :mod:`levelsets.softlabels.crowd`).
    """

    class_names: tuple[str, ...]
    per_annotator: dict[str, np.ndarray]
    settings: ConstructionSettings | None = None
    source: str = ""
    anomalies: list[Anomaly] = field(default_factory=list)
    aggregated: dict[str, np.ndarray] | None = None
    aggregation: dict | None = None

    @property
    def ids(self) -> list[str]:
        """Example ids in file order."""
        return list(self.per_annotator)

    @property
    def num_classes(self) -> int:
        """K."""
        return len(self.class_names)

    def aggregate(self) -> dict[str, np.ndarray]:
        """The aggregate label of each example, ``{id: (K,)}``: ``aggregated`` if set, else the mean over annotators."""
        if self.aggregated is not None:
            return {key: self.aggregated[key] for key in self.per_annotator}
        return {key: labels.mean(axis=0) for key, labels in self.per_annotator.items()}

    def aggregate_matrix(self) -> np.ndarray:
        """Aggregate labels stacked in id order, shape (N, K), float64."""
        if not self.per_annotator:
            return np.zeros((0, self.num_classes))
        return np.stack(list(self.aggregate().values()))

    def __len__(self) -> int:
        return len(self.per_annotator)


def construct_label(response: Response, num_classes: int, settings: ConstructionSettings) -> np.ndarray:
    """Build one annotator's soft label by the rules in the module docstring.

    Parameters
    ----------
    response:
        A parsed response (class indices, probabilities in [0, 1]).
    num_classes:
        K.
    settings:
        Variety and γ.

    Returns
    -------
    numpy.ndarray
        Shape (K,), float64, non-negative, summing to 1.

    Raises
    ------
    LevelsetsError
        When the label would be empty (no mass and, for clamp, every class marked impossible;
        only possible for a response parsed with ``strict=False``).
    """
    label, _note = construct_label_checked(response, num_classes, settings)
    if label is None:
        raise LevelsetsError(f"response {_note}")
    return label


def construct_label_checked(
    response: Response, num_classes: int, settings: ConstructionSettings
) -> tuple[np.ndarray | None, str | None]:
    r"""Build one label and say whether the clamp's spread count left an open class at zero.

    With :math:`H` the classes holding mass, :math:`I` those marked impossible (clamp; empty for
    uniform) and :math:`O = \bar H \cap \bar I` the open classes, the spread :math:`r`
    (:math:`1 - m`, or γ after dividing by :math:`m \ge 1`) goes to each class of :math:`O` as
    :math:`r / D` with :math:`D = |\bar I| - |H|` (:math:`= |O|` unless a class of :math:`H` is
    in :math:`I`); nothing is spread when :math:`D \le 0`.

    Returns
    -------
    (numpy.ndarray or None, str or None)
        The label (``None`` when it would be empty) and a note: the ``spread-count`` anomaly
        when :math:`D \le 0` left open classes at zero, or why the label is empty.
    """
    p = np.zeros(num_classes, dtype=np.float64)
    p[response.top1] = response.top1_prob
    if settings.use_second and response.top2 is not None and response.top2_prob is not None:
        p[response.top2] = response.top2_prob  # overwrites the first when equal (published)
    m = float(p.sum())
    impossible = np.zeros(num_classes, dtype=bool)
    if settings.clamp:
        impossible[list(response.impossible)] = True
    holding = p > 0.0
    open_classes = ~holding & ~impossible
    count = int((~impossible).sum() - holding.sum())
    if m < 1.0:
        if count > 0:
            p[open_classes] += (1.0 - m) / count
    else:
        p /= m
        if settings.clamp and count > 0:
            p *= 1.0 - settings.gamma
            p[open_classes] += settings.gamma / count
    note = None
    if count <= 0 and open_classes.any():
        n_open = int(open_classes.sum())
        note = (
            f"clamp spread count {int((~impossible).sum())} not impossible - {int(holding.sum())} holding mass "
            f"= {count}: nothing spread, {n_open} possible class(es) keep zero mass"
            + (" (as published)" if count == 0 else " (the published code would give them negative mass)")
        )
    total = float(p.sum())
    if total <= 0.0:
        return None, (
            f"gives no probability to any class and marks every class impossible; no {settings.variety} label "
            "can be built from it"
        )
    return p / total, note


def build_soft_labels(
    raw_responses: object,
    class_names: Sequence[str],
    settings: ConstructionSettings | None = None,
    *,
    source: str = "",
    strict: bool = True,
) -> SoftLabelSet:
    """Validate responses and construct every annotator's label.

    Parameters
    ----------
    raw_responses:
        ``{example id: [response, ...]}`` as loaded from JSON.
    class_names:
        The K class names.
    settings:
        Variety and γ (default T2 clamp, γ = 0.1).
    source:
        File name for error messages.
    strict:
        ``True`` (default): refuse the published data's anomalies. ``False``: accept them with
        the published construction and list them in ``SoftLabelSet.anomalies`` (module docstring).

    Returns
    -------
    SoftLabelSet
        ``per_annotator[id]`` has shape (M_id, K); annotator order is the input order.

    Raises
    ------
    LevelsetsError
        All problems together (see :func:`parse_responses`), including responses whose label
        would be empty.
    """
    settings = settings or ConstructionSettings()
    parsed = parse_responses(raw_responses, class_names, source=source, strict=strict)
    k = len(class_names)
    labels: dict[str, np.ndarray] = {}
    anomalies: list[Anomaly] = []
    problems: list[str] = []
    for example_id, responses in parsed.items():
        rows = []
        for m, response in enumerate(responses):
            anomalies.extend(Anomaly(example_id, m, kind, what) for kind, what in response.anomalies)
            label, note = construct_label_checked(response, k, settings)
            if label is None:
                problems.append(f"example {example_id!r}, annotator {m}: {note}")
                continue
            if note is not None:
                anomalies.append(Anomaly(example_id, m, SPREAD_COUNT, note))
            rows.append(label)
        if rows:
            labels[example_id] = np.stack(rows)
    if problems:
        raise LevelsetsError(format_problems(problems, source))
    return SoftLabelSet(
        class_names=tuple(class_names), per_annotator=labels, settings=settings, source=source, anomalies=anomalies
    )
