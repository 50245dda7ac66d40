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
