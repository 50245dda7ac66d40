"""levelsets.workflows.sweep_cell: what one sweep cell needs on a node (the model files) and runs."""

from __future__ import annotations

from levelsets.workflows import sweep_cell


def test_model_files_reach_a_node_with_an_empty_model_home(tmp_path, tiny_shapes_classifier, monkeypatch):
    from levelsets.workflows.sample import SampleJob
    from levelsets.worlds import load_world

    world = load_world("shapes")
    files = sweep_cell.model_files(world, SampleJob(world="shapes", out=tmp_path / "x"))
    assert set(files) == {"classifier/shapes/model.pt", "classifier/shapes/model.card.json"}
    monkeypatch.setenv("LEVELSETS_HOME", str(tmp_path / "node"))
    written = sweep_cell.install_model_files(files)
    assert sorted(p.name for p in written) == ["model.card.json", "model.pt"]
    assert (tmp_path / "node" / "classifier/shapes/model.pt").read_bytes() == tiny_shapes_classifier.read_bytes()
    assert sweep_cell.install_model_files(files) == []  # present: nothing rewritten
