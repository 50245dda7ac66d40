r"""Soft labels from annotator responses in the CIFAR-10S format (seed 001 §3.2.2, DESIGN §5).

A *response* is one annotator's answer about one example::

    {"Most Probable Class": "cat", "Most Probable Class Prob": 70,
     "Second Most Probable Class": "dog", "Second Most Probable Class Prob": 20,
     "Impossible Class(es)": ["airplane", "ship"]}

with ``"Second Most Probable Class": "No"`` and ``"Second Most Probable Class Prob": null`` when
the annotator gave no second class. A response file maps example ids to lists of responses.

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

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from levelsets.errors import LevelsetsError

TOP1 = "Most Probable Class"
TOP1_PROB = "Most Probable Class Prob"
TOP2 = "Second Most Probable Class"
TOP2_PROB = "Second Most Probable Class Prob"
IMPOSSIBLE = "Impossible Class(es)"
RESPONSE_KEYS = (TOP1, TOP1_PROB, TOP2, TOP2_PROB, IMPOSSIBLE)
NO_SECOND = "No"

VARIETIES = ("t2-clamp", "t2-uniform", "t1-clamp", "t1-uniform")
DEFAULT_GAMMA = 0.1
MAX_LISTED_PROBLEMS = 25

SECOND_EQUALS_FIRST = "second-equals-first"
SECOND_WITHOUT_PROB = "second-without-prob"
NAMED_CLASS_IMPOSSIBLE = "named-class-impossible"
SPREAD_COUNT = "spread-count"
ANOMALY_KINDS = (SECOND_EQUALS_FIRST, SECOND_WITHOUT_PROB, NAMED_CLASS_IMPOSSIBLE, SPREAD_COUNT)
"""The anomalies ``strict=False`` accepts (see the module docstring), as listed in an anomaly file."""


@dataclass(frozen=True)
class Anomaly:
    """One accepted-but-anomalous response: where it is and what was done with it.

    Attributes
    ----------
    example:
        The example id.
    annotator:
        The response's 0-based index in the example's list.
    kind:
        One of :data:`ANOMALY_KINDS`.
    what:
        What the response says and how the construction treats it.
    """

    example: str
    annotator: int
    kind: str
    what: str


@dataclass(frozen=True)
class Response:
    """One validated annotator response, with classes as indices.

    Attributes
    ----------
    top1, top1_prob:
        Most probable class index and its probability in [0, 1].
    top2, top2_prob:
        Second most probable class index and probability in [0, 1], or ``None`` when absent.
    impossible:
        Indices of the classes marked "definitely not".
    anomalies:
        ``(kind, what)`` for each anomaly accepted by ``parse_response(..., strict=False)``; a
        strictly valid response has none (then ``top2 != top1``, ``top2_prob`` is given with
        ``top2`` and neither named class is impossible).
    """

    top1: int
    top1_prob: float
    top2: int | None
    top2_prob: float | None
    impossible: frozenset[int] = frozenset()
    anomalies: tuple[tuple[str, str], ...] = ()


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


def _class_lookup(class_names: Sequence[str]) -> dict[str, int]:
    return {str(name).strip().lower(): i for i, name in enumerate(class_names)}


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(float(value))


def parse_response(
    raw: object, class_names: Sequence[str], *, strict: bool = True
) -> tuple[Response | None, list[str]]:
    """Validate one raw response; return it parsed (or ``None``) and the list of its problems.

    Parameters
    ----------
    raw:
        The JSON object of one response.
    class_names:
        The K class names; matching is case-insensitive.
    strict:
        ``True``: the anomalies of the published data (second class equal to the first, a
        named class marked impossible, a second class without a probability) are problems.
        ``False``: they are accepted and listed in ``Response.anomalies`` (module docstring).

    Returns
    -------
    (Response or None, list of str)
        Every problem found (not just the first), each a short phrase.
    """
    if not isinstance(raw, Mapping):
        return None, [f"response is a {type(raw).__name__}, not an object with the keys {', '.join(RESPONSE_KEYS)}"]
    problems: list[str] = []
    anomalies: list[tuple[str, str]] = []

    def anomaly(kind: str, message: str, treatment: str) -> None:
        if strict:
            problems.append(message)
        else:
            anomalies.append((kind, f"{message}; {treatment}"))

    missing = [key for key in RESPONSE_KEYS if key not in raw]
    if missing:
        problems.append("missing key(s) " + ", ".join(repr(k) for k in missing))
    lookup = _class_lookup(class_names)

    def class_index(value: object, what: str) -> int | None:
        name = str(value).strip().lower() if isinstance(value, (str, int)) and not isinstance(value, bool) else None
        if name is None or name not in lookup:
            problems.append(f"unknown {what} {value!r}")
            return None
        return lookup[name]

    def probability(value: object, what: str) -> float | None:
        if not _is_number(value):
            problems.append(f"{what} {value!r} is not a number in 0-100")
            return None
        if not 0.0 <= float(value) <= 100.0:
            problems.append(f"{what} {value} is outside 0-100")
            return None
        return float(value) / 100.0

    top1 = class_index(raw[TOP1], "most probable class") if TOP1 in raw else None
    top1_prob = probability(raw[TOP1_PROB], "most probable class prob") if TOP1_PROB in raw else None

    top2: int | None = None
    top2_prob: float | None = None
    second = raw.get(TOP2, NO_SECOND)
    second_prob = raw.get(TOP2_PROB)
    if second is None or (isinstance(second, str) and second.strip().lower() == NO_SECOND.lower()):
        if second_prob not in (None, 0, 0.0):
            problems.append(f"second most probable class prob is {second_prob!r} but the second class is 'No'")
    else:
        top2 = class_index(second, "second most probable class")
        if TOP2_PROB in raw:
            if second_prob is None:
                anomaly(SECOND_WITHOUT_PROB, "second most probable class given without a probability", "ignored")
            else:
                top2_prob = probability(second_prob, "second most probable class prob")
        if top2 is not None and top1 is not None and top2 == top1:
            anomaly(
                SECOND_EQUALS_FIRST,
                f"second most probable class equals the most probable ({class_names[top1]})",
                "T2 puts its probability in place of the first's" if second_prob is not None else "ignored",
            )

    impossible: set[int] = set()
    raw_impossible = raw.get(IMPOSSIBLE, [])
    if raw_impossible is None:
        raw_impossible = []
    if not isinstance(raw_impossible, (list, tuple)):
        problems.append(f"impossible class(es) must be a list, got {raw_impossible!r}")
        raw_impossible = []
    for value in raw_impossible:
        index = class_index(value, "impossible class")
        if index is not None:
            impossible.add(index)
    treatment = "clamp leaves it out of the possible classes but counts its mass"
    if top1 is not None and top1 in impossible:
        anomaly(NAMED_CLASS_IMPOSSIBLE, f"most probable class {class_names[top1]} is marked impossible", treatment)
    if top2 is not None and top2 in impossible and (strict or top2 != top1):
        anomaly(NAMED_CLASS_IMPOSSIBLE, f"second most probable class {class_names[top2]} is marked impossible", treatment)

    if problems or top1 is None or top1_prob is None:
        return None, problems
    return Response(top1, top1_prob, top2, top2_prob, frozenset(impossible), tuple(anomalies)), []


def _format_problems(problems: list[str], source: str) -> str:
    where = f" in {source}" if source else ""
    noun = "problem" if len(problems) == 1 else "problems"
    head = f"{len(problems)} {noun} with the responses{where}; fix them and run again:"
    listed = problems[:MAX_LISTED_PROBLEMS]
    lines = [head, *(f"  - {p}" for p in listed)]
    if len(problems) > len(listed):
        lines.append(f"  ... and {len(problems) - len(listed)} more")
    return "\n".join(lines)


def parse_responses(
    raw: object, class_names: Sequence[str], *, source: str = "", strict: bool = True
) -> dict[str, list[Response]]:
    """Validate a whole response file; collect *all* problems and raise them together.

    Parameters
    ----------
    raw:
        The loaded JSON: ``{example id: [response, ...]}``.
    class_names:
        The K class names.
    source:
        File name used in the error message.
    strict:
        Whether the published data's anomalies are problems (see :func:`parse_response`).

    Returns
    -------
    dict
        ``{example id: [Response, ...]}`` in input order.

    Raises
    ------
    LevelsetsError
        One error whose first line says how many problems there are, followed by one line per
        problem naming the example id and the annotator index (0-based).
    """
    if not isinstance(raw, Mapping):
        raise LevelsetsError(
            f"responses{' in ' + source if source else ''} must be a JSON object mapping example ids "
            f"to lists of responses, got a {type(raw).__name__}"
        )
    if not raw:
        raise LevelsetsError(f"responses{' in ' + source if source else ''} hold no examples")
    problems: list[str] = []
    parsed: dict[str, list[Response]] = {}
    for example_id, responses in raw.items():
        if not isinstance(responses, (list, tuple)) or not responses:
            problems.append(f"example {example_id!r}: expected a non-empty list of responses")
            continue
        out: list[Response] = []
        for m, item in enumerate(responses):
            response, issues = parse_response(item, class_names, strict=strict)
            problems.extend(f"example {example_id!r}, annotator {m}: {issue}" for issue in issues)
            if response is not None:
                out.append(response)
        parsed[str(example_id)] = out
    if problems:
        raise LevelsetsError(_format_problems(problems, source))
    return parsed


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
        raise LevelsetsError(_format_problems(problems, source))
    return SoftLabelSet(
        class_names=tuple(class_names), per_annotator=labels, settings=settings, source=source, anomalies=anomalies
    )
