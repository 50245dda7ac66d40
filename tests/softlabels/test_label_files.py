"""The soft-label file (levelsets.softlabels.label_files): writing, reading, checking, `labels build`."""

from __future__ import annotations

import json

import numpy as np
import pytest

from levelsets.errors import LevelsetsError
from levelsets.softlabels.label_construction import ConstructionSettings, build_soft_labels
from levelsets.softlabels.label_files import (
    FORMAT,
    build_label_file,
    load_soft_labels,
    save_soft_labels,
    soft_labels_to_json,
    validate_label_rows,
)

from .test_responses import CLASSES, response

RAW = {"img1": [response(), response(top1="b", p1=80, top2="No", p2=None)], "img2": [response(top1="e", top2="d")]}


def one_line(exc: pytest.ExceptionInfo) -> str:
    assert "\n" not in str(exc.value), str(exc.value)
    return str(exc.value)


def test_save_then_load_round_trips_with_a_sidecar(tmp_path):
    labels = build_soft_labels(RAW, CLASSES, ConstructionSettings("t2-uniform", 0.05))
    path = save_soft_labels(tmp_path / "labels.json", labels, seed=3, data="responses.json")
    doc = json.loads(path.read_text())
    assert doc == soft_labels_to_json(labels)
    assert (doc["format"], doc["format_version"], doc["variety"], doc["gamma"]) == (FORMAT, 1, "t2-uniform", 0.05)
    assert doc["class_names"] == list(CLASSES) and doc["aggregation"] == {"method": "mean"}
    first = doc["examples"]["img1"]
    assert len(first["annotators"]) == 2
    np.testing.assert_allclose(first["aggregate"], np.mean(first["annotators"], axis=0))
    side = json.loads((tmp_path / "labels.json.json").read_text())
    assert (side["seed"], side["data"], side["num_examples"], side["num_annotator_labels"]) == (3, "responses.json", 2, 3)
    assert side["settings"] == {"variety": "t2-uniform", "gamma": 0.05}
    again = load_soft_labels(path, class_names=[c.upper() for c in CLASSES])  # class names compare case-blind
    assert again.settings == labels.settings and again.ids == ["img1", "img2"]
    for key in labels.ids:
        np.testing.assert_allclose(again.per_annotator[key], labels.per_annotator[key])
    assert load_soft_labels(path).class_names == CLASSES  # a levelsets file names its classes
    with pytest.raises(LevelsetsError) as exc:
        load_soft_labels(path, class_names=["a", "b"])
    assert "has classes a, b, c, d, e but a, b are needed; rebuild the labels with the right --classes" in one_line(exc)


def test_plain_files_one_or_several_labels_per_example(tmp_path):
    path = tmp_path / "plain.json"
    path.write_text(json.dumps({"x": [0.3, 0.70001], "y": [[0.5, 0.5], [1, 0]], "z": {"aggregate": [0.0, 1.0]}}))
    labels = load_soft_labels(path, class_names=("p", "q"))
    assert {k: v.shape for k, v in labels.per_annotator.items()} == {"x": (1, 2), "y": (2, 2), "z": (1, 2)}
    assert labels.per_annotator["x"].sum() == pytest.approx(1.0, abs=1e-12)  # renormalized exactly
    assert labels.settings is None and labels.source == str(path)
    with pytest.raises(LevelsetsError, match="plain label file without class names; say which classes it uses"):
        load_soft_labels(path)


@pytest.mark.parametrize(("value", "problem"), [
    ([0.5, 0.6], "a label sums to 1.1, not 1"),
    ([1.0, 0.0, 0.0], "a label has 3 entries but there are 2 classes"),
    ([1.5, -0.5], "a label has a negative entry"),
    ([float("nan"), 1.0], "non-numeric or non-finite"),
    ([True, False], "non-numeric or non-finite"),
    (["0.5", "0.5"], "non-numeric or non-finite"),
    ({"annotators": [[0.5, 0.5], "x"]}, "a label is a str, not a list of 2 probabilities"),
    ([], "a label has 0 entries but there are 2 classes"),
    ({"weights": [1, 0]}, "has no labels"),
    ("0.5", "has no labels"),
])
def test_each_bad_label_is_named_in_one_line(value, problem):
    with pytest.raises(LevelsetsError) as exc:
        validate_label_rows({"good": [0.5, 0.5], "bad": value}, 2, source="f.json")
    msg = one_line(exc)
    assert msg.startswith("f.json: example 'bad'") and problem in msg
    assert msg.endswith("each label must list 2 probabilities summing to 1")


def test_the_first_bad_example_is_named_and_the_others_counted():
    with pytest.raises(LevelsetsError) as exc:
        validate_label_rows({"a": [0.5, 0.6], "b": [1, 0, 0], "c": [], "d": [1, 0]}, 2, source="s")
    assert one_line(exc) == ("s: example 'a': a label sums to 1.1, not 1 (and 2 more bad example(s)); "
                             "each label must list 2 probabilities summing to 1")


