"""No command deletes or overwrites a file levelsets did not write (issue 15, item 1).

Every command with ``--out``/``-o`` is tried against a user's folder or file, ``--out .`` and
``--out ..``: each must answer one line, exit 2, and leave everything where it was.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from levelsets.cli import app
from levelsets.runs import SampleRun

runner = CliRunner()
TINY_SAMPLE = ["sample", "--world", "shapes", "--particles", "16", "--steps", "6", "--burn-in", "3",
               "--samples", "4", "--quiet", "--target", "ambiguous"]


def _snapshot(root):
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


def _one_line_error(result, needle):
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert needle in lines[0], lines[0]


@pytest.fixture
def user_tree(tmp_path, monkeypatch):
    """A user's project: the working directory is project/work, with files of theirs around it."""
    project = tmp_path / "project"
    work = project / "work"
    work.mkdir(parents=True)
    (project / "paper.tex").write_text("do not lose me")
    (work / "data.csv").write_text("1,2,3")
    (work / "results").mkdir()
    (work / "results" / "notes.md").write_text("mine")
    monkeypatch.chdir(work)
    return project


def _run_dir(path):
    rng = np.random.default_rng(0)
    path.mkdir()
    SampleRun(latents=rng.normal(size=(6, 3)), images=rng.uniform(size=(6, 1, 8, 8)),
              probs=rng.dirichlet(np.ones(2), size=6), target=np.array([0.5, 0.5]),
              class_names=("rocket", "house")).save(path)
    (path / "summary.json").write_text(json.dumps({"target": {"spec": "ambiguous", "probs": [0.5, 0.5]}}))
    return path


@pytest.mark.parametrize("out, needle", [
    (".", "current directory"),
    ("..", "holds the current directory"),
    ("results", "not written by levelsets"),
])
def test_sample_never_replaces_a_users_folder(user_tree, tiny_shapes_classifier, out, needle):
    before = _snapshot(user_tree)
    result = runner.invoke(app, [*TINY_SAMPLE, "--out", out, "--overwrite"])
    _one_line_error(result, needle)
    assert _snapshot(user_tree) == before


def test_sample_overwrite_replaces_its_own_output(user_tree, tiny_shapes_classifier):
    first = runner.invoke(app, [*TINY_SAMPLE, "--out", "run", "--seed", "1"])
    assert first.exit_code == 0, first.output
    again = runner.invoke(app, [*TINY_SAMPLE, "--out", "run", "--seed", "2", "--overwrite"])
    assert again.exit_code == 0, again.output
    assert json.loads((user_tree / "work" / "run" / "summary.json").read_text())["seed"] == 2
    (user_tree / "work" / "run" / "mine.txt").write_text("added by the user")
    third = runner.invoke(app, [*TINY_SAMPLE, "--out", "run", "--overwrite"])
    _one_line_error(third, "mine.txt, which levelsets did not write")
    assert (user_tree / "work" / "run" / "mine.txt").is_file()


@pytest.mark.parametrize("out, needle", [
    (".", "current directory"),
    ("..", "holds the current directory"),
    ("results", "not written by levelsets"),
])
def test_stimuli_export_never_replaces_a_users_folder(user_tree, out, needle):
    run = _run_dir(user_tree / "run")
    before = _snapshot(user_tree)
    result = runner.invoke(app, ["stimuli", "export", str(run), "--out", out, "--overwrite", "--size", "8",
                                 "--per-participant", "4", "--repeats", "0"])
    _one_line_error(result, needle)
    assert _snapshot(user_tree) == before


def test_loop_never_replaces_a_users_folder(user_tree):
    before = _snapshot(user_tree)
    result = runner.invoke(app, ["loop", "--world", "shapes", "--rounds", "1", "--out", "..", "--overwrite", "--quiet"])
    _one_line_error(result, "holds the current directory")
    assert _snapshot(user_tree) == before


def test_file_outputs_never_overwrite_a_users_file(user_tree):
    responses = user_tree / "work" / "responses.json"
    responses.write_text(json.dumps({"1": [{"Most Probable Class": "house", "Most Probable Class Prob": 80,
                                            "Second Most Probable Class": "No", "Second Most Probable Class Prob": None,
                                            "Impossible Class(es)": []}]}))
    mine = user_tree / "work" / "data.csv"
    before = _snapshot(user_tree)
    cases = [
        (["labels", "build", "--responses", str(responses), "--classes", "rocket,house", "-o", str(mine)],
         "levelsets did not write it"),
        (["elicit", "export", "--db", "missing.sqlite", "-o", str(responses)], "levelsets did not write it"),
        (["evaluate", "--classifier", "shapes", "--world", "shapes", "--near-boundary", "10", "-o", str(mine)],
         "levelsets did not write it"),
        (["train", "classifier", "--world", "shapes", "--out", str(user_tree / "work" / "results" / "notes.md")],
         "is a file"),
    ]
    for args, needle in cases:
        _one_line_error(runner.invoke(app, args), needle)
    assert _snapshot(user_tree) == before


def test_train_classifier_refuses_a_users_checkpoint(user_tree):
    ckpt = user_tree / "work" / "model.pt"
    ckpt.write_bytes(b"somebody's weights")
    result = runner.invoke(app, ["train", "classifier", "--world", "shapes", "--out", str(ckpt)])
    _one_line_error(result, "model.card.json")
    assert ckpt.read_bytes() == b"somebody's weights"


def test_labels_build_may_replace_its_own_file(user_tree):
    responses = user_tree / "work" / "responses.json"
    responses.write_text(json.dumps({"1": [{"Most Probable Class": "house", "Most Probable Class Prob": 80,
                                            "Second Most Probable Class": "No", "Second Most Probable Class Prob": None,
                                            "Impossible Class(es)": []}]}))
    args = ["labels", "build", "--responses", str(responses), "--classes", "rocket,house", "-o", "labels.json"]
    assert runner.invoke(app, args).exit_code == 0
    second = runner.invoke(app, args)
    assert second.exit_code == 0, second.output
