"""Smoke run of benchmarks/sampler_throughput.py --quick (the synthetic world, tiny sizes)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "sampler_throughput.py"


@pytest.mark.slow
def test_quick_benchmark_writes_json(tmp_path):
    spec = importlib.util.spec_from_file_location("sampler_throughput", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
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
def test_quick_benchmark_replicates_and_resume(tmp_path):
    spec = importlib.util.spec_from_file_location("sampler_throughput", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
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
