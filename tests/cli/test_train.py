"""levelsets.cli.train: the `levelsets train` group, its three commands, and vae/gan built from one settings class."""

from __future__ import annotations

from typer.testing import CliRunner

from levelsets.cli import app

runner = CliRunner()


def test_train_lists_classifier_vae_and_gan():
    result = runner.invoke(app, ["train", "--help"])
    assert result.exit_code == 0
    assert "Train a classifier, VAE or GAN and cache it in the model home." in result.output
    for name in ("classifier", "vae", "gan"):
        assert f"  {name} " in result.output, name


def test_vae_and_gan_are_the_same_job_of_another_kind(monkeypatch, tmp_path):
    import levelsets.generative.zoo as zoo

    seen = []

    def fake_train_generator(**kwargs):
        seen.append(kwargs)
        raise SystemExit(0)  # stop after the call: nothing is trained

    monkeypatch.setattr(zoo, "train_generator", fake_train_generator)
    for kind in ("vae", "gan"):
        result = runner.invoke(app, ["train", kind, "--epochs", "2", "--exclude-class", "3", "--out", str(tmp_path / kind)])
        assert result.exit_code == 0, result.output
    assert [s["kind"] for s in seen] == ["vae", "gan"]
    assert all(s["epochs"] == 2 and s["exclude_class"] == 3 and s["dataset"] == "mnist" and s["seed"] == 0 for s in seen)
    assert seen[1]["out"] == tmp_path / "gan"


def test_train_settings_are_checked_before_anything_is_loaded(tmp_path):
    result = runner.invoke(app, ["train", "gan", "--exclude-class", "12", "--out", str(tmp_path / "g")])
    assert result.exit_code == 2 and result.stderr == "error: --exclude-class must be a digit from 0 to 9, got 12\n"
    result = runner.invoke(app, ["train", "vae", "--epochs", "0"])
    assert result.exit_code == 2 and "--epochs must be >= 1, got 0" in result.stderr
    assert not (tmp_path / "g").exists()
