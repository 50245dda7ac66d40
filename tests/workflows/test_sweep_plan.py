"""levelsets.workflows.sweep_plan: a sweep's grid of cells and every check made before anything starts."""

from __future__ import annotations

import json
import socket

import pytest
from typer.testing import CliRunner

from levelsets.cli import app
from levelsets.errors import LevelsetsError
from levelsets.workflows import sweep_plan
from levelsets.workflows.sweep_plan import SweepSpec, plan

runner = CliRunner()
SHAPES = ["--world", "shapes", "--particles", "48", "--steps", "20", "--burn-in", "12", "--samples", "12", "--quiet"]
OPTIONS = {"world": "shapes", "particles": 48, "steps": 20, "burn_in": 12, "samples": 12}


def test_lists_seeds_and_cell_names():
    assert sweep_plan.split_list("1vs7, [0.2,0.8],graded:1vs7:0.5", "--targets") == ["1vs7", "[0.2,0.8]", "graded:1vs7:0.5"]
    assert sweep_plan.parse_seeds("0-2,7") == [0, 1, 2, 7]
    assert sweep_plan.cell_name("[0.2, 0.8]", "vae", 3) == "p0.2_0.8-vae-seed3"
    assert sweep_plan.cell_name("graded:1vs7:0.5", "gan", 0) == "graded_1vs7_0.5-gan-seed0"


def test_plan_makes_one_sample_job_per_target_prior_and_seed_in_that_order(tmp_path):
    out, cells = plan(SweepSpec(targets=["ambiguous", "0.3,0.7"], seeds=[4, 5], out=tmp_path / "s", options=OPTIONS))
    assert out == tmp_path / "s" and not out.exists()  # planned, nothing written
    assert [c.name for c in cells] == ["ambiguous-exact-seed4", "ambiguous-exact-seed5", "0.3_0.7-exact-seed4",
                                       "0.3_0.7-exact-seed5"]
    job = cells[2].job
    assert (job.target, job.prior, job.seed, job.particles, job.progress) == ("0.3,0.7", "exact", 4, 48, False)
    assert job.out == (tmp_path / "s" / "0.3_0.7-exact-seed4").absolute()
    assert "out" not in sweep_plan.job_settings(job) and sweep_plan.job_settings(job)["particles"] == 48


def test_plan_refuses_what_a_cell_may_not_set_and_a_sample_job_would_refuse(tmp_path):
    with pytest.raises(LevelsetsError, match="sweep options cannot set seed"):
        plan(SweepSpec(targets=["ambiguous"], out=tmp_path / "s", options={**OPTIONS, "seed": 3}))
    with pytest.raises(LevelsetsError, match=r"--samples \(64\) must not exceed --particles \(48\)"):
        plan(SweepSpec(targets=["ambiguous"], out=tmp_path / "s", options={**OPTIONS, "samples": 64}))
    with pytest.raises(LevelsetsError, match="--cell-threads must be ≥ 1"):
        plan(SweepSpec(targets=["ambiguous"], out=tmp_path / "s", options=OPTIONS, cell_threads=0))


def test_resuming_refuses_a_finished_cell_sampled_with_other_settings(tmp_path):
    from levelsets.artifacts import MARKER, provenance, write_json

    out = tmp_path / "s"
    _, cells = plan(SweepSpec(targets=["ambiguous"], out=out, options=OPTIONS))
    write_json(out / "sweep.json", provenance(artifact="sweep"))  # a sweep directory levelsets wrote
    cell = out / cells[0].name
    cell.mkdir(parents=True)
    (cell / MARKER).write_text(json.dumps({"written_by": "levelsets"}))
    write_json(cell / "summary.json", {"settings": {**sweep_plan.job_settings(cells[0].job), "steps": 99}})
    with pytest.raises(LevelsetsError, match="cannot resume: cell ambiguous-exact-seed0 was sampled with steps=99, "
                                             "this sweep asks for 20"):
        plan(SweepSpec(targets=["ambiguous"], out=out, options=OPTIONS, resume=True))
    write_json(cell / "summary.json", {"settings": sweep_plan.job_settings(cells[0].job)})
    _, resumed = plan(SweepSpec(targets=["ambiguous"], out=out, options=OPTIONS, resume=True))
    assert resumed[0].finished is not None  # the same settings: skipped when the sweep runs


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--targets", "1vs7", "--priors", "vae,flow"], "has no prior 'flow'"),
        (["--targets", ""], "--targets is empty"),
        (["--targets", " , "], "--targets is empty"),
        (["--targets", "1vs7,banana"], "unknown target"),
        (["--targets", "1vs7", "--seeds", "0,x"], "'x' is not an integer"),
        (["--targets", "1vs7", "--samples", "500"], "must not exceed --particles"),
        (["--targets", "1vs7", "--address", "127.0.0.1:PORT"], "cannot reach a Ray cluster at 127.0.0.1:"),
        (["--targets", "1vs7", "--address", "nonsense"], "is not HOST:PORT"),
        (["--targets", "1vs7,1vs7"], "share the directory 1vs7-vae-seed0"),
        (["--targets", "1vs7", "--resume"], "--resume needs the --out"),
    ],
)
def test_bad_input_one_line_exit_2_nothing_started(tmp_path, monkeypatch, args, fragment):
    import ray

    def refuse(*a, **k):
        raise AssertionError("nothing may start on bad input")

    monkeypatch.setattr(ray, "init", refuse)
    monkeypatch.setattr("levelsets.worlds.load_world", refuse)
    monkeypatch.chdir(tmp_path)
    args = [a.replace("PORT", str(_free_port())) for a in args]
    out = tmp_path / "never"
    if "--resume" not in args:
        args += ["--out", str(out)]
    result = runner.invoke(app, ["sweep", *args, "--particles", "100"])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("extra", [[], ["--overwrite"]])
@pytest.mark.parametrize("where", ["user_folder", "dot", "parent"])
def test_sweep_never_touches_a_folder_it_did_not_write(tmp_path, monkeypatch, extra, where):
    import ray

    def refuse(*a, **k):
        raise AssertionError("nothing may start when --out is refused")

    monkeypatch.setattr(ray, "init", refuse)
    monkeypatch.setattr("levelsets.worlds.load_world", refuse)
    project = tmp_path / "project"
    sub = project / "sub"
    sub.mkdir(parents=True)
    (project / "notes.txt").write_text("mine")
    (sub / "data.csv").write_text("1,2")
    monkeypatch.chdir(sub)
    out = {"user_folder": str(project), "dot": ".", "parent": ".."}[where]
    result = runner.invoke(app, ["sweep", "--targets", "ambiguous", *SHAPES, "--out", out, *extra])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "--out" in lines[0], result.stderr
    assert (project / "notes.txt").read_text() == "mine" and (sub / "data.csv").read_text() == "1,2"
    assert sorted(p.name for p in project.iterdir()) == ["notes.txt", "sub"]
