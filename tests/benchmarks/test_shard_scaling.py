"""benchmarks/shard_scaling.py: the docs table rendered from a record, and a tiny run of K = 1 against K = 2 shards.

That the stored table is rendered from the stored JSON is checked with every results table (test_render_results.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "shard_scaling.py"


def run(repeat: int, shards: int, speed: float, load: float) -> dict:
    row = {"repeat": repeat, "shards": shards, "particle_steps_per_second": speed,
           "load_before": [load, 1.0, 1.0], "load_after": [load + 0.5, 1.0, 1.0]}
    return row | ({"startup_seconds": 2.0 + repeat} if shards > 1 else {})


def test_markdown_has_one_column_per_repeat_and_the_ratios(bench):
    record = {"runs": [run(0, 1, 1000.0, 0.4), run(0, 2, 1900.0, 0.9), run(1, 1, 1100.0, 1.4), run(1, 2, 1650.0, 0.6)],
              "shards": 2, "world": "shapes", "target": "ambiguous", "relaxation": "band", "particles": 2000, "steps": 20,
              "ratio_per_repeat": [1.9, 1.5], "ratio_median": 1.7, "goal_ratio": 1.6, "cpu_count": 2,
              "cpu_efficiency_per_repeat": [0.97, 0.8], "provenance": {"created": "2026-01-02T03:04:05"}}
    lines = bench.markdown(record).splitlines()
    assert lines[0].startswith("Measured on 2026-01-02 (shapes world, target ambiguous, band, N = 2,000, 20 steps, "
                               "2 alternating repeats; 1-minute load average 0.4–1.9 around the measurements, on 2 CPUs)")
    assert lines[2:8] == ["| | repeat 0 | repeat 1 |", "|---|---|---|", "| K = 1, particle-steps/s | 1,000 | 1,100 |",
                          "| K = 2, particle-steps/s | 1,900 | 1,650 |", "| ratio K = 2 / K = 1 | **1.90** | **1.50** |",
                          "| ratio per CPU second | 0.97 | 0.80 |"]
    assert lines[-1].startswith("Median ratio **1.70×** (goal ≥ 1.6×); Ray's start-up (2.0–3.0 s")


def test_a_tiny_run_measures_both_and_writes_json_and_table(bench, tiny_shapes_classifier, tmp_path):
    import torch

    out, threads = tmp_path / "scaling.json", torch.get_num_threads()
    try:
        record = bench.main(["--world", "shapes", "--particles", "16", "--steps", "4", "--burn-in", "2", "--repeats", "1",
                             "--out", str(out)])
    finally:
        torch.set_num_threads(threads)  # the benchmark pins this process to one thread
    assert [(r["repeat"], r["shards"]) for r in record["runs"]] == [(0, 1), (0, 2)]
    single, sharded = record["runs"]
    assert single["evaluations"] == sharded["evaluations"] == 16 * 5  # N per step plus the initial pass, both ways
    for r in record["runs"]:
        assert r["particle_steps_per_second"] == pytest.approx(16 * 4 / r["seconds"])
    assert record["ratio_per_repeat"] == [pytest.approx(sharded["particle_steps_per_second"]
                                                        / single["particle_steps_per_second"])]
    assert json.loads(out.read_text())["ratio_median"] == record["ratio_median"]
    assert out.with_suffix(".md").read_text() == bench.markdown(record)
    assert out.with_suffix(".md.json").exists()
