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


# --- replacing outputs: only what levelsets wrote, never ., .., the home or the root -------------

from levelsets.artifacts import MARKER, check_output_file  # noqa: E402


def _tree(path):
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def test_overwrite_replaces_only_a_levelsets_output(tmp_path):
    out = tmp_path / "run"
    with atomic_output_dir(out) as tmp:
        (tmp / "a.txt").write_text("first")
        (tmp / "sub").mkdir()
        (tmp / "sub" / "b.txt").write_text("first")
    assert json.loads((out / MARKER).read_text())["files"] == ["a.txt", "sub/b.txt"]
    with atomic_output_dir(out, overwrite=True) as tmp:
        (tmp / "c.txt").write_text("second")
    assert _tree(out) == [MARKER, "c.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # nothing left aside


def test_overwrite_refuses_a_folder_holding_a_users_file(tmp_path):
    user = tmp_path / "mine"
    user.mkdir()
    (user / "thesis.tex").write_text("years of work")
    with pytest.raises(LevelsetsError, match="not written by levelsets"):
        with atomic_output_dir(user, overwrite=True):
            pass
    assert (user / "thesis.tex").read_text() == "years of work"
    # a levelsets output that a user added a file to is refused too, naming the file
    out = tmp_path / "run"
    with atomic_output_dir(out) as tmp:
        (tmp / "a.txt").write_text("x")
    (out / "notes.md").write_text("mine")
    with pytest.raises(LevelsetsError, match="notes.md, which levelsets did not write"):
        with atomic_output_dir(out, overwrite=True):
            pass
    assert (out / "notes.md").read_text() == "mine" and (out / "a.txt").is_file()


def test_a_file_added_while_the_job_runs_is_not_lost(tmp_path):
    out = tmp_path / "run"
    with atomic_output_dir(out) as tmp:
        (tmp / "a.txt").write_text("x")
    with pytest.raises(LevelsetsError, match="late.txt"):
        with atomic_output_dir(out, overwrite=True) as tmp:
            (out / "late.txt").write_text("written during the job")
            (tmp / "b.txt").write_text("new")
    assert (out / "late.txt").is_file() and (out / "a.txt").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_never_the_working_directory_its_ancestors_home_or_root(tmp_path, monkeypatch):
    work = tmp_path / "project" / "sub"
    work.mkdir(parents=True)
    (work / "data.csv").write_text("1,2")
    monkeypatch.chdir(work)
    for target, why in ((".", "current directory"), ("..", "holds the current directory"), ("/", "root")):
        for overwrite in (False, True):
            with pytest.raises(LevelsetsError, match=why):
                with atomic_output_dir(target, overwrite=overwrite):
                    pass
    monkeypatch.setenv("HOME", str(tmp_path / "project"))
    with pytest.raises(LevelsetsError, match="home"):
        with atomic_output_dir(tmp_path / "project", overwrite=True):
            pass
    assert (work / "data.csv").read_text() == "1,2"
    assert _tree(tmp_path / "project") == ["sub", "sub/data.csv"]


def test_legacy_outputs_with_a_levelsets_record_may_be_replaced(tmp_path):
    out = tmp_path / "old_run"
    out.mkdir()
    write_json(out / "summary.json", provenance(seed=1))
    (out / "grid.png").write_bytes(b"png")
    with atomic_output_dir(out, overwrite=True) as tmp:
        (tmp / "new.txt").write_text("x")
    assert _tree(out) == [MARKER, "new.txt"]


def test_output_files_replace_only_levelsets_files(tmp_path):
    mine = tmp_path / "labels.json"
    mine.write_text('{"user": true}')
    with pytest.raises(LevelsetsError, match="levelsets did not write it"):
        check_output_file(mine)
    ours = tmp_path / "ours.json"
    write_json(ours, {"x": 1})
    write_sidecar(ours, provenance())
    assert check_output_file(ours) == ours
    with pytest.raises(LevelsetsError, match="is a directory"):
        check_output_file(tmp_path)
    ckpt = tmp_path / "model.pt"
    ckpt.write_bytes(b"weights")
    with pytest.raises(LevelsetsError, match="model.card.json"):
        check_output_file(ckpt, sidecar=tmp_path / "model.card.json")
    write_json(tmp_path / "model.card.json", provenance())
    assert check_output_file(ckpt, sidecar=tmp_path / "model.card.json") == ckpt
