"""Label construction (DESIGN §5): each branch on hand-built responses with hand-computed labels."""

from __future__ import annotations

import numpy as np
import pytest

from levelsets.errors import LevelsetsError
from levelsets.softlabels.label_construction import (
    ConstructionSettings,
    build_soft_labels,
    construct_label,
    construct_label_checked,
)
from levelsets.softlabels.responses import parse_response

from .test_responses import CLASSES, response  # the hand-built response of the format's tests


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


@pytest.mark.parametrize("bad", [{"variety": "t3-clamp"}, {"gamma": 1.0}, {"gamma": -0.1}])
def test_settings_validation(bad):
    with pytest.raises(LevelsetsError):
        ConstructionSettings(**bad)


# --- published-data anomalies (strict=False): arithmetic by hand, K = 5 classes a..e, gamma = 0.1 ---


def lenient(raw, variety, gamma=0.1):
    parsed, problems = parse_response(raw, CLASSES, strict=False)
    assert problems == []
    return construct_label_checked(parsed, len(CLASSES), ConstructionSettings(variety, gamma))


@pytest.mark.parametrize(
    ("raw", "variety", "expected", "note"),
    [
        # second = first: T2 overwrites a's 0.6 by 0.2; m = 0.2; possible a,b,d,e (4), holding 1 -> D = 3 = open b,d,e
        (response(top2="a"), "t2-clamp", [0.2, 0.8 / 3, 0, 0.8 / 3, 0.8 / 3], None),
        (response(top2="a"), "t2-uniform", [0.2, 0.2, 0.2, 0.2, 0.2], None),
        # T1 never reads the second class: a keeps 0.6
        (response(top2="a"), "t1-clamp", [0.6, 0.4 / 3, 0, 0.4 / 3, 0.4 / 3], None),
        (response(top2="a"), "t1-uniform", [0.6, 0.1, 0.1, 0.1, 0.1], None),
        # overwritten by 100: m = 1, clamp scales a to 0.9 and spreads 0.1 over b, d, e
        (response(top2="a", p2=100), "t2-clamp", [0.9, 0.1 / 3, 0, 0.1 / 3, 0.1 / 3], None),
        # second without a probability: ignored, b is an open class
        (response(p2=None), "t2-clamp", [0.6, 0.4 / 3, 0, 0.4 / 3, 0.4 / 3], None),
        (response(p2=None), "t2-uniform", [0.6, 0.1, 0.1, 0.1, 0.1], None),
        # most probable a marked impossible: possible b,d,e (3), holding a,b (2) -> D = 1;
        # open d, e get 0.3 / 1 each; sum 1.3
        (response(p1=50, impossible=("a", "c")), "t2-clamp", [5 / 13, 2 / 13, 0, 3 / 13, 3 / 13], None),
        # T1: holding a only -> D = 2; open b, d, e get 0.5 / 2 each; sum 1.25
        (response(p1=50, impossible=("a", "c")), "t1-clamp", [0.4, 0.2, 0, 0.2, 0.2], None),
        (response(p1=50, impossible=("a", "c")), "t2-uniform", [0.5, 0.2, 0.1, 0.1, 0.1], None),
        (response(p1=50, impossible=("a", "c")), "t1-uniform", [0.5, 0.125, 0.125, 0.125, 0.125], None),
        # second b marked impossible, m = 1: possible a,d,e (3), holding 2 -> D = 1;
        # 0.9 * (0.7, 0.3), d and e get gamma / 1 = 0.1 each; sum 1.1
        (response(p1=70, p2=30, impossible=("b", "c")), "t2-clamp", [0.63 / 1.1, 0.27 / 1.1, 0, 0.1 / 1.1, 0.1 / 1.1], None),
        # T1: b holds nothing and is impossible; holding a -> D = 2 = open d, e: 0.3 / 2 each
        (response(p1=70, p2=30, impossible=("b", "c")), "t1-clamp", [0.7, 0, 0, 0.15, 0.15], None),
        # D = 0: possible b, e (2), holding a, b (2): nothing spread, e stays 0 although possible
        (response(impossible=("a", "c", "d")), "t2-clamp", [0.75, 0.25, 0, 0, 0], "= 0: nothing spread"),
        (response(p1=70, p2=30, impossible=("a", "c", "d")), "t2-clamp", [0.7, 0.3, 0, 0, 0], "= 0: nothing spread"),
        # same response, T1: holding a only -> D = 1; b, e get 0.4 each; sum 1.4
        (response(impossible=("a", "c", "d")), "t1-clamp", [0.6 / 1.4, 0.4 / 1.4, 0, 0, 0.4 / 1.4], None),
        # D < 0: possible e (1), holding a, b (2) -> D = -1; the published code would give e -0.2
        (response(impossible=("a", "b", "c", "d")), "t2-clamp", [0.75, 0.25, 0, 0, 0], "= -1: nothing spread"),
        (response(p1=70, p2=30, impossible=("a", "b", "c", "d")), "t2-clamp", [0.7, 0.3, 0, 0, 0], "negative mass"),
        # T1 of that: holding a -> D = 0, e stays 0
        (response(impossible=("a", "b", "c", "d")), "t1-clamp", [1, 0, 0, 0, 0], "= 0: nothing spread"),
        # D < 0 but no open class at all: just normalized, nothing to report
        (response(impossible=CLASSES), "t2-clamp", [0.75, 0.25, 0, 0, 0], None),
        # uniform never reads "impossible": D = zero-mass classes
        (response(impossible=("a", "b", "c", "d")), "t2-uniform", [0.6, 0.2, 0.2 / 3, 0.2 / 3, 0.2 / 3], None),
    ],
)
def test_published_anomaly_arithmetic(raw, variety, expected, note):
    got, got_note = lenient(raw, variety)
    np.testing.assert_allclose(got, expected, atol=1e-12)
    assert got.sum() == pytest.approx(1.0) and (got >= 0).all()
    if note is None:
        assert got_note is None
    else:
        assert note in got_note


