"""The CIFAR-10S response format (levelsets.softlabels.responses): parsing, problems, published anomalies."""

from __future__ import annotations

from levelsets.softlabels.class_sets import resolve_class_names
from levelsets.softlabels.responses import parse_response

CLASSES = ("a", "b", "c", "d", "e")


def response(top1="a", p1=60, top2="b", p2=20, impossible=("c",)):
    return {
        "Most Probable Class": top1,
        "Most Probable Class Prob": p1,
        "Second Most Probable Class": top2,
        "Second Most Probable Class Prob": p2,
        "Impossible Class(es)": list(impossible),
    }


def test_class_names_are_case_insensitive_and_digits_work():
    parsed, problems = parse_response(response(top1="A", top2="B"), CLASSES)
    assert problems == [] and parsed.top1 == 0 and parsed.top2 == 1
    mnist = resolve_class_names("mnist")
    parsed, problems = parse_response(response(top1=7, top2="1", impossible=(3,)), mnist)
    assert problems == [] and (parsed.top1, parsed.top2, set(parsed.impossible)) == (7, 1, {3})


def test_second_prob_without_second_class_is_a_problem():
    _, problems = parse_response(response(top2="No", p2=30), CLASSES)
    assert problems and "second class is 'No'" in problems[0]
    _, problems = parse_response(response(p2=None), CLASSES)
    assert problems == ["second most probable class given without a probability"]


def test_anomalies_are_problems_when_strict_and_recorded_otherwise():
    raw = response(top1="a", top2="a", p2=None, impossible=("a", "c"))
    parsed, problems = parse_response(raw, CLASSES)
    assert parsed is None
    assert problems == [
        "second most probable class given without a probability",
        "second most probable class equals the most probable (a)",
        "most probable class a is marked impossible",
        "second most probable class a is marked impossible",
    ]
    parsed, problems = parse_response(raw, CLASSES, strict=False)
    assert problems == []
    assert [kind for kind, _ in parsed.anomalies] == [
        "second-without-prob", "second-equals-first", "named-class-impossible",
    ]
    # genuine problems stay problems in both modes
    _, problems = parse_response(response(p1=120, top2="zebra"), CLASSES, strict=False)
    assert len(problems) == 2
