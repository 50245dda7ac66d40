"""`levelsets labels build` end to end, and its bad-input cases (exit 2, nothing written)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from levelsets.cli.app import app
from levelsets.softlabels.label_files import load_soft_labels

runner = CliRunner()


def resp(top1, p1, top2="No", p2=None, impossible=()):
    return {
        "Most Probable Class": top1,
        "Most Probable Class Prob": p1,
        "Second Most Probable Class": top2,
        "Second Most Probable Class Prob": p2,
        "Impossible Class(es)": list(impossible),
    }


def write(path, obj):
    path.write_text(json.dumps(obj))
    return path


def test_build_writes_labels_aggregate_and_sidecar(tmp_path):
    responses = write(
        tmp_path / "responses.json",
        {
            "17": [resp("house", 80, "rocket", 20), resp("rocket", 60)],
            "3": [resp("rocket", 100)],
        },
    )
    out = tmp_path / "labels.json"
    result = runner.invoke(
        app, ["labels", "build", "--responses", str(responses), "--classes", "shapes", "--variety", "t2-clamp", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert doc["class_names"] == ["rocket", "house"]
    assert list(doc["examples"]) == ["17", "3"]
    ex = doc["examples"]["17"]
    np.testing.assert_allclose(ex["annotators"], [[0.2, 0.8], [0.6, 0.4]])  # per-annotator order kept
    np.testing.assert_allclose(ex["aggregate"], [0.4, 0.6])
    np.testing.assert_allclose(doc["examples"]["3"]["annotators"], [[0.9, 0.1]])  # gamma kept for house
    assert all(isinstance(v, float) for v in ex["aggregate"])
    sidecar = json.loads((tmp_path / "labels.json.json").read_text())
    assert sidecar["settings"] == {  # the resolved settings of the job (BuildLabelsJob)
        "responses": str(responses), "classes": "shapes", "out": str(out), "variety": "t2-clamp", "gamma": 0.1,
        "strict": False, "aggregate": "mean", "annotators": None, "unreliable_below": None, "table": None,
    }
    assert "versions" in sidecar
    loaded = load_soft_labels(out, class_names=("rocket", "house"))
    assert loaded.ids == ["17", "3"] and loaded.settings.variety == "t2-clamp"


def test_custom_classes_and_t1_uniform(tmp_path):
    responses = write(tmp_path / "r.json", {"x": [resp("cat", 40, "dog", 40, ["bird"])]})
    out = tmp_path / "o.json"
    result = runner.invoke(
        app, ["labels", "build", "--responses", str(responses), "--classes", "cat,dog,bird", "--variety", "t1-uniform", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    np.testing.assert_allclose(json.loads(out.read_text())["examples"]["x"]["aggregate"], [0.4, 0.3, 0.3])


@pytest.mark.parametrize(
    ("content", "args", "needle"),
    [
        ({"1": [resp("rocket", 50)]}, ["--variety", "t3"], "unknown label variety"),
        ({"1": [resp("rocket", 50)]}, ["--gamma", "1.5"], "--gamma"),
        ({"1": [resp("rocket", 50)]}, ["--classes", "onlyone"], "--classes"),
        ("not json", [], "not valid JSON"),
        ([1, 2], [], "must be a JSON object"),
    ],
)
def test_bad_input_one_line_nothing_written(tmp_path, content, args, needle):
    path = tmp_path / "r.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    out = tmp_path / "out.json"
    base = ["labels", "build", "--responses", str(path), "--classes", "shapes", "-o", str(out)]
    result = runner.invoke(app, base + args)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0]
    assert list(tmp_path.iterdir()) == [path]


def test_malformed_responses_listed_together_nothing_written(tmp_path):
    path = write(
        tmp_path / "r.json",
        {"a": [resp("rocket", 50), resp("boat", 50)], "b": [resp("house", 150, "house", 10, ["house"])]},
    )
    out = tmp_path / "out.json"
    result = runner.invoke(app, ["labels", "build", "--responses", str(path), "--classes", "shapes", "-o", str(out), "--strict"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert lines[0] == f"error: 5 problems with the responses in {path}; fix them and run again:"
    assert any("example 'a', annotator 1: unknown most probable class 'boat'" in line for line in lines)
    assert any("example 'b', annotator 0: most probable class prob 150" in line for line in lines)
    assert not out.exists() and not (tmp_path / "out.json.json").exists()


def test_missing_responses_file(tmp_path):
    result = runner.invoke(app, ["labels", "build", "--responses", str(tmp_path / "nope.json"), "--classes", "mnist", "-o", str(tmp_path / "o.json")])
    assert result.exit_code == 2 and "does not exist" in result.stderr
    assert list(tmp_path.iterdir()) == []


# --- published CIFAR-10S responses: default (published construction), --strict, the anomaly file ---

CIFAR_OTHERS = ["Airplane", "Automobile", "Bird", "Deer", "Frog", "Horse", "Ship", "Truck"]


def published_style_responses():
    """CIFAR-10S as published: capitalized names, float percentages, null probabilities."""
    return {
        "0": [resp("Cat", 20.0, "Dog", 40.0, CIFAR_OTHERS)],  # clean
        "5": [resp("Cat", 70.0, "Cat", 20.0, CIFAR_OTHERS)],  # second = first
        "6": [resp("Dog", 60.0, "Cat", None)],  # second without a probability
        "7": [resp("Bird", 50.0, "Frog", 30.0, ["Bird", "Airplane", "Ship", "Truck", "Automobile"])],  # named impossible
    }


def cifar(**probs):
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    return [probs.get(n, 0.0) for n in names]


def test_default_builds_published_anomalies_and_lists_them(tmp_path):
    path = write(tmp_path / "responses.json", published_style_responses())
    out = tmp_path / "labels.json"
    args = ["labels", "build", "--responses", str(path), "--classes", "cifar10", "--variety", "t2-clamp", "--gamma", "0.1", "-o", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    examples = json.loads(out.read_text())["examples"]
    np.testing.assert_allclose(examples["0"]["aggregate"], cifar(cat=1 / 3, dog=2 / 3))
    # 20 overwrites 70; m = 0.2; possible cat, dog; holding cat -> D = 1: dog gets 0.8
    np.testing.assert_allclose(examples["5"]["aggregate"], cifar(cat=0.2, dog=0.8))
    # second ignored: 0.4 over the 9 other classes
    np.testing.assert_allclose(examples["6"]["aggregate"], [0.4 / 9] * 5 + [0.6] + [0.4 / 9] * 4)
    # possible cat, deer, dog, frog, horse (5), holding bird, frog (2) -> D = 3: 0.2/3 to each of the
    # 4 open classes; sum 16/15 -> bird 15/32, frog 9/32, open 1/16
    np.testing.assert_allclose(
        examples["7"]["aggregate"], cifar(bird=15 / 32, frog=9 / 32, cat=1 / 16, deer=1 / 16, dog=1 / 16, horse=1 / 16)
    )
    side = tmp_path / "labels.anomalies.json"
    doc = json.loads(side.read_text())
    assert [(a["example"], a["annotator"], a["kind"]) for a in doc["anomalies"]] == [
        ("5", 0, "second-equals-first"), ("6", 0, "second-without-prob"), ("7", 0, "named-class-impossible"),
    ]
    assert doc["total"] == 3 and doc["counts"]["spread-count"] == 0 and doc["strict"] is False
    assert "versions" in json.loads((tmp_path / "labels.anomalies.json.json").read_text())
    note = [line for line in result.stderr.splitlines() if "anomalies" in line]
    assert len(note) == 1 and note[0].startswith("3 anomalies in the responses") and str(side) in note[0]
    # a rerun replaces its own outputs
    assert runner.invoke(app, args).exit_code == 0


def test_strict_refuses_published_anomalies_nothing_written(tmp_path):
    path = write(tmp_path / "responses.json", published_style_responses())
    out = tmp_path / "labels.json"
    result = runner.invoke(app, ["labels", "build", "--responses", str(path), "--classes", "cifar10", "-o", str(out), "--strict"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert lines[0] == f"error: 3 problems with the responses in {path}; fix them and run again:"
    assert "example '5', annotator 0: second most probable class equals the most probable (cat)" in lines[1]
    assert list(tmp_path.iterdir()) == [path]


def test_anomaly_file_never_replaces_a_file_levelsets_did_not_write(tmp_path):
    path = write(tmp_path / "responses.json", published_style_responses())
    foreign = tmp_path / "labels.anomalies.json"
    foreign.write_text("mine")
    result = runner.invoke(app, ["labels", "build", "--responses", str(path), "--classes", "cifar10", "-o", str(tmp_path / "labels.json")])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "refusing to overwrite the anomaly file" in lines[0]
    assert foreign.read_text() == "mine" and sorted(p.name for p in tmp_path.iterdir()) == ["labels.anomalies.json", "responses.json"]


# --- crowd-kit aggregates ---

TRUTH = ["cat", "dog", "bird"] * 4


def crowd_responses(tmp_path):
    """12 examples; annotators a0-a2 name the truth, 'spam' always names cat."""
    responses = {str(i): [resp(z, 80), resp(z, 70), resp(z, 90), resp("cat", 60)] for i, z in enumerate(TRUTH)}
    ids = {str(i): ["a0", "a1", "a2", "spam"] for i in range(len(TRUTH))}
    return write(tmp_path / "responses.json", responses), ids


def test_dawid_skene_aggregate_flags_the_spammer_and_writes_the_table(tmp_path):
    path, ids = crowd_responses(tmp_path)
    write(tmp_path / "responses.details.json", {"annotators": ids})  # found beside the responses
    out, table = tmp_path / "labels.json", tmp_path / "table.csv"
    result = runner.invoke(app, [
        "labels", "build", "--responses", str(path), "--classes", "cat,dog,bird", "-o", str(out),
        "--aggregate", "dawid-skene", "--table", str(table),
    ])
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert doc["aggregation"]["method"] == "dawid-skene"
    assert doc["aggregation"]["unreliable_workers"] == ["spam"]
    assert doc["aggregation"]["workers"]["a0"]["reliability"] > 0.9
    flagged = [line for line in result.stderr.splitlines() if "unreliable" in line]
    assert flagged == ["1 of 4 annotators unreliable (dawid-skene estimated accuracy < 0.5): spam"]
    # the aggregate is the posterior (the truth), not the mean (which puts mass on cat)
    loaded = load_soft_labels(out, class_names=("cat", "dog", "bird"))
    assert loaded.per_annotator["1"].shape == (1, 3)
    assert [int(loaded.aggregate()[str(i)].argmax()) for i in range(12)] == [0, 1, 2] * 4
    assert loaded.aggregate()["1"][1] > 0.99
    assert np.array(doc["examples"]["1"]["annotators"]).shape == (4, 3)
    frame = pd.read_csv(table, dtype=str)
    assert list(frame.columns) == ["task", "worker", "label"] and len(frame) == 48
    assert frame.iloc[3].tolist() == ["0", "spam", "cat"] and frame.iloc[5].tolist() == ["1", "a1", "dog"]
    assert "versions" in json.loads((tmp_path / "table.csv.json").read_text())


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--aggregate", "glad"], "--aggregate glad needs to know which annotator gave each response"),
        (["--table", "t.csv"], "--table needs to know which annotator"),
        (["--aggregate", "vote"], "unknown --aggregate 'vote'"),
        (["--unreliable-below", "0.3"], "--unreliable-below needs --aggregate"),
    ],
)
def test_crowd_options_refused_one_line_nothing_written(tmp_path, extra, needle):
    path, _ = crowd_responses(tmp_path)
    result = runner.invoke(app, ["labels", "build", "--responses", str(path), "--classes", "cat,dog,bird", "-o", str(tmp_path / "o.json"), *extra])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0]
    assert list(tmp_path.iterdir()) == [path]
