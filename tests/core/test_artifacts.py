import json

import pytest

from levelsets.artifacts import atomic_output_dir, provenance, write_json, write_sidecar
from levelsets.errors import LevelsetsError


def test_atomic_output_dir_leaves_nothing_on_failure(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(RuntimeError):
        with atomic_output_dir(out) as tmp:
            (tmp / "half.txt").write_text("partial")
            raise RuntimeError("boom")
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_atomic_output_dir_renames_on_success(tmp_path):
    out = tmp_path / "a" / "run"
    with atomic_output_dir(out) as tmp:
        (tmp / "x.txt").write_text("done")
    assert (out / "x.txt").read_text() == "done"
    assert [p.name for p in out.parent.iterdir()] == ["run"]


def test_paths_into_the_temporary_dir_are_rewritten_to_the_final_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "loop"
    with atomic_output_dir(out) as tmp:
        (tmp / "round_1").mkdir()
        write_json(tmp / "round_1" / "card.json", {"checkpoint": str(tmp / "round_1" / "classifier.pt")})
        (tmp / "notes.txt").write_text(str(tmp))  # only JSON files are rewritten
    card = json.loads((out / "round_1" / "card.json").read_text())
    assert card["checkpoint"] == str(out / "round_1" / "classifier.pt")
    assert ".partial-" in (out / "notes.txt").read_text()
    # a relative --out gives relative temporary paths; those are rewritten too
    with atomic_output_dir("rel") as tmp:
        write_json(tmp / "card.json", {"checkpoint": str(tmp / "classifier.pt")})
    assert json.loads((tmp_path / "rel" / "card.json").read_text())["checkpoint"] == "rel/classifier.pt"


def test_refuses_non_empty_dir_and_files(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "f").write_text("x")
    with pytest.raises(LevelsetsError, match="not empty"):
        with atomic_output_dir(tmp_path / "full"):
            pass
    (tmp_path / "file").write_text("x")
    with pytest.raises(LevelsetsError, match="is a file"):
        with atomic_output_dir(tmp_path / "file"):
            pass


def test_provenance_and_sidecar(tmp_path):
    record = provenance(settings={"alpha": 10.0}, seed=3, data="shapes world (no data)")
    assert record["seed"] == 3 and record["settings"]["alpha"] == 10.0
    assert "torch" in record["versions"] and "python" in record["versions"]
    import torch

    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert provenance()["machine"]["torch_threads"] == 1
    finally:
        torch.set_num_threads(threads)
    art = tmp_path / "grid.png"
    art.write_bytes(b"png")
    side = write_sidecar(art, record)
    assert side.name == "grid.png.json"
    assert json.loads(side.read_text())["seed"] == 3


def test_write_json_converts_numpy(tmp_path):
    import numpy as np

    path = write_json(tmp_path / "x.json", {"a": np.arange(3), "b": np.float32(0.5)})
    assert json.loads(path.read_text()) == {"a": [0, 1, 2], "b": 0.5}
