"""`levelsets train classifier --method ... --soft-labels ... --augment ... --deaggregate`."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from levelsets.cli.app import app
from shapes_runs import make_run

runner = CliRunner()


@pytest.mark.slow
def test_train_with_method_labels_and_augment(tmp_path):
    make_run(tmp_path / "run", n=8)
    labels = tmp_path / "l.json"
    labels.write_text(json.dumps({"0": [[0.3, 0.7], [0.6, 0.4]], "5": [0.5, 0.5]}))
    out = tmp_path / "m.pt"
    result = runner.invoke(app, [
        "train", "classifier", "--world", "shapes", "--n-train", "64", "--epochs", "1", "--method", "ent-wc",
        "--soft-labels", str(labels), "--augment", str(tmp_path / "run"), "--deaggregate", "--quiet",
        "--device", "cpu", "--out", str(out),
    ])
    assert result.exit_code == 0, result.output + result.stderr
    card = json.loads((tmp_path / "m.card.json").read_text())
    assert card["method"] == "ent-wc" and card["method_settings"]["kappa"] == 0.7
    info = card["training_data"]
    assert info["total_examples"] == 72 and info["soft_labelled_examples"] == 2 and info["deaggregate"]
    assert info["augment"][0]["labels"] == "posterior"


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--method", "dropout"], "unknown --method"),
        (["--augment", "EMPTY"], "is empty"),
        (["--soft-labels", "BADID"], "matches no example"),
        (["--soft-labels", "BADLEN"], "3 entries but there are 2 classes"),
        (["--method", "mixup", "--alpha", "0"], "alpha"),
    ],
)
def test_bad_input_exit_2_nothing_written(tmp_path, extra, needle):
    (tmp_path / "empty").mkdir()
    (tmp_path / "badid.json").write_text(json.dumps({"100": [0.5, 0.5]}))
    (tmp_path / "badlen.json").write_text(json.dumps({"1": [0.2, 0.3, 0.5]}))
    subst = {"EMPTY": str(tmp_path / "empty"), "BADID": str(tmp_path / "badid.json"), "BADLEN": str(tmp_path / "badlen.json")}
    extra = [subst.get(a, a) for a in extra]
    before = sorted(p.name for p in tmp_path.iterdir())
    result = runner.invoke(app, ["train", "classifier", "--world", "shapes", "--n-train", "16", "--epochs", "1", "--quiet",
                                 "--device", "cpu", "--out", str(tmp_path / "m.pt"), *extra])
    assert result.exit_code == 2, result.output + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], lines
    assert sorted(p.name for p in tmp_path.iterdir()) == before
