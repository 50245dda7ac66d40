"""crowd-kit table export and the Dawid-Skene / GLAD aggregates on simulated annotators."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from crowdkit.aggregation import MajorityVote

from levelsets.errors import LevelsetsError
from levelsets.softlabels.crowd import aggregate_crowd, crowd_table, load_annotator_ids

CLASSES = ("cat", "dog", "bird", "frog")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # crowd-kit's own pandas calls


def resp(top1, p1, top2="No", p2=None, impossible=()):
    return {
        "Most Probable Class": top1,
        "Most Probable Class Prob": p1,
        "Second Most Probable Class": top2,
        "Second Most Probable Class Prob": p2,
        "Impossible Class(es)": list(impossible),
    }


def test_table_has_one_row_per_response_with_the_most_probable_class():
    raw = {
        "7": [resp("Cat", 20.0, "Dog", 40.0), resp("dog", 90), resp("Bird", 60, "Bird", 30, ["bird"])],
        "3": [resp("frog", 100)],
    }
    ids = {"7": ["p1", "p2", "p3"], "3": ["p2"]}
    table = crowd_table(raw, CLASSES, ids)
    assert list(table.columns) == ["task", "worker", "label"]
    # the "Most Probable Class" field, even when its probability is below the second's; anomalies accepted
    assert table.values.tolist() == [["7", "p1", "cat"], ["7", "p2", "dog"], ["7", "p3", "bird"], ["3", "p2", "frog"]]
    assert MajorityVote().fit_predict(table).to_dict() == {"7": "cat", "3": "frog"}  # the table is crowd-kit input
    assert table.attrs["repeats_dropped"] == 0
    # a repeated trial (p1 answers "7" twice) keeps the first answer only
    raw["7"].append(resp("dog", 100))
    ids["7"].append("p1")
    table = crowd_table(raw, CLASSES, ids)
    assert len(table) == 4 and table.attrs["repeats_dropped"] == 1
    assert table[table.worker == "p1"].values.tolist() == [["7", "p1", "cat"]]


def test_annotator_ids_from_the_export_details_or_a_plain_mapping(tmp_path):
    raw = {"a": [resp("cat", 50), resp("dog", 50)], "b": [resp("cat", 70)]}
    details = tmp_path / "responses.details.json"
    details.write_text(json.dumps({"format": "levelsets-elicitation-details/1", "annotators": {"a": ["x", 2], "b": ["x"]}}))
    assert load_annotator_ids(details, raw) == {"a": ["x", "2"], "b": ["x"]}
    plain = tmp_path / "ids.json"
    plain.write_text(json.dumps({"a": ["x", "y"], "b": ["z"], "unused": ["q"]}))
    assert load_annotator_ids(plain, raw) == {"a": ["x", "y"], "b": ["z"]}
    for bad, needle in [
        ({"a": ["x"], "b": ["z"]}, "example 'a' has 2 responses but 1 annotator ids"),
        ({"a": ["x", "y"]}, "example 'b' has 1 responses but none annotator ids"),
    ]:
        plain.write_text(json.dumps(bad))
        with pytest.raises(LevelsetsError, match=needle):
            load_annotator_ids(plain, raw)
    with pytest.raises(LevelsetsError, match="does not exist"):
        load_annotator_ids(tmp_path / "nope.json", raw)


GOOD = ("g0", "g1", "g2")
BAD = ("spammer", "r0", "r1", "r2")


@pytest.fixture(scope="module")
def simulated():
    """60 tasks, 4 classes, 7 annotators: 3 reliable (right 80 %), 1 always 'cat', 3 answering at random."""
    rng = np.random.default_rng(0)
    truth = rng.integers(0, len(CLASSES), 60)
    rows = []
    for t, z in enumerate(truth):
        for worker in GOOD + BAD:
            if worker in GOOD:
                k = z if rng.random() < 0.8 else rng.integers(0, len(CLASSES))
            elif worker == "spammer":
                k = 0
            else:
                k = rng.integers(0, len(CLASSES))
            rows.append((f"t{t}", worker, CLASSES[k]))
    table = pd.DataFrame(rows, columns=["task", "worker", "label"])
    tasks = [f"t{t}" for t in range(len(truth))]
    truth_names = np.array(CLASSES)[truth]
    majority = MajorityVote().fit_predict(table).reindex(tasks).to_numpy()
    return table, tasks, truth_names, float(np.mean(majority == truth_names))


@pytest.mark.slow
@pytest.mark.parametrize("method", ["dawid-skene", "glad"])
def test_crowd_aggregates_beat_majority_and_flag_the_bad_annotators(simulated, method):
    table, tasks, truth, majority_accuracy = simulated
    result = aggregate_crowd(table, CLASSES, method)
    posteriors = np.stack([result.posteriors[t] for t in tasks])
    assert posteriors.shape == (60, 4)
    np.testing.assert_allclose(posteriors.sum(axis=1), 1.0)
    accuracy = float(np.mean(np.array(CLASSES)[posteriors.argmax(axis=1)] == truth))
    assert majority_accuracy < 0.8  # the bad annotators are the majority
    assert accuracy >= majority_accuracy + 0.1
    assert set(result.unreliable) == set(BAD)
    assert all(result.workers[w]["reliability"] > 0.6 for w in GOOD)
    assert all(result.workers[w]["responses"] == 60 for w in GOOD + BAD)
    summary = result.summary()
    assert summary["method"] == method and summary["unreliable_below"] == 0.5
    if method == "glad":  # at threshold 0.5, unreliable <=> alpha < 0 (sigmoid(alpha * beta) < 1/2 with beta > 0)
        assert {w for w, info in result.workers.items() if info["alpha"] < 0} == set(BAD)
    if method == "dawid-skene":  # (GLAD is slow to refit)
        strict = aggregate_crowd(table, CLASSES, method, unreliable_below=0.99)
        assert set(strict.unreliable) == set(GOOD + BAD)


def test_crowd_aggregate_refusals(simulated):
    table = simulated[0]
    with pytest.raises(LevelsetsError, match="unknown crowd aggregate"):
        aggregate_crowd(table, CLASSES, "mace")
    with pytest.raises(LevelsetsError, match="--unreliable-below"):
        aggregate_crowd(table, CLASSES, "dawid-skene", unreliable_below=1.5)
    one = pd.DataFrame([("t0", "w0", "cat"), ("t0", "w1", "cat")], columns=["task", "worker", "label"])
    with pytest.raises(LevelsetsError, match="at least two classes"):
        aggregate_crowd(one, CLASSES, "dawid-skene")


def test_classes_nobody_named_get_zero_posterior():
    table = pd.DataFrame(
        [("t0", "w0", "cat"), ("t0", "w1", "cat"), ("t1", "w0", "dog"), ("t1", "w1", "dog")],
        columns=["task", "worker", "label"],
    )
    result = aggregate_crowd(table, CLASSES, "dawid-skene")
    assert result.posteriors["t0"].argmax() == 0 and result.posteriors["t1"].argmax() == 1
    assert result.posteriors["t0"][2:].tolist() == [0.0, 0.0]
