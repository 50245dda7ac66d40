"""`levelsets sample --moves`: gradient (MALA) moves chosen automatically for a differentiable 32-d world,
reported in summary.json, and one-line errors where they cannot run (issue 12, item 2)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from levelsets.cli import app
from plugin_world import world_source, write_world

runner = CliRunner()
TINY = ["--particles", "48", "--steps", "20", "--burn-in", "10", "--samples", "8", "--quiet", "--seed", "2"]


def world_file(tmp_path, d: int, black_box: bool = False) -> str:
    """A d-dimensional plugin world (tests/plugin_world.py), differentiable unless ``black_box``."""
    path = tmp_path / f"world{d}{'bb' if black_box else ''}.py"
    return write_world(path, world_source(d, weight_seed=7, scaled=True, black_box=black_box))


def run(tmp_path, spec, *extra):
    out = tmp_path / "out"
    result = runner.invoke(app, ["sample", "--world", spec, "--target", "0.3,0.7", *TINY, "--out", str(out), *extra])
    return result, out


def test_auto_picks_mala_for_a_differentiable_32d_world_and_says_so(tmp_path):
    result, out = run(tmp_path, world_file(tmp_path, 32), "--relaxation", "dirichlet", "--alpha", "20")
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    moves = summary["moves"]
    assert moves["gradients"] is True and moves["kernel"].startswith("MALA") and moves["setting"] == "auto"
    assert moves["population"] == [] and "pass gradients" in moves["reason"]
    assert summary["sampler"]["moves"] == "auto"  # the resolved sampler settings
    assert summary["forward_evaluations"] == 48 * 21  # deciding the moves cost no extra pass


def test_auto_keeps_black_box_moves_for_the_band_and_for_a_black_box(tmp_path):
    result, out = run(tmp_path, world_file(tmp_path, 32))  # the band: the default
    assert result.exit_code == 0, result.output
    moves = json.loads((out / "summary.json").read_text())["moves"]
    assert moves["gradients"] is False and "indicator" in moves["reason"] and moves["kernel"].startswith("preconditioned Crank")
    result, out = run(tmp_path, world_file(tmp_path, 32, black_box=True), "--relaxation", "dirichlet", "--overwrite")
    assert result.exit_code == 0, result.output
    moves = json.loads((out / "summary.json").read_text())["moves"]
    assert moves["gradients"] is False and moves["reason"].startswith("black box") and moves["kernel"].startswith("random walk")


def test_impossible_gradient_moves_are_one_line_errors_and_write_nothing(tmp_path):
    for spec, extra, fragment in (
        (world_file(tmp_path, 32, black_box=True), ["--relaxation", "dirichlet"], "gradient moves are not possible"),
        (world_file(tmp_path, 32), [], "indicator"),
        (world_file(tmp_path, 32), ["--moves", "hmc"], "unknown --moves"),
    ):
        result, out = run(tmp_path, spec, "--moves", "gradient", *extra) if "hmc" not in extra else run(tmp_path, spec, *extra)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert result.exit_code == 2, result.output
        assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], result.stderr
        assert not (out / "summary.json").exists()
