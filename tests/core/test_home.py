"""The model home (``levelsets.home``): ``$LEVELSETS_HOME`` or the user cache directory."""

from __future__ import annotations

from levelsets.home import model_dir, model_home


def test_levelsets_home_is_used_and_created(tmp_path, monkeypatch):
    monkeypatch.setenv("LEVELSETS_HOME", str(tmp_path / "models"))
    assert model_home() == tmp_path / "models" and (tmp_path / "models").is_dir()
    path = model_dir("classifier", "shapes")
    assert path == tmp_path / "models" / "classifier" / "shapes" and path.is_dir()


def test_tilde_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("LEVELSETS_HOME", "~/lv")
    assert model_home() == tmp_path / "lv"


def test_unset_falls_back_to_the_user_cache(tmp_path, monkeypatch):
    monkeypatch.delenv("LEVELSETS_HOME", raising=False)
    monkeypatch.setattr("levelsets.home.user_cache_dir", lambda name: str(tmp_path / "cache" / name))
    assert model_home() == tmp_path / "cache" / "levelsets"
