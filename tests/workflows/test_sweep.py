"""`levelsets sweep`: cells as Ray tasks, identical to `levelsets sample`, fault tolerant, resumable."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import ray.cloudpickle
import torch
from typer.testing import CliRunner

from levelsets.cli import app
from levelsets.runs import load_run
from levelsets.workflows import sweep as sweep_mod
from levelsets.workflows import sweep_cell

ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import this test module

runner = CliRunner()
MNIST = ["--particles", "100", "--steps", "40", "--burn-in", "30", "--samples", "20", "--quiet"]
SHAPES = ["--world", "shapes", "--particles", "48", "--steps", "20", "--burn-in", "12", "--samples", "12", "--quiet"]


class one_thread:  # noqa: N801 - a context manager used like a function
    """Run the block with one torch thread, as every sweep task does by default."""

    def __enter__(self):
        self.old = torch.get_num_threads()
        torch.set_num_threads(1)

    def __exit__(self, *exc):
        torch.set_num_threads(self.old)


def _assert_same_samples(a: Path, b: Path) -> None:
    with np.load(a / "samples.npz") as x, np.load(b / "samples.npz") as y:
        assert sorted(x.files) == sorted(y.files)
        for key in x.files:
            np.testing.assert_array_equal(x[key], y[key], err_msg=key)


def test_mnist_sweep_end_to_end_on_a_local_cluster(tmp_path, tiny_mnist_models):
    import ray

    assert not ray.is_initialized()
    out = tmp_path / "sweep"
    result = runner.invoke(app, ["sweep", "--targets", "1vs7,8vs9", "--priors", "vae,gan", "--seeds", "0,1", *MNIST,
                                 "--num-cpus", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert not ray.is_initialized()  # the local cluster it started is shut down
    record = json.loads((out / "sweep.json").read_text())
    names = [c["cell"] for c in record["cells"]]
    assert names == [f"{t}-{p}-seed{s}" for t in ("1vs7", "8vs9") for p in ("vae", "gan") for s in (0, 1)]
    assert record["complete"] and record["counts"] == {"done": 8, "failed": 0, "pending": 0}
    assert record["cluster"]["started_here"] and record["cluster"]["resources"]["CPU"] == 2.0
    for cell in record["cells"]:
        summary = cell["summary"]
        assert (summary["target"]["spec"], summary["prior"], summary["seed"]) == (cell["target"], cell["prior"], cell["seed"])
        assert summary["particles"] == 100 and summary["steps"] == 40
        assert summary["machine"]["torch_threads"] == 1 and summary["command"].startswith("levelsets sweep")
        on_disk = json.loads((out / cell["dir"] / "summary.json").read_text())
        assert on_disk["delta"] == summary["delta"]
        assert load_run(out / cell["dir"]).latents.shape == (20, 5)
    table = (out / "sweep.md").read_text()
    assert "8 done, 0 failed" in table and table.count("| 1vs7 |") == 4 and table.count("| done |") == 8
    assert "8vs9-gan-seed1" in result.output

    direct = tmp_path / "direct"
    with one_thread():
        res = runner.invoke(app, ["sample", "--target", "8vs9", "--prior", "gan", "--seed", "1", *MNIST, "--out", str(direct)])
    assert res.exit_code == 0, res.output
    _assert_same_samples(out / "8vs9-gan-seed1", direct)
    with np.load(out / "8vs9-gan-seed0" / "samples.npz") as a, np.load(direct / "samples.npz") as b:
        assert not np.array_equal(a["latents"], b["latents"])  # the comparison can fail: seeds differ


MARKERS: dict[str, Path] = {}


def faulty_cell(job, files, **kwargs):
    """`run_cell`, except: `ambiguous` seed 1 kills its worker on the first attempt, `[1,0]` seed 1 on every one."""
    name = Path(job["out"]).name
    marker = Path(kwargs.pop("marker_dir")) / name
    if name == "ambiguous-exact-seed1" and not marker.exists():
        marker.write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    if name == "p1_0-exact-seed1":
        marker.write_text(marker.read_text() + "x" if marker.exists() else "x")
        os.kill(os.getpid(), signal.SIGKILL)
    return sweep_cell.run_cell(job, files, **kwargs)


def test_killed_workers_and_failing_cells_still_give_a_complete_table(tmp_path, tiny_shapes_classifier, ray_local):
    import functools

    markers = tmp_path / "markers"
    markers.mkdir()
    out = tmp_path / "sweep"
    spec = sweep_mod.SweepSpec(
        targets=["ambiguous", "[1,0]"], seeds=[0, 1], out=out, retries=1, progress=False,
        # Dirichlet: its target may not have a zero entry, so cell [1,0] seed 0 fails as a user error
        options={"world": "shapes", "particles": 48, "steps": 20, "burn_in": 12, "samples": 12, "relaxation": "dirichlet"},
    )
    cell_fn = functools.partial(faulty_cell, marker_dir=str(markers))
    cell_fn.__name__ = "faulty_cell"  # ray.remote wants a name
    result = sweep_mod.run_sweep(spec, cell_fn=cell_fn)

    record = json.loads((out / "sweep.json").read_text())
    assert record == json.loads(json.dumps(result.record))
    cells = {c["cell"]: c for c in record["cells"]}
    assert list(cells) == ["ambiguous-exact-seed0", "ambiguous-exact-seed1", "p1_0-exact-seed0", "p1_0-exact-seed1"]
    assert record["complete"] and record["counts"] == {"done": 2, "failed": 2, "pending": 0} and result.failed == 2
    assert (markers / "ambiguous-exact-seed1").exists()  # its first worker was killed ...
    assert cells["ambiguous-exact-seed1"]["status"] == "done"  # ... and the retry finished it
    assert (markers / "p1_0-exact-seed1").read_text() == "xx"  # killed on both attempts (retries=1)
    assert "died on every attempt" in cells["p1_0-exact-seed1"]["error"]
    assert cells["p1_0-exact-seed0"]["status"] == "failed" and "has a zero entry" in cells["p1_0-exact-seed0"]["error"]
    assert sorted(p.name for p in out.iterdir()) == ["ambiguous-exact-seed0", "ambiguous-exact-seed1", "sweep.json",
                                                     "sweep.md"]  # no directory of a failed cell, no partial one
    table = (out / "sweep.md").read_text()
    assert "2 done, 2 failed" in table and "has a zero entry" in table and table.count("\n| ") == 5

    direct = tmp_path / "direct"  # the retried cell is what `levelsets sample` gives
    with one_thread():
        res = runner.invoke(app, ["sample", *SHAPES, "--relaxation", "dirichlet", "--target", "ambiguous", "--seed", "1",
                                  "--out", str(direct)])
    assert res.exit_code == 0, res.output
    _assert_same_samples(out / "ambiguous-exact-seed1", direct)


def test_resume_joins_a_running_cluster_and_runs_only_missing_cells(tmp_path, tiny_shapes_classifier, ray_local):
    out = tmp_path / "sweep"
    base = ["sweep", "--targets", "confident:house", *SHAPES, "--out", str(out)]
    first = runner.invoke(app, [*base, "--seeds", "0"])
    assert first.exit_code == 0, first.output
    stamp = (out / "confident_house-exact-seed0" / "summary.json").stat().st_mtime_ns

    again = runner.invoke(app, [*base, "--seeds", "0,1"])
    assert again.exit_code == 2 and "pass --resume" in again.stderr
    changed = runner.invoke(app, [*base, "--seeds", "0,1", "--resume", "--particles", "40"])
    assert changed.exit_code == 2 and "particles=48" in changed.stderr, changed.output

    address = ray_local.get_runtime_context().gcs_address  # a second driver joins this cluster
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    loud = [arg for arg in base if arg != "--quiet"]  # the "Resuming" note is INFO: --quiet would hide it
    proc = subprocess.run([sys.executable, "-c", "from levelsets.cli import main; main()", *loud, "--seeds", "0,1",
                           "--resume", "--address", address], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    record = json.loads((out / "sweep.json").read_text())
    cells = {c["cell"]: c for c in record["cells"]}
    assert cells["confident_house-exact-seed0"]["resumed"] and cells["confident_house-exact-seed1"]["status"] == "done"
    assert "resumed" not in cells["confident_house-exact-seed1"]
    assert (out / "confident_house-exact-seed0" / "summary.json").stat().st_mtime_ns == stamp  # not redone
    assert record["cluster"]["address"] == address and not record["cluster"]["started_here"]
    assert "1 of 2 cells already finished" in proc.stderr and "already finished" not in proc.stdout  # a note, on stderr
    assert f"Wrote {out / 'sweep.json'}" in proc.stdout  # the result, on stdout