@pytest.mark.parametrize("variety", ["t2-clamp", "t2-uniform", "t1-clamp", "t1-uniform"])
def test_clean_responses_build_the_same_in_both_modes(variety):
    raw = {"x": [response(), response(p1=80, p2=40, impossible=()), response(p1=90, top2="No", p2=None)]}
    settings = ConstructionSettings(variety, 0.1)
    strict = build_soft_labels(raw, CLASSES, settings)
    loose = build_soft_labels(raw, CLASSES, settings, strict=False)
    np.testing.assert_array_equal(strict.per_annotator["x"], loose.per_annotator["x"])
    assert loose.anomalies == []


def test_build_lists_anomalies_with_example_and_annotator():
    raw = {
        "img1": [response(), response(top2="a")],
        "img2": [response(impossible=("a", "b", "c", "d"))],
    }
    labels = build_soft_labels(raw, CLASSES, ConstructionSettings("t2-clamp", 0.1), strict=False)
    found = [(a.example, a.annotator, a.kind) for a in labels.anomalies]
    assert found == [
        ("img1", 1, "second-equals-first"),
        ("img2", 0, "named-class-impossible"),
        ("img2", 0, "named-class-impossible"),
        ("img2", 0, "spread-count"),
    ]
    np.testing.assert_allclose(labels.per_annotator["img1"][1], [0.2, 0.8 / 3, 0, 0.8 / 3, 0.8 / 3])
    with pytest.raises(LevelsetsError, match="second most probable class equals"):
        build_soft_labels(raw, CLASSES)


def test_empty_label_is_refused_in_both_modes():
    empty = response(p1=0, top2="No", p2=None, impossible=CLASSES)
    for strict in (True, False):
        with pytest.raises(LevelsetsError) as info:
            build_soft_labels({"z": [response(), empty]}, CLASSES, strict=strict)
        assert "annotator 1" in str(info.value)
    with pytest.raises(LevelsetsError, match="no t2-clamp label can be built"):
        build_soft_labels({"z": [empty]}, CLASSES, strict=False)
    parsed, _ = parse_response(empty, CLASSES, strict=False)
    with pytest.raises(LevelsetsError, match="no t1-clamp label"):
        construct_label(parsed, 5, ConstructionSettings("t1-clamp"))
    # uniform ignores "impossible": 1 spread over all five zero-mass classes
    np.testing.assert_allclose(construct_label(parsed, 5, ConstructionSettings("t2-uniform")), [0.2] * 5)
