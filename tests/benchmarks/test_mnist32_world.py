"""benchmarks/mnist32_world.py: a mnist32 run re-scored against real digits and a long prior rejection; training timing.

The world's models are trained tiny (one epoch, a narrow ResNet) in the session's model home, as in
tests/worlds/test_mnist32.py (whichever runs first trains them; the other finds them cached).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from levelsets.errors import LevelsetsError

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "mnist32_world.py"


def test_a_run_is_rescored_against_real_digits_beside_a_long_rejection(bench, mnist32_run, tmp_path):
    out, summary = mnist32_run
    record = bench.main([str(out), "--rejection", "300", "--out", str(tmp_path / "m32.json")])
    row = record["runs"][0]
    rej = record["long_rejection"]
    assert rej["budget"] == 300 and 0 <= rej["kept"] <= 300 and rej["yield"] == rej["kept"] / 300
    assert rej["yield_se"] == pytest.approx((rej["kept"] * (1 - rej["yield"])) ** 0.5 / 300)
    assert row["summary"]["delta"] == pytest.approx(summary["delta"])
    assert row["band"]["mass"] == summary["band"]["mass"]
    assert row["quality_generator"]["families"] == summary["quality"]["families"]
    assert "real MNIST digits of class 1, 7" in row["quality_real"]["reference"]
    assert 1 <= row["quality_real"]["families"] <= 8
    assert json.loads((tmp_path / "m32.json").read_text())["runs"][0]["run"] == str(out)


def test_a_run_of_another_world_is_refused(bench, mnist32_run, tmp_path):
    out, summary = mnist32_run
    other = tmp_path / "run"
    shutil.copytree(out, other)
    (other / "summary.json").write_text(json.dumps({**summary, "world": "mnist"}))
    with pytest.raises(LevelsetsError, match="not mnist32"):
        bench.measure_run(other)


def test_train_timing_benchmark_compares_like_with_like(bench, tmp_path):
    record = bench.main(["--train-timing", "--n-train", "64", "--out", str(tmp_path / "t.json")])
    timing = record["train_timing"]
    assert set(timing["seconds_per_epoch"]) == {"classifier mnist", "classifier mnist-resnet", "vae mnist", "vae mnist32"}
    assert all(len(v) == 2 for v in timing["all_seconds"].values()) and timing["n_train"] == 64
    med = timing["seconds_per_epoch"]
    assert timing["ratio_vae"] == pytest.approx(med["vae mnist32"] / med["vae mnist"])
    assert "runs" in json.loads((tmp_path / "t.json").read_text())
