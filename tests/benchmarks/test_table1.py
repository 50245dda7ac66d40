"""benchmarks/table1.py --quick: all six cells, finite numbers, the paper column, the figure.

The quick mode trains tiny models (1 epoch; a 500-digit classifier) into
``<session LEVELSETS_HOME>/table1-quick`` when they are missing, so this never touches the real model
home and never shadows the session's other cached models. One torch thread: two threads on a
shared two-core machine are many times slower.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "table1.py"
CELLS = {(p, t) for p in ("vae", "gan") for t in ("ambiguous", "1vs7", "8vs9")}
NUMBERS = ("delta", "acceptance_rate", "rhat_max", "ess_bulk_min", "within_tolerance", "latent_spread", "wall_seconds")



def test_goals_follow_the_paper_and_the_stricter_vae_targets(bench):
    assert bench.goal_delta("vae", "ambiguous") == pytest.approx(0.0183)
    assert bench.goal_delta("vae", "1vs7") == pytest.approx(0.031)
    assert bench.goal_delta("vae", "8vs9") == pytest.approx(0.038)
    assert bench.goal_delta("gan", "8vs9") == pytest.approx(0.0531)
    cell = {"prior": "vae", "target": "1vs7", "delta": 0.03, "distinct": 90, "samples": 100, "target_classes_share": 0.95}
    assert bench.check_cell(cell)["all"]
    assert not bench.check_cell({**cell, "distinct": 89})["distinct"]
    assert not bench.check_cell({**cell, "target_classes_share": 0.9})["all"]
    assert bench.check_cell({**cell, "target": "ambiguous", "delta": 0.018, "target_classes_share": None})["all"]
    assert not bench.check_cell({**cell, "delta": float("nan")})["delta"]


def test_latent_spread_is_one_for_prior_draws_and_small_for_near_copies(bench):
    import numpy as np

    rng = np.random.default_rng(0)
    assert bench.latent_spread(rng.standard_normal((3000, 5))) == pytest.approx(1.0, abs=0.02)
    assert bench.latent_spread(0.01 * rng.standard_normal((100, 5)) + 2.0) < 0.02


@pytest.mark.slow
def test_quick_run_writes_six_cells_with_the_paper_column(tmp_path, _isolated_model_home):
    env = {**os.environ, "LEVELSETS_HOME": str(_isolated_model_home), "MPLBACKEND": "Agg"}
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--threads", "1", "--out", str(tmp_path)],
        env=env, capture_output=True, text=True, timeout=900,  # a safeguard, not a speed claim: trains quick models, starts Ray
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (_isolated_model_home / "table1-quick" / "gan" / "mnist" / "model.pt").is_file()

    record = json.loads((tmp_path / "table1_quick.json").read_text())
    assert record["quick"] and not record["default_settings"] and record["seed"] == 0
    assert {"versions", "machine", "data", "settings"} <= set(record)
    assert {(c["prior"], c["target"]) for c in record["cells"]} == CELLS
    for c in record["cells"]:
        for key in NUMBERS:
            assert isinstance(c[key], (int, float)) and math.isfinite(c[key]), (c["prior"], c["target"], key)
        assert 1 <= c["distinct"] <= c["samples"] == record["settings"]["samples"]
        assert c["paper_delta"] > 0 and set(c["meets"]) == {"delta", "distinct", "target_classes_share", "all"}
        share = c["target_classes_share"]
        assert (share is None) if c["target"] == "ambiguous" else (0.0 <= share <= 1.0)
        run_dir = tmp_path / "table1_quick_sweep" / f"{c['target']}-{c['prior']}-seed0"  # a sweep cell
        assert Path(c["run_dir"]) == run_dir and (run_dir / "grid.png").is_file()
    sweep = json.loads((tmp_path / "table1_quick_sweep" / "sweep.json").read_text())
    assert sweep["complete"] and sweep["counts"]["done"] == 6 and sweep["settings"]["cell_threads"] == 1
    assert (tmp_path / "table1_quick_tsne.png").stat().st_size > 10_000

    md = (tmp_path / "table1_quick.md").read_text()
    assert "| Δ (paper) |" in md and "| meets goal |" in md
    for paper in ("1.83%", "6.22%", "7.66%", "5.93%", "7.92%", "5.31%"):
        assert f"| {paper} |" in md
    rows = [line for line in md.splitlines() if line.startswith(("| VAE |", "| GAN |"))]
    assert len(rows) == 6
    assert md in proc.stdout  # the table is printed
    assert proc.stderr.count("[6/6]") == 2  # progress lines per cell (start + result)
