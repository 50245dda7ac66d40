"""Label construction (DESIGN §5): each branch on hand-built responses with hand-computed labels."""

from __future__ import annotations

import numpy as np
import pytest

from levelsets.errors import LevelsetsError
from levelsets.softlabels.class_sets import resolve_class_names
from levelsets.softlabels.label_construction import (
    ConstructionSettings,
    build_soft_labels,
    construct_label,
    parse_response,
)

CLASSES = ("a", "b", "c", "d", "e")


def response(top1="a", p1=60, top2="b", p2=20, impossible=("c",)):
    return {
        "Most Probable Class": top1,
        "Most Probable Class Prob": p1,
        "Second Most Probable Class": top2,
        "Second Most Probable Class Prob": p2,
        "Impossible Class(es)": list(impossible),
    }


def label(raw, variety, gamma=0.1):
    parsed, problems = parse_response(raw, CLASSES)
    assert problems == []
    return construct_label(parsed, len(CLASSES), ConstructionSettings(variety, gamma))


@pytest.mark.parametrize(
    ("raw", "variety", "expected"),
    [
        # m = 0.8 < 1; clamp spreads 0.2 over the open classes d, e (c is impossible)
        (response(), "t2-clamp", [0.6, 0.2, 0.0, 0.1, 0.1]),
        # uniform ignores "impossible": 0.2 over c, d, e
        (response(), "t2-uniform", [0.6, 0.2, 0.2 / 3, 0.2 / 3, 0.2 / 3]),
        # T1 drops the second class: 0.4 over b, d, e (clamp) or b, c, d, e (uniform)
        (response(), "t1-clamp", [0.6, 0.4 / 3, 0.0, 0.4 / 3, 0.4 / 3]),
        (response(), "t1-uniform", [0.6, 0.1, 0.1, 0.1, 0.1]),
        # m < 1, clamp, no open class left: nothing spread, then normalized
        (response(impossible=("c", "d", "e")), "t2-clamp", [0.75, 0.25, 0.0, 0.0, 0.0]),
        # m = 1, clamp with open classes d, e: scale by 1 - γ, spread γ
        (response(p1=70, p2=30), "t2-clamp", [0.63, 0.27, 0.0, 0.05, 0.05]),
        # same with γ = 0.2
        (response(p1=70, p2=30), "t2-clamp-0.2", [0.56, 0.24, 0.0, 0.1, 0.1]),
        # m = 1, clamp without open classes: unchanged
        (response(p1=70, p2=30, impossible=("c", "d", "e")), "t2-clamp", [0.7, 0.3, 0, 0, 0]),
        # m = 1, uniform: γ is never applied
        (response(p1=70, p2=30), "t2-uniform", [0.7, 0.3, 0, 0, 0]),
        # m = 1.2 > 1: normalized first
        (response(p1=80, p2=40, impossible=("c", "d", "e")), "t2-clamp", [2 / 3, 1 / 3, 0, 0, 0]),
        (response(p1=80, p2=40, impossible=("c",)), "t2-clamp", [0.6, 0.3, 0, 0.05, 0.05]),
        # "No" second class: 0.1 over c, d, e (b impossible)
        (response(p1=90, top2="No", p2=None, impossible=("b",)), "t2-clamp", [0.9, 0, 0.1 / 3, 0.1 / 3, 0.1 / 3]),
        (response(p1=90, top2="No", p2=None, impossible=("b",)), "t2-uniform", [0.9, 0.025, 0.025, 0.025, 0.025]),
        # T1 with the top class at 100%: clamp keeps γ for the possible classes d, e
        (response(p1=100, p2=None, top2="No", impossible=("b", "c")), "t1-clamp", [0.9, 0, 0, 0.05, 0.05]),
        (response(p1=100, p2=None, top2="No", impossible=("b", "c")), "t1-uniform", [1, 0, 0, 0, 0]),
        # T1 ignores a second class at 50%
        (response(p1=50, p2=50, impossible=()), "t1-clamp", [0.5, 0.125, 0.125, 0.125, 0.125]),
    ],
)
def test_construction_branches(raw, variety, expected):
    gamma = 0.1
    if variety.endswith("-0.2"):
        variety, gamma = variety[:-4], 0.2
    got = label(raw, variety, gamma)
    np.testing.assert_allclose(got, expected, atol=1e-12)
    assert got.sum() == pytest.approx(1.0)


def test_class_names_are_case_insensitive_and_digits_work():
    parsed, problems = parse_response(response(top1="A", top2="B"), CLASSES)
    assert problems == [] and parsed.top1 == 0 and parsed.top2 == 1
    mnist = resolve_class_names("mnist")
    parsed, problems = parse_response(response(top1=7, top2="1", impossible=(3,)), mnist)
    assert problems == [] and (parsed.top1, parsed.top2, set(parsed.impossible)) == (7, 1, {3})


def test_aggregate_is_mean_and_order_is_kept():
    raw = {
        "z9": [response(), response(p1=70, p2=30)],
        "a1": [response(p1=90, top2="No", p2=None, impossible=("b",))],
    }
    labels = build_soft_labels(raw, CLASSES, ConstructionSettings("t2-clamp", 0.1))
    assert labels.ids == ["z9", "a1"]
    assert labels.per_annotator["z9"].shape == (2, 5)
    np.testing.assert_allclose(labels.per_annotator["z9"][1], [0.63, 0.27, 0, 0.05, 0.05])
    np.testing.assert_allclose(labels.aggregate()["z9"], [0.615, 0.235, 0, 0.075, 0.075])
    assert labels.aggregate_matrix().shape == (2, 5)


def test_all_problems_are_reported_together():
    bad_missing = response()
    del bad_missing["Impossible Class(es)"]
    raw = {
        "img1": [response(), response(top1="zebra")],
        "img2": [response(p1=120), response(top2="a")],
        "img3": [response(impossible=("a",)), bad_missing],
        "img4": [],
    }
    with pytest.raises(LevelsetsError) as info:
        build_soft_labels(raw, CLASSES, source="resp.json")
    message = str(info.value)
    lines = message.splitlines()
    assert lines[0].startswith("6 problems with the responses in resp.json")
    body = "\n".join(lines[1:])
    assert "example 'img1', annotator 1: unknown most probable class 'zebra'" in body
    assert "example 'img2', annotator 0: most probable class prob 120 is outside 0-100" in body
    assert "example 'img2', annotator 1: second most probable class equals the most probable (a)" in body
    assert "example 'img3', annotator 0: most probable class a is marked impossible" in body
    assert "example 'img3', annotator 1: missing key(s) 'Impossible Class(es)'" in body
    assert "example 'img4'" in body
    assert len(lines) == 7


def test_second_prob_without_second_class_is_a_problem():
    _, problems = parse_response(response(top2="No", p2=30), CLASSES)
    assert problems and "second class is 'No'" in problems[0]
    _, problems = parse_response(response(p2=None), CLASSES)
    assert problems == ["second most probable class given without a probability"]


@pytest.mark.parametrize("bad", [{"variety": "t3-clamp"}, {"gamma": 1.0}, {"gamma": -0.1}])
def test_settings_validation(bad):
    with pytest.raises(LevelsetsError):
        ConstructionSettings(**bad)


def test_class_sets():
    assert resolve_class_names("shapes") == ("rocket", "house")
    assert len(resolve_class_names("CIFAR10")) == 10
    assert resolve_class_names(" x , y ") == ("x", "y")
    for bad in ["x", "x,,y", "x,X"]:
        with pytest.raises(LevelsetsError):
            resolve_class_names(bad)
