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
    assert {"sampler_throughput_summary.md", "shard_scaling_mnist.md", "elicitation_load.md", "mnist32_world.md",
            "mala_projection.md", "model_cards.md", "independence_sweeps.md", "shapes_level_sets.md",
            "results_provenance.md"} <= included
    assert included <= set(bench.RENDERERS), included - set(bench.RENDERERS)
    for name in included:
        sources = bench.RENDERERS[name][0]
        assert sources and all((bench.RESULTS / s).is_file() for s in sources), name


def test_readme_tables_are_verbatim_copies_of_rendered_ones(bench):
    readme = (ROOT / "README.md").read_text()
    for name in ("level_set_quality_summary.md", "level_set_quality_findings.md", "dirichlet_cause.md", "readme_grids.md",
                 "mnist32_readme.md", "main_command.md",
                 "level_set_quality_near_copies.md"):
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


def test_mnist32_figures_are_computed_from_the_runs(bench):
    head = {"runs": [{"summary": {"delta": 0.012, "within_tolerance": 1.0, "target_classes_share": 1.0, "created":
                                  "2026-01-01T08:00:00", "wall_seconds": 200.0, "burn_in_ancestors": 99, "distinct": 100,
                                  "acceptance_rate": 0.3, "rhat_max": 12.8, "ess_bulk_min": 1676.0},
                      "band": {"mass": 4.0e-4, "mass_se": 0.3e-4, "log_mass": -7.8, "log_mass_se": 0.1, "levels": 12,
                               "islands": 20},
                      "quality_real": {"families": 68, "effective_families": 61.0, "largest_family_share": 0.05,
                                       "intensity_ratio": 0.87, "reference": "real 1s and 7s"}}]}
    first = {"runs": [{"summary": {"created": "2025-12-31T07:00:00"}, "rejection": {"kept": 100, "evaluations": 400_000}}],
             "long_rejection": {"budget": 1_000_000, "kept": 360, "yield": 3.6e-4, "yield_se": 0.4e-4}}
    grids = {"provenance": {"created": "2026-01-02T00:00:00"}, "rows": [
        {"prior": "vae", "relaxation": "band", "delta": 0.013, "within_tolerance": 1.0, "target_classes_share": 1.0,
         "band_mass": 3.3e-4, "band_mass_se": 0.6e-4, "families": 34, "effective_families": 29.2,
         "largest_family_share": 0.06, "intensity_ratio": 0.76, "burn_in_ancestors": 73, "acceptance_rate": 0.04,
         "rhat_max": 2.4, "ess_bulk_min": 500.0}]}
    table = bench.mnist32_table(head, first, grids)
    # band vs long rejection: (4.0 - 3.6)e-4 / hypot(0.3, 0.4)e-4 = +0.8 SE; the short run's yield 100 / 400,000
    # = 2.5e-4 ± 0.25e-4 (binomial), band +3.8 SE, and the two rejection runs (3.6 - 2.5) / hypot(0.4, 0.25) = +2.3 SE
    assert "yield **3.6e-4 ± 0.4e-4** (band +0.8 SE)" in table
    assert "100 kept: yield 2.5e-4 ± 0.2e-4 (band +3.8 SE; the two rejection runs +2.3 SE apart)" in table
    assert "| **68** · 61.0 · 5% | 34 · 29.2 · 6% |" in table
    sentence = bench.mnist32_readme(head, first, grids)
    assert "band mass 4.0e-4 ± 0.3e-4" in sentence and "(the 5-d VAE: 34)" in sentence


def test_results_provenance_lists_every_measured_json_with_its_date(bench):
    sources, render = bench.RENDERERS["results_provenance.md"]
    measured = {s for name, (srcs, _) in bench.RENDERERS.items() if name != "results_provenance.md" for s in srcs}
    assert set(sources) == measured
    text = render()
    for source in measured:
        record = json.loads((bench.RESULTS / source).read_text())
        assert bench.created(record), source
        assert f"| `{source}` | {bench.created(record)[:10]} |" in text, source


def test_near_copies_paragraph_lists_pick_means_and_the_longer_run(bench):
    def record(steps, band, rejection):
        row = {"prior": "gan", "target": "1vs7", "tolerance": 0.05, "band_near_copy_share_mean": band,
               "rejection_near_copy_share_mean": rejection}
        return {"created": "2026-01-02T00:00:00", "seed": [0, 1, 2], "settings": {"steps": steps}, "rows": [row],
                "cells": [{"band": {"reference_near_copy_share": 0.02}}]}

    text = bench.near_copies_findings(record(300, 0.35, 0.29), record(600, 0.30, 0.29))
    assert "GAN 1vs7 35% vs 29%" in text and "at most 6 points above" in text
    assert "`--steps 600`" in text and "GAN 1vs7 30% vs 29%, at most 1 point." in text and "2%–2%" in text
    assert "--steps" not in bench.near_copies_findings(record(300, 0.35, 0.29))


def test_findings_add_the_importance_sampling_check_to_each_thin_band(bench):
    record = json.loads((bench.RESULTS / "level_set_quality.json").read_text())
    rare = json.loads((bench.RESULTS / "level_set_quality_rare.json").read_text())
    thin = [r for r in record["rows"] if r["tolerance"] < 0.05]

    def rows(masses):
        return [{"prior": r["prior"], "target": r["target"], "tolerance": r["tolerance"], "z": z,
                 "importance": {"draws": 100_000, "mass": m, "mass_se": 1e-9}} for r in thin for z, m in zip((0.5, -2.5), masses)]

    def pools(mass, z):
        return [{"prior": r["prior"], "tolerance": r["tolerance"], "seeds": [0, 1], "band_mean": 3e-8, "band_mean_se": 1e-8,
                 "importance": {"mass": mass, "mass_se": 2e-9}, "z": z} for r in thin]

    text = bench.level_set_quality_findings(record, rare, {"rows": rows((2.0e-8, 2.2e-8))})
    assert text.count("reads 2e-08–2e-08 from one run's particles, within two combined standard errors of the band's "
                      "estimate in 1 of 2 runs (largest gap -2.5).") == len(thin) > 0
    assert "100,000 evaluations each" in text
    # pooled proposal reads higher than every one-run proposal: a lower bound, said so
    text = bench.level_set_quality_findings(record, rare, {"rows": rows((1.0e-8, 1.2e-8)), "pooled": pools(2e-8, 0.98)})
    assert text.count("2e-08 ± 2e-09 from all 2 runs' particles together: each run's particles miss parts") == len(thin)
    assert "the band's mean over the runs, 3e-08 ± 1e-08, is +1.0 standard errors from it (within two)" in text
    text = bench.level_set_quality_findings(record, rare, {"rows": rows((1.9e-8, 2.2e-8)), "pooled": pools(2.1e-8, 2.5)})
    assert "miss parts" not in text and "is +2.5 standard errors from it (not within two)" in text
    assert "importance sampling" not in bench.level_set_quality_findings(record, rare)
