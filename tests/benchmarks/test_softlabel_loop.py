"""The statistics and table of benchmarks/softlabel_loop.py on hand-made per-seed results (no training)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "softlabel_loop.py"



def test_mean_ci_matches_hand_computed_t_interval(bench):
    stat = bench.mean_ci([1.0, 2.0, 3.0])  # mean 2, sd 1, t_{0.975, 2} = 4.302653
    assert stat["mean"] == pytest.approx(2.0)
    assert stat["ci95"] == pytest.approx(4.302653 / math.sqrt(3), rel=1e-5)
    assert math.isnan(bench.mean_ci([5.0])["ci95"])


def _rows(bench, hard_kl, last_kl, hard_acc, last_acc, rounds=2):
    base = {m: 0.2 for m, _ in bench.METRICS}
    rows = {key: dict(base) for key, _ in bench.method_order(rounds)}
    rows["hard"].update(kl=hard_kl, heldout_accuracy=hard_acc, calibration_rmse_expected=0.10, calibration_rmse_true_class=0.10)
    rows[f"loop_round_{rounds}"].update(kl=last_kl, heldout_accuracy=last_acc, calibration_rmse_expected=0.05,
                                        calibration_rmse_true_class=0.30 if last_acc < hard_acc else 0.05)
    return {"rows": rows}


def test_aggregate_paired_done_when_checks(bench):
    per_seed = [_rows(bench, 0.10, 0.05, 0.970, 0.975), _rows(bench, 0.20, 0.16, 0.970, 0.955)]
    agg = bench.aggregate(per_seed, rounds=2)
    dw = agg["done_when"]
    assert dw["kl_relative_reduction"]["mean"] == pytest.approx((0.5 + 0.2) / 2)
    assert dw["kl_reduction_at_least_30pct"] == {"mean": True, "every_seed": False}
    assert dw["heldout_accuracy_change_points"]["mean"] == pytest.approx((0.5 - 1.5) / 2)
    assert dw["accuracy_drop_at_most_1_point"] == {"mean": True, "every_seed": False}
    assert dw["calibration_lower"]["calibration_rmse_expected"] == {"mean": True, "every_seed": True}
    # true classes: -0.05 on seed 0, +0.20 on seed 1 -> mean +0.075, not lower
    assert dw["calibration_change"]["calibration_rmse_true_class"]["mean"] == pytest.approx(0.075)
    assert dw["calibration_lower"]["calibration_rmse_true_class"] == {"mean": False, "every_seed": False}
    assert dw["calibration_lower"]["calibration_rmse"] == {"mean": False, "every_seed": False}  # unchanged
    assert agg["table"]["hard"]["kl"]["mean"] == pytest.approx(0.15)
    assert set(agg["table"]) == {key for key, _ in bench.method_order(2)}


def test_markdown_has_every_method_row(bench):
    per_seed = [_rows(bench, 0.10, 0.05, 0.97, 0.97), _rows(bench, 0.12, 0.06, 0.97, 0.98)]
    result = {"settings": {**bench.QUICK, "rounds": 2}, "seeds": [0, 1], "aggregate": bench.aggregate(per_seed, rounds=2)}
    md = bench.markdown(result)
    for _, name in bench.method_order(2):
        assert f"| {name} |" in md
    assert "relative reduction: 50.0%" in md
    assert "0.1100 ± " in md  # hard-label KL: mean of 0.10 and 0.12


@pytest.mark.slow
def test_quick_run_writes_json_and_table(bench, tmp_path):
    record = bench.main(["--quick", "--out", str(tmp_path)])
    saved = json.loads((tmp_path / "softlabel_loop_quick.json").read_text())
    assert saved["seeds"] == [0, 1] and saved["settings"]["rounds"] == 1
    keys = {key for key, _ in bench.method_order(1, reference=True)}
    for seed in saved["per_seed"]:
        assert set(seed["rows"]) == keys
        for key, row in seed["rows"].items():
            assert set(row) == {m for m, _ in bench.METRICS}
            assert row["kl"] >= 0.0 and 0.0 <= row["heldout_accuracy"] <= 1.0, key
        assert seed["rows"]["bayes"]["kl"] == pytest.approx(0.0, abs=1e-12)
    assert set(record["aggregate"]["done_when"]) >= {"kl_relative_reduction", "heldout_accuracy_change_points"}
    md = (tmp_path / "softlabel_loop_quick.md").read_text()
    assert "| loop, truth labels, round 1 |" in md and (tmp_path / "softlabel_loop_quick.md.json").is_file()


def test_cells_read_back_from_json_treat_null_as_missing(bench):
    """Strict JSON stores NaN as null: re-rendering softlabel_loop.json must not fail on it."""
    assert bench._cell({"mean": None, "ci95": None}) == "—"
    assert bench._cell({"mean": 0.25, "ci95": None}) == "0.2500"
    assert bench._cell({"mean": 0.25, "ci95": float("nan")}) == "0.2500"
    assert bench._cell({"mean": 0.25, "ci95": 0.125}) == "0.2500 ± 0.1250"
