r"""Annotator responses in the CIFAR-10S format: the record, its validation, its anomalies (seed 001 §3.2.2).

A *response* is one annotator's answer about one example::

    {"Most Probable Class": "cat", "Most Probable Class Prob": 70,
     "Second Most Probable Class": "dog", "Second Most Probable Class Prob": 20,
     "Impossible Class(es)": ["airplane", "ship"]}

with ``"Second Most Probable Class": "No"`` and ``"Second Most Probable Class Prob": null`` when
the annotator gave no second class. A response file maps example ids to lists of responses.
:func:`parse_responses` validates a whole file and reports every problem at once; with
``strict=False`` it accepts the published data's anomalies and records them on each
:class:`Response` (how labels are built from them: :mod:`levelsets.softlabels.label_construction`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from levelsets.errors import LevelsetsError

TOP1 = "Most Probable Class"
TOP1_PROB = "Most Probable Class Prob"
TOP2 = "Second Most Probable Class"
TOP2_PROB = "Second Most Probable Class Prob"
IMPOSSIBLE = "Impossible Class(es)"
RESPONSE_KEYS = (TOP1, TOP1_PROB, TOP2, TOP2_PROB, IMPOSSIBLE)
NO_SECOND = "No"
MAX_LISTED_PROBLEMS = 25

SECOND_EQUALS_FIRST = "second-equals-first"
SECOND_WITHOUT_PROB = "second-without-prob"
NAMED_CLASS_IMPOSSIBLE = "named-class-impossible"
SPREAD_COUNT = "spread-count"
ANOMALY_KINDS = (SECOND_EQUALS_FIRST, SECOND_WITHOUT_PROB, NAMED_CLASS_IMPOSSIBLE, SPREAD_COUNT)
"""The anomalies ``strict=False`` accepts (see :mod:`levelsets.softlabels.label_construction`), as listed in an anomaly file."""


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
        ``False``: they are accepted and listed in ``Response.anomalies`` (:mod:`levelsets.softlabels.label_construction`).

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


def format_problems(problems: list[str], source: str) -> str:
    """One error message for many problems: a count line, then one line per problem (at most
    :data:`MAX_LISTED_PROBLEMS`, then how many more).
    """
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
        raise LevelsetsError(format_problems(problems, source))
    return parsed
