"""levelsets.workflows.sweep_table: one row per cell of sweep.json, as rows for rich or as sweep.md."""

from __future__ import annotations

from levelsets.workflows.sweep_table import COLUMNS, markdown_table, rows

RECORD = {
    "settings": {"sample_options": {"world": "shapes", "particles": 48}},
    "counts": {"done": 2, "failed": 1, "pending": 0},
    "cells": [
        {"cell": "ambiguous-exact-seed0", "target": "ambiguous", "prior": "exact", "seed": 0, "status": "done",
         "summary": {"delta": 0.0123, "within_tolerance": 0.875, "distinct": 40, "rhat_max": 1.0123,
                     "wall_seconds_total": 3.21}},
        {"cell": "graded_rocketvshouse-exact-seed1", "target": "graded:rocketvshouse", "prior": "exact", "seed": 1,
         "status": "done", "resumed": True,
         "summary": {"runs": [{"delta": 0.01, "within_tolerance": 1.0}, {"delta": 0.03, "within_tolerance": 0.5}]}},
        {"cell": "1vs7-exact-seed2", "target": "1vs7", "prior": "exact", "seed": 2, "status": "failed",
         "error": "unknown class '7' | see --help"},
    ],
}


def test_one_row_per_cell_with_a_strips_mean_and_dashes_for_what_is_missing():
    table = rows(RECORD)
    assert [len(row) for row in table] == [len(COLUMNS)] * 3
    assert table[0] == ["ambiguous-exact-seed0", "ambiguous", "exact", "0", "done", "1.23%", "87.5%", "40", "1.012",
                        "3.2", ""]
    strip = dict(zip(COLUMNS, table[1]))
    assert strip["status"] == "done (earlier run)" and strip["Δ"] == "2.00%" and strip["within tolerance"] == "75.0%"
    failed = dict(zip(COLUMNS, table[2]))
    assert failed["Δ"] == failed["distinct"] == failed["seconds"] == "—"
    assert failed["error"] == "unknown class '7' \\| see --help"  # a pipe would split the Markdown cell


def test_markdown_has_the_counts_the_shared_options_and_a_row_per_cell():
    md = markdown_table(RECORD)
    lines = md.splitlines()
    assert lines[0] == "# levelsets sweep · shapes · 3 cells: 2 done, 1 failed, 0 pending"
    assert "Options of every cell: particles=48." in md
    header = lines.index("| " + " | ".join(COLUMNS) + " |")
    assert lines[header + 1] == "|" + "---|" * len(COLUMNS)
    assert len(lines) == header + 2 + 3 and lines[-1].startswith("| 1vs7-exact-seed2 | 1vs7 | exact | 2 | failed |")
