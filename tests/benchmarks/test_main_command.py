"""benchmarks/main_command.py: the README's timing table and its failure mode."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "main_command.py"


@pytest.fixture(scope="module")
def main_command():
    spec = importlib.util.spec_from_file_location("_bench_main_command", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(seconds, sampling=None, evaluations=301_000):
    return {"command": "x", "seconds": seconds, "load_before": 0.5, "load_after": 1.25,
            "sampling_seconds": sampling, "evaluations": evaluations}


def test_markdown_states_each_figure_against_its_goal(main_command):
    record = {"created": "2026-12-06T10:00:00+00:00", "seed": 0, "machine": {"cpus": 2, "platform": "Linux-x"},
              "runs": {"setup": _run(95.0), "fresh": _run(124.4, 37.0), "cached": _run(45.2, 36.0)}}
    text = main_command.markdown(record)
    assert "| `.venv` set up from scratch (pip, packages from local disk) | 95 s | — | 0.5 → 1.2 | |" in text
    assert "| empty model home (trains the CNN and the VAE first) | 124 s | 37 s | 0.5 → 1.2 | < 300 s with the set-up: 219 s |" in text
    assert "| models cached | 45 s | 36 s | 0.5 → 1.2 | < 60 s |" in text
    assert "Measured 2026-12-06 on 2 CPU cores (Linux-x), 301,000 classifier evaluations per run, seed 0." in text


def test_markdown_without_setup_leaves_the_total_open(main_command):
    record = {"created": "2026-12-06T10:00:00+00:00", "seed": 3, "machine": {"cpus": 2, "platform": "p"},
              "runs": {"fresh": _run(100.0, 30.0), "cached": _run(40.0, 30.0)}}
    text = main_command.markdown(record)
    assert "set up from scratch" not in text and "| < 300 s with the set-up |" in text and "seed 3" in text


def test_a_failing_command_stops_with_its_error(main_command, tmp_path):
    with pytest.raises(SystemExit, match="failed \\(3\\)"):
        main_command._timed([sys.executable, "-c", "import sys; sys.exit(3)"], {}, tmp_path)
