"""`levelsets labels build` end to end, and its bad-input cases (exit 2, nothing written)."""

from __future__ import annotations

import json

import numpy as np
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
    assert sidecar["settings"] == {"variety": "t2-clamp", "gamma": 0.1}
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
    result = runner.invoke(app, ["labels", "build", "--responses", str(path), "--classes", "shapes", "-o", str(out)])
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
