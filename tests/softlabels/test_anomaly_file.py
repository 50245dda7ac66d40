"""The anomaly file beside a soft-label file (levelsets.softlabels.anomaly_file): where it goes, what it lists."""

from __future__ import annotations

from pathlib import Path

from levelsets.softlabels.anomaly_file import ANOMALY_FORMAT, anomalies_document, anomalies_path
from levelsets.softlabels.label_construction import ConstructionSettings, build_soft_labels
from levelsets.softlabels.responses import ANOMALY_KINDS

from .test_responses import CLASSES, response

RAW = {
    "img1": [response(), response(top2="a")],                  # annotator 1: second class = first
    "img2": [response(impossible=("a", "b", "c", "d"))],      # the named classes marked impossible
}


def test_anomaly_file_sits_beside_the_label_file():
    assert anomalies_path("out/labels.json") == Path("out/labels.anomalies.json")
    assert anomalies_path(Path("/x/cifar.v2.json")) == Path("/x/cifar.v2.anomalies.json")


def test_document_lists_every_accepted_anomaly_with_its_worker_and_counts_each_kind():
    labels = build_soft_labels(RAW, CLASSES, ConstructionSettings("t1-clamp", 0.05), strict=False)
    doc = anomalies_document(labels, responses="r.json", strict=False, annotators={"img1": ["w1", "w2"], "img2": ["w3"]})
    assert (doc["format"], doc["format_version"], doc["responses"], doc["strict"]) == (ANOMALY_FORMAT, 1, "r.json", False)
    assert (doc["variety"], doc["gamma"]) == ("t1-clamp", 0.05)
    assert [(r["example"], r["annotator"], r["worker"], r["kind"]) for r in doc["anomalies"]] == [
        (a.example, a.annotator, {"img1": ["w1", "w2"], "img2": ["w3"]}[a.example][a.annotator], a.kind)
        for a in labels.anomalies
    ]
    assert doc["anomalies"][0]["worker"] == "w2" and all(r["what"] for r in doc["anomalies"])
    assert doc["total"] == len(labels.anomalies) == 4
    assert list(doc["counts"]) == list(ANOMALY_KINDS)  # every kind, zeros included
    assert doc["counts"] == {"second-equals-first": 1, "second-without-prob": 0, "named-class-impossible": 2,
                             "spread-count": 1}
    assert doc["columns"] == list(doc["anomalies"][0])


def test_without_annotator_ids_or_settings():
    labels = build_soft_labels(RAW, CLASSES, strict=False)
    labels.settings = None  # e.g. a label set read back from a plain file: the default construction is named
    doc = anomalies_document(labels, responses="r.json", strict=True, annotators=None)
    assert all(r["worker"] is None for r in doc["anomalies"]) and doc["strict"] is True
    assert (doc["variety"], doc["gamma"]) == (ConstructionSettings().variety, ConstructionSettings().gamma)
    clean = build_soft_labels({"x": [response()]}, CLASSES)
    empty = anomalies_document(clean, responses="r.json", strict=True, annotators=None)
    assert empty["total"] == 0 and empty["anomalies"] == [] and set(empty["counts"].values()) == {0}
