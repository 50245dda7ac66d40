"""benchmarks/gpu_check.py: the CPU tiny run writes the JSON the GPU run will write; budget and goal logic."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_check.py"


def _positive(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


@pytest.mark.slow
def test_tiny_cpu_run_writes_every_field(bench, tmp_path):
    record = bench.main(["--tiny", "--device", "cpu", "--out", str(tmp_path)])
    saved = json.loads((tmp_path / "gpu_check_tiny_cpu.json").read_text())
    assert saved["machine"]["device"] == "cpu" and saved["machine"]["device_name"].startswith("CPU")
    assert saved["machine"]["torch"] == torch.__version__ and saved["machine"]["date"].startswith("20")
    assert saved["settings"]["tiny"] is True and saved["settings"]["particles"] == [32, 64]
    mnist = saved["worlds"]["mnist"]
    assert mnist["latent_dim"] == 5 and mnist["target"] == "1vs7" and "MNIST" in mnist["data"]
    assert [r["particles"] for r in mnist["rows"]] == [32, 64]
    for row in mnist["rows"]:
        assert "error" not in row, row
        for key in ("forward_images_per_second", "mh_particle_steps_per_second", "mh_over_forward", "forward_calls_per_particle_step"):
            assert _positive(row[key]), (key, row[key])
        assert row["mh_over_forward"] == pytest.approx(row["mh_particle_steps_per_second"] / row["forward_images_per_second"])
    # mnist32 is measured when registered and cached, else skipped with the reason
    other = saved["worlds"]["mnist32"]
    assert ("skipped" in other and "mnist32" in other["skipped"]) or all(_positive(r["mh_over_forward"]) for r in other["rows"])
    train = saved["training"]
    assert train["amp"] is False and train["device"] == "cpu" and train["examples"] == 128
    assert _positive(train["images_per_second"]) and math.isfinite(train["train_loss"])
    base = train["float32_baseline"]
    assert base["amp"] is False and base["examples"] == 128 and _positive(base["images_per_second"])
    assert train["amp_speedup"] == pytest.approx(train["images_per_second"] / base["images_per_second"])
    assert "CUDA-only" in train["note"]
    assert train["cuda_checks"] == {"passed": None, "reason": "needs a CUDA device (this run: cpu)"}
    assert saved["notebooks"] == [] and saved["skipped"] == []
    assert saved["goal"]["mnist"] == "not judged: no GPU in this run"
    assert (tmp_path / "gpu_check_tiny_cpu.json.json").is_file()
    assert record["worlds"]["mnist"]["rows"][0]["particles"] == 32


def test_a_spent_budget_skips_every_stage_and_still_writes_the_json(bench, tmp_path):
    bench.main(["--tiny", "--device", "cpu", "--budget-seconds", "0", "--worlds", "mnist", "--out", str(tmp_path)])
    saved = json.loads((tmp_path / "gpu_check_tiny_cpu.json").read_text())
    assert saved["skipped"] == ["world mnist: past the 0 s budget", "training epoch: past the 0 s budget"]
    assert saved["worlds"] == {} and saved["training"] is None
    assert saved["goal"]["goal_mh_over_forward"] == 0.9


def test_an_unregistered_world_is_skipped_with_its_reason(bench, tmp_path):
    world, reason = bench.world_or_reason("no-such-world", torch.device("cpu"), tiny=True, seed=0)
    assert world is None and "not registered" in reason and "no-such-world" in reason


def test_goal_is_judged_only_on_a_gpu_at_n_1e5(bench):
    worlds = {
        "a": {"rows": [{"particles": 100_000, "mh_over_forward": 0.95}]},
        "b": {"rows": [{"particles": 100_000, "mh_over_forward": 0.5}]},
        "c": {"rows": [{"particles": 1_000, "mh_over_forward": 2.0}, {"particles": 100_000, "error": "OutOfMemoryError: ..."}]},
        "d": {"skipped": "not registered"},
    }
    gpu = bench.goal_check(worlds, torch.device("cuda"))
    assert gpu["a"] is True and gpu["b"] is False
    assert gpu["c"] == gpu["d"] == "not judged: no N = 100,000 row"
    cpu = bench.goal_check(worlds, torch.device("cpu"))
    assert all(cpu[k] == "not judged: no GPU in this run" for k in "abcd")


def test_notebooks_run_in_quick_mode_and_failures_are_recorded(bench, tmp_path):
    import nbformat

    good, bad = tmp_path / "good.ipynb", tmp_path / "bad.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        'import os\nassert os.environ["LEVELSETS_NOTEBOOK_QUICK"] == "1"\nopen("ran.txt", "w").write(os.getcwd())')])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, good)
    nb.cells = [nbformat.v4.new_code_cell("raise ValueError('boom')")]
    nbformat.write(nb, bad)
    ok = bench.run_notebook(good, timeout=120)
    assert ok["notebook"] == "good.ipynb" and ok["ok"] is True and _positive(ok["seconds"])
    assert not (tmp_path / "ran.txt").exists()  # it ran in a temporary directory, not beside the notebook
    failed = bench.run_notebook(bad, timeout=120)
    assert failed["ok"] is False and "boom" in failed["error"] and "\n" not in failed["error"]


def test_a_notebook_past_the_budget_is_stopped(bench, tmp_path):
    import nbformat

    slow = tmp_path / "slow.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import time\ntime.sleep(60)")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, slow)
    out = bench.run_notebook(slow, timeout=3)
    assert out["ok"] is False and "did not finish within 3 s" in out["error"] and out["seconds"] < 30
