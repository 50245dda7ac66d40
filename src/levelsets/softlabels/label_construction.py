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

References
----------
Collins, *Improving ML Systems by Eliciting and Incorporating Additional Human Knowledge*,
§3.2.2 (construction, γ = 0.1) and Fig. 3.2 (the four varieties).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

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
    """

    top1: int
    top1_prob: float
    top2: int | None
    top2_prob: float | None
    impossible: frozenset[int] = frozenset()


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
    """

    class_names: tuple[str, ...]
    per_annotator: dict[str, np.ndarray]
    settings: ConstructionSettings | None = None
    source: str = ""

    @property
    def ids(self) -> list[str]:
        """Example ids in file order."""
        return list(self.per_annotator)

    @property
    def num_classes(self) -> int:
        """K."""
        return len(self.class_names)

    def aggregate(self) -> dict[str, np.ndarray]:
        """Mean label over annotators, ``{id: (K,)}``."""
        return {key: labels.mean(axis=0) for key, labels in self.per_annotator.items()}

    def aggregate_matrix(self) -> np.ndarray:
        """Aggregate labels stacked in id order, shape (N, K), float64."""
        if not self.per_annotator:
            return np.zeros((0, self.num_classes))
        return np.stack([labels.mean(axis=0) for labels in self.per_annotator.values()])

    def __len__(self) -> int:
        return len(self.per_annotator)


def construct_label(response: Response, num_classes: int, settings: ConstructionSettings) -> np.ndarray:
    """Build one annotator's soft label by the rules in the module docstring.

    Parameters
    ----------
    response:
        A validated response (class indices, probabilities in [0, 1]).
    num_classes:
        K.
    settings:
        Variety and γ.

    Returns
    -------
    numpy.ndarray
        Shape (K,), float64, non-negative, summing to 1.
    """
    p = np.zeros(num_classes, dtype=np.float64)
    p[response.top1] += response.top1_prob
    if settings.use_second and response.top2 is not None:
        p[response.top2] += float(response.top2_prob or 0.0)
    m = float(p.sum())
    impossible = np.zeros(num_classes, dtype=bool)
    if settings.clamp:
        impossible[list(response.impossible)] = True
    if m < 1.0:
        open_classes = (p == 0.0) & ~impossible
        if open_classes.any():
            p[open_classes] += (1.0 - m) / open_classes.sum()
    else:
        p /= m
        if settings.clamp:
            open_classes = (p == 0.0) & ~impossible
            if open_classes.any():
                p *= 1.0 - settings.gamma
                p[open_classes] += settings.gamma / open_classes.sum()
    # Never zero: the most probable class cannot be impossible, so with m = 0 it is open.
    return p / p.sum()


def _class_lookup(class_names: Sequence[str]) -> dict[str, int]:
    return {str(name).strip().lower(): i for i, name in enumerate(class_names)}


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(float(value))


def parse_response(raw: object, class_names: Sequence[str]) -> tuple[Response | None, list[str]]:
    """Validate one raw response; return it parsed (or ``None``) and the list of its problems.

    Parameters
    ----------
    raw:
        The JSON object of one response.
    class_names:
        The K class names; matching is case-insensitive.

    Returns
    -------
    (Response or None, list of str)
        Every problem found (not just the first), each a short phrase.
    """
    if not isinstance(raw, Mapping):
        return None, [f"response is a {type(raw).__name__}, not an object with the keys {', '.join(RESPONSE_KEYS)}"]
    problems: list[str] = []
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
                problems.append("second most probable class given without a probability")
            else:
                top2_prob = probability(second_prob, "second most probable class prob")
        if top2 is not None and top1 is not None and top2 == top1:
            problems.append(f"second most probable class equals the most probable ({class_names[top1]})")

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
    if top1 is not None and top1 in impossible:
        problems.append(f"most probable class {class_names[top1]} is marked impossible")
    if top2 is not None and top2 in impossible:
        problems.append(f"second most probable class {class_names[top2]} is marked impossible")

    if problems or top1 is None or top1_prob is None:
        return None, problems
    return Response(top1, top1_prob, top2, top2_prob, frozenset(impossible)), []


def _format_problems(problems: list[str], source: str) -> str:
    where = f" in {source}" if source else ""
    noun = "problem" if len(problems) == 1 else "problems"
    head = f"{len(problems)} {noun} with the responses{where}; fix them and run again:"
    listed = problems[:MAX_LISTED_PROBLEMS]
    lines = [head, *(f"  - {p}" for p in listed)]
    if len(problems) > len(listed):
        lines.append(f"  ... and {len(problems) - len(listed)} more")
    return "\n".join(lines)


def parse_responses(raw: object, class_names: Sequence[str], *, source: str = "") -> dict[str, list[Response]]:
    """Validate a whole response file; collect *all* problems and raise them together.

    Parameters
    ----------
    raw:
        The loaded JSON: ``{example id: [response, ...]}``.
    class_names:
        The K class names.
    source:
        File name used in the error message.

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
            response, issues = parse_response(item, class_names)
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

    Returns
    -------
    SoftLabelSet
        ``per_annotator[id]`` has shape (M_id, K); annotator order is the input order.
    """
    settings = settings or ConstructionSettings()
    parsed = parse_responses(raw_responses, class_names, source=source)
    k = len(class_names)
    labels = {
        example_id: np.stack([construct_label(r, k, settings) for r in responses])
        for example_id, responses in parsed.items()
    }
    return SoftLabelSet(class_names=tuple(class_names), per_annotator=labels, settings=settings, source=source)
