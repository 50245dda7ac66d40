"""The documentation's benchmark figures come from the results JSON (benchmarks/render_results.py).

Every results snippet a docs page includes is rendered from JSON, and the file on disk is what the
JSON renders to now (a retyped figure, or a writer changed without re-rendering, fails here); the
README, which cannot include files, holds verbatim copies of rendered tables.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "benchmarks" / "render_results.py"


def test_rendered_results_match_their_json(bench):
    assert bench.stale() == [], "run python benchmarks/render_results.py"


def test_every_results_snippet_in_the_docs_is_rendered_from_json(bench):
    included = set()
    for page in (ROOT / "docs").glob("*.md"):
        included |= set(re.findall(r'--8<-- "benchmarks/results/([^"]+)"', page.read_text()))
    assert {"sampler_throughput_summary.md", "shard_scaling_mnist.md", "elicitation_load.md"} <= included
    assert included <= set(bench.RENDERERS), included - set(bench.RENDERERS)
    for name in included:
        sources = bench.RENDERERS[name][0]
        assert sources and all((bench.RESULTS / s).is_file() for s in sources), name


def test_readme_tables_are_verbatim_copies_of_rendered_ones(bench):
    readme = (ROOT / "README.md").read_text()
    for name in ("level_set_quality_summary.md", "dirichlet_cause.md"):
        assert bench.render(name) in readme, f"README's copy of {name} differs from its JSON"


def test_throughput_summary_reads_its_figures_from_the_json(bench):
    record = json.loads((bench.RESULTS / "sampler_throughput_mnist.json").read_text())
    changed = copy.deepcopy(record)
    changed["ratios"].update(mh_over_forward_cpu=0.5, ess_over_nuts_cpu=12.3)
    changed["replicates"], changed["ablation"] = None, None
    row = bench.throughput_summary({"mnist": changed}).splitlines()[2]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[0] == "mnist, 1vs7" and cells[2] == "**0.50**" and cells[3] == "**12×**"
    assert cells[4] == "—" and cells[5] == "not run"
    original = bench.throughput_summary({"mnist": record}).splitlines()[2]
    assert original != row and f"**{record['ratios']['mh_over_forward_cpu']:.2f}**" in original


def test_level_set_summary_bolds_the_band_and_marks_missing_methods(bench):
    rec = {"created": "2026-01-02T00:00:00", "rows": [
        {"prior": "gan", "target": "8vs9", "tolerance": 0.05, "seeds": [0], "band_families": 3.25, "band_n": 100,
         "band_delta": 0.0125, "band_within_tolerance": 1.0, "band_intensity_ratio": 0.5, "rejection_families": None},
        {"prior": "vae", "target": "1vs7", "tolerance": 0.01, "seeds": [0], "band_families": 1.0}]}
    old = {"created": "2025-12-31T00:00:00", "rows": []}
    lines = bench.level_set_quality_summary(rec, old).splitlines()
    assert len(lines) == 3  # header, rule, the one ±0.05 row
    assert lines[2] == "| GAN 8vs9 | **3.2** of 100 · 1.25 % · 100 % · 50 % | — | — |"
