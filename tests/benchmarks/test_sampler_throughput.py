"""benchmarks/sampler_throughput.py and its package benchmarks/throughput/: smoke runs (--quick,
the synthetic world, tiny sizes), the resume checkpoint, check (d)'s assembly, the CLI's refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "sampler_throughput.py"


@pytest.mark.slow
def test_quick_benchmark_writes_json(bench, tmp_path):
    module = bench
    record = module.main(["--quick", "--world", "synthetic", "--out", str(tmp_path), "--device", "cpu"])
    saved = json.loads((tmp_path / "sampler_throughput_synthetic_quick.json").read_text())
    assert [r["particles"] for r in saved["rows"]] == [20, 50]
    for row in saved["rows"]:
        assert row["forward_images_per_second"] > 0
        assert row["mh"]["particle_steps_per_second"] > 0
        assert row["mh"]["forward_evaluations"] == row["particles"] * (12 + 1)
        assert row["peak_rss_mib"] > 0
    assert saved["nuts"]["samples"] == 8 and saved["nuts"]["ess_per_second"] > 0
    assert saved["machine"]["cpus"] >= 1
    assert record["ratios"]["reference_particles"] == 50


@pytest.mark.slow
def test_quick_benchmark_replicates_and_resume(bench, tmp_path):
    module = bench
    args = ["--quick", "--world", "synthetic", "--out", str(tmp_path), "--device", "cpu", "--replicates", "3", "--ablation",
            "--resume"]
    # a finished stage saved by an earlier (killed) run with the same settings is reused, not re-measured
    first = module.main(args[:-4] + ["--resume"])  # no replicates, no ablation: not part of the fingerprint
    partial = tmp_path / "sampler_throughput_synthetic_quick.partial.json"
    assert not partial.exists()  # removed when the run completes
    fingerprint = json.loads(json.dumps(first["settings"]))
    stages = {"row 20": {**first["rows"][0], "forward_images_per_second": 12345.0}}
    saved = {k: v for k, v in fingerprint.items() if k not in module.NOT_IN_FINGERPRINT}
    partial.write_text(json.dumps({"fingerprint": saved, "stages": stages}))
    second = module.main(args)
    assert second["rows"][0]["forward_images_per_second"] == 12345.0
    assert second["rows"][1]["forward_images_per_second"] != 12345.0
    rep = second["replicates"]
    assert rep["mh"]["runs"] == 3 and rep["nuts"]["runs"] == 3
    assert rep["mh"]["ess_per_run"] > 0 and rep["nuts"]["ess_per_run"] > 0
    assert second["rows"][1]["mh"]["burn_in_ancestors"] >= 1
    # the ablation: the same seeds without independence sweeps, recorded as such
    abl = second["ablation"]
    assert abl["run"]["overrides"] == {"independence_every": 0} and abl["replicates"]["runs"] == 3
    assert abl["run"]["seed"] == second["rows"][1]["mh"]["seed"]
    md = (tmp_path / "sampler_throughput_synthetic_quick.md").read_text()
    assert "| N |" in md and "empirical ESS" in md and "Ablation" in md


def test_checkpoint_reuses_saved_stages_only_with_the_same_fingerprint(bench, tmp_path):
    path = tmp_path / "run.partial.json"
    calls = []

    def stage(value):
        calls.append(value)
        return {"value": np.float64(value)}  # saved JSON-ready

    first = bench.Checkpoint(path, {"steps": 12}, resume=True)
    assert first.run("row 20", lambda: stage(1.0)) == {"value": 1.0}
    assert json.loads(path.read_text()) == {"fingerprint": {"steps": 12}, "stages": {"row 20": {"value": 1.0}}}
    same = bench.Checkpoint(path, {"steps": 12}, resume=True)
    assert same.run("row 20", lambda: stage(2.0)) == {"value": 1.0} and calls == [1.0]
    other = bench.Checkpoint(path, {"steps": 13}, resume=True)  # other settings: measured again
    assert other.run("row 20", lambda: stage(3.0)) == {"value": 3.0}
    fresh = bench.Checkpoint(path, {"steps": 13}, resume=False)  # no --resume: measured again
    assert fresh.run("row 20", lambda: stage(4.0)) == {"value": 4.0} and calls == [1.0, 3.0, 4.0]
    fresh.finish()
    assert not path.exists()


def test_check_d_assembles_the_diagnostics_estimators(bench):
    from throughput.replicates import against_exact, empirical_ess

    from levelsets.inference.diagnostics import cross_seed_ess, exact_mean_ess

    means = [[0.1, 1.0], [-0.2, 1.5], [0.4, 0.5]]
    runs = [{"trace_mean": m, "trace_var": [1.0, 2.0], "seed": i, "wall_seconds": 2.0, "cpu_seconds": 4.0,
             "ess_bulk_min": 50.0 + i} for i, m in enumerate(means)]
    summary = empirical_ess(runs)
    per_dim = cross_seed_ess(means, [[1.0, 2.0]] * 3)
    assert summary["runs"] == 3 and summary["seeds"] == [0, 1, 2]
    assert summary["ess_per_run"] == per_dim.min() and summary["ess_per_cpu_second"] == per_dim.min() / 4.0
    assert summary["arviz_ess_bulk_min_per_run"] == [50.0, 51.0, 52.0]
    against_exact(summary, {"mean": [0.0, 1.0], "variance": [1.0, 2.0]})
    np.testing.assert_allclose(summary["bias_of_grand_mean"], [0.1, 0.0], atol=1e-12)
    assert summary["ess_exact_per_run"] == exact_mean_ess(means, [0.0, 1.0], [1.0, 2.0]).min()


def test_fewer_than_three_replicates_are_refused_before_anything_runs(bench, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        bench.main(["--quick", "--replicates", "2", "--device", "cpu", "--out", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "--replicates needs at least 3 seeds" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
