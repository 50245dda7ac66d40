"""`levelsets evaluate` end to end on tiny inputs, and its bad-input cases."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from levelsets.checkpoints import save_checkpoint
from levelsets.classifiers.cnn import ShapesCNN
from levelsets.cli.app import app
from shapes_runs import make_run

runner = CliRunner()


@pytest.fixture
def checkpoint(tmp_path):
    torch.manual_seed(0)
    model = ShapesCNN(width=4)
    return save_checkpoint(tmp_path / "clf.pt", kind="classifier", config=model.config, state_dict=model.state_dict(), card={"data": "none (untrained test model)"})


def test_evaluate_run_dir_writes_json_png_sidecar(tmp_path, checkpoint):
    make_run(tmp_path / "run", n=6)
    out = tmp_path / "eval.json"
    result = runner.invoke(app, ["evaluate", "--classifier", str(checkpoint), "--eval-labels", str(tmp_path / "run"), "-o", str(out), "--bin-size", "3", "--device", "cpu"])
    assert result.exit_code == 0, result.output + result.stderr
    doc = json.loads(out.read_text())
    assert set(doc["metrics"]) >= {"ce", "calibration_rmse", "fgsm_ce", "accuracy", "kl", "n"}
    assert doc["metrics"]["n"] == 6 and doc["eval_set"]["labels"] == "exact posterior"
    assert doc["metrics"]["fgsm_ce"] >= doc["metrics"]["ce"]
    assert len(doc["reliability_bins"]) == 2
    assert (tmp_path / "eval.png").read_bytes()[:4] == b"\x89PNG"
    assert "versions" in json.loads((tmp_path / "eval.json.json").read_text())


def test_evaluate_label_file_with_run_images(tmp_path, checkpoint):
    make_run(tmp_path / "run", n=6)
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({"format": "levelsets-soft-labels", "class_names": ["rocket", "house"],
                                  "examples": {"0": {"annotators": [[0.9, 0.1], [0.7, 0.3]]}, "4": {"annotators": [[0.2, 0.8]]}}}))
    out = tmp_path / "e.json"
    result = runner.invoke(app, ["evaluate", "--classifier", str(checkpoint), "--eval-labels", str(labels), "--images", str(tmp_path / "run"), "-o", str(out), "--device", "cpu"])
    assert result.exit_code == 0, result.output + result.stderr
    doc = json.loads(out.read_text())
    assert doc["metrics"]["n"] == 2


def test_evaluate_near_boundary_shapes(tmp_path, checkpoint):
    out = tmp_path / "nb.json"
    result = runner.invoke(app, ["evaluate", "--classifier", str(checkpoint), "--world", "shapes", "--near-boundary", "40", "-o", str(out), "--device", "cpu"])
    assert result.exit_code == 0, result.output + result.stderr
    doc = json.loads(out.read_text())
    assert doc["metrics"]["n"] == 40 and doc["eval_set"]["kind"] == "shapes near boundary"
    assert 0.0 <= doc["metrics"]["accuracy_true_class"] <= 1.0 and doc["metrics"]["calibration_rmse_true_class"] >= 0.0
    assert "against the true classes: calibration RMSE=" in result.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--world", "shapes"], "--near-boundary"),
        (["--world", "mnist", "--near-boundary", "5"], "only shapes"),
        ([], "give either"),
        (["--eval-labels", "LABELS"], "needs --images"),
        (["--eval-labels", "nowhere.json"], "does not exist"),
        (["--eval-labels", "RUN", "--epsilon", "3"], "--epsilon"),
        (["--eval-labels", "LABELS", "--images", "RUN"], "id '17' matches no example"),
        (["--eval-labels", "BADSUM", "--images", "RUN"], "sums to"),
        (["--eval-labels", "EMPTY"], "no samples.npz"),
        (["--eval-labels", "RUN", "--classifier", "nothing.pt"], "neither"),
    ],
)
def test_bad_input_exit_2_one_line_nothing_written(tmp_path, checkpoint, args, needle):
    make_run(tmp_path / "run", n=6)
    (tmp_path / "empty").mkdir()
    (tmp_path / "l.json").write_text(json.dumps({"17": [0.5, 0.5]}))
    (tmp_path / "bad.json").write_text(json.dumps({"1": [0.5, 0.6]}))
    subst = {"LABELS": str(tmp_path / "l.json"), "RUN": str(tmp_path / "run"), "BADSUM": str(tmp_path / "bad.json"), "EMPTY": str(tmp_path / "empty")}
    args = [subst.get(a, a) for a in args]
    clf = ["--classifier", str(checkpoint)] if "--classifier" not in args else []
    before = sorted(p.name for p in tmp_path.iterdir())
    result = runner.invoke(app, ["evaluate", *clf, *args, "-o", str(tmp_path / "out.json"), "--device", "cpu"])
    assert result.exit_code == 2, result.output + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], lines
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_corrupt_checkpoint_is_a_clear_error(tmp_path):
    make_run(tmp_path / "run", n=6)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    result = runner.invoke(app, ["evaluate", "--classifier", str(bad), "--eval-labels", str(tmp_path / "run"), "-o", str(tmp_path / "o.json")])
    assert result.exit_code == 2 and "corrupt or truncated" in result.stderr
    assert not (tmp_path / "o.json").exists()
