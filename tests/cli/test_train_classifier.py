import json

from typer.testing import CliRunner

from levelsets.cli.app import app

runner = CliRunner()


def test_cli_trains_tiny_shapes_classifier(tmp_path):
    out = tmp_path / "clf"
    res = runner.invoke(app, ["train", "classifier", "--world", "shapes", "--n-train", "512", "--n-heldout", "256", "--epochs", "1",
                              "--seed", "2", "--device", "cpu", "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    assert (out / "model.pt").is_file()
    card = json.loads((out / "model.card.json").read_text())
    assert card["n_train"] == 512 and card["seed"] == 2 and card["settings"]["epochs"] == 1
    assert "held-out accuracy" in res.output and "Bayes-optimal" in res.output
    assert str(out / "model.pt") in res.output


def test_cli_rejects_bad_input_with_one_line(tmp_path):
    cases = [
        [],
        ["--world", "shapes", "--dataset", "mnist"],
        ["--world", "circles"],
        ["--dataset", "cifar10"],
        ["--world", "shapes", "--epochs", "0"],
        ["--world", "shapes", "--n-train", "0"],
    ]
    for extra in cases:
        res = runner.invoke(app, ["train", "classifier", *extra, "--out", str(tmp_path / "x")])
        assert res.exit_code == 2, (extra, res.output)
        assert res.output.count("error:") == 1
        assert not (tmp_path / "x").exists()