def test_unreadable_files_are_one_line_errors(tmp_path):
    with pytest.raises(LevelsetsError, match="does not exist; build one with `levelsets labels build`"):
        load_soft_labels(tmp_path / "none.json", class_names=CLASSES)
    bad = tmp_path / "bad.json"
    for text, needle in [("{not json", "is not valid JSON"), ("[]", "must be a non-empty JSON object"),
                         ("{}", "must be a non-empty JSON object"),
                         (json.dumps({"format": FORMAT, "class_names": ["p", "q"], "examples": {}}), "holds no examples")]:
        bad.write_text(text)
        with pytest.raises(LevelsetsError) as exc:
            load_soft_labels(bad, class_names=("p", "q"))
        assert needle in one_line(exc) and str(bad) in str(exc.value)


def test_a_crowd_aggregate_file_is_read_as_one_label_per_example(tmp_path):
    doc = {"format": FORMAT, "format_version": 1, "class_names": ["p", "q"], "variety": "t2-clamp", "gamma": 0.1,
           "examples": {"x": {"annotators": [[1, 0], [1, 0]], "aggregate": [0.9, 0.1]},
                        "y": {"annotators": [[0, 1]], "aggregate": [0.2, 0.8]}},
           "aggregation": {"method": "dawid-skene", "unreliable": []}}
    path = tmp_path / "ds.json"
    path.write_text(json.dumps(doc))
    labels = load_soft_labels(path, class_names=("p", "q"))
    np.testing.assert_allclose(labels.per_annotator["x"], [[0.9, 0.1]])  # the posterior, not the annotators
    np.testing.assert_allclose(labels.aggregate_matrix(), [[0.9, 0.1], [0.2, 0.8]])
    assert labels.aggregation == {"method": "dawid-skene", "unreliable": []}
    assert labels.settings == ConstructionSettings("t2-clamp", 0.1)


def test_build_writes_labels_and_the_anomaly_file_with_sidecars(tmp_path):
    responses = tmp_path / "responses.json"
    responses.write_text(json.dumps({**RAW, "img3": [response(top2="a")]}))  # one published-data anomaly
    result = build_label_file(responses, classes=",".join(CLASSES), variety="t1-clamp", gamma=0.2,
                              out=tmp_path / "out" / "labels.json")
    assert (result.num_examples, result.num_labels, result.variety, result.gamma) == (3, 4, "t1-clamp", 0.2)
    assert result.anomalies_path == tmp_path / "out" / "labels.anomalies.json"
    assert result.anomaly_counts == {"second-equals-first": 1} and result.aggregate == "mean"
    for name in ("labels.json", "labels.json.json", "labels.anomalies.json", "labels.anomalies.json.json"):
        assert (tmp_path / "out" / name).is_file(), name
    loaded = load_soft_labels(result.path, class_names=CLASSES)
    direct = build_soft_labels(json.loads(responses.read_text()), CLASSES, ConstructionSettings("t1-clamp", 0.2),
                               strict=False)
    for key in direct.ids:
        np.testing.assert_allclose(loaded.per_annotator[key], direct.per_annotator[key])
    anomalies = json.loads(result.anomalies_path.read_text())
    assert anomalies["total"] == 1 and anomalies["anomalies"][0]["example"] == "img3"
    side = json.loads((tmp_path / "out" / "labels.json.json").read_text())
    assert side["data"] == {"responses": str(responses), "class_names": list(CLASSES), "strict": False}
    with pytest.raises(LevelsetsError, match="second most probable class equals"):  # strict: refused, nothing new
        build_label_file(responses, classes=",".join(CLASSES), out=tmp_path / "strict.json", strict=True)
    assert not (tmp_path / "strict.json").exists() and not (tmp_path / "strict.anomalies.json").exists()


@pytest.mark.parametrize(("kwargs", "needle"), [
    ({"aggregate": "median"}, "unknown --aggregate 'median'"),
    ({"unreliable_below": 0.3}, "--unreliable-below needs --aggregate dawid-skene or glad"),
    ({"table": "t.txt"}, "should end in .csv"),
    ({"out": "labels.csv", "table": "labels.csv"}, "is another output's path; give it a file name of its own"),
    ({"aggregate": "glad"}, "needs to know which annotator gave each response; give --annotators FILE (the "
                            "responses.details.json"),
    ({"responses": "missing.json"}, "--responses {tmp}/missing.json does not exist"),
    ({"variety": "t3"}, "unknown label variety 't3'"),
])
def test_build_refuses_before_writing_anything(tmp_path, kwargs, needle):
    (tmp_path / "responses.json").write_text(json.dumps(RAW))
    args = {"responses": "responses.json", "classes": ",".join(CLASSES), "out": "labels.json"} | kwargs
    for key in ("responses", "out", "table"):
        if key in args:
            args[key] = tmp_path / args[key]
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(LevelsetsError) as exc:
        build_label_file(**args)
    assert needle.format(tmp=tmp_path) in one_line(exc)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_build_never_replaces_a_users_file(tmp_path):
    (tmp_path / "responses.json").write_text(json.dumps(RAW))
    mine = tmp_path / "labels.anomalies.json"
    mine.write_text("my notes")
    with pytest.raises(LevelsetsError, match="refusing to overwrite the anomaly file"):
        build_label_file(tmp_path / "responses.json", classes=",".join(CLASSES), out=tmp_path / "labels.json")
    assert mine.read_text() == "my notes" and not (tmp_path / "labels.json").exists()
