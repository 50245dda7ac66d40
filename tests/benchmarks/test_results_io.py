"""benchmarks/results_io.py: a script's record and table land side by side, the table is printed."""

from __future__ import annotations

import json

from results_io import save_results


def test_save_results_writes_json_and_table_and_prints(tmp_path, capsys):
    out = tmp_path / "new" / "folder"
    text = save_results(out, "bench", {"created": "2026-12-06", "value": 1.5}, "| a |\n|---|\n| 1 |\n")
    assert json.loads((out / "bench.json").read_text())["value"] == 1.5
    assert (out / "bench.md").read_text() == text == "| a |\n|---|\n| 1 |\n"
    assert "| 1 |" in capsys.readouterr().out
