"""benchmarks/readme_grids.py: the README's caption table is read from each run's summary.json, not typed."""

from __future__ import annotations

from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "readme_grids.py"


def summary(prior: str, relaxation: str, families: int, mass: float | None) -> dict:
    """A ``summary.json`` as ``levelsets sample`` writes it (the keys the script reads)."""
    return {
        "prior": prior, "relaxation": relaxation, "target": {"spec": "1vs7"}, "seed": 0, "particles": 1000, "steps": 300,
        "delta": 0.0131, "within_tolerance": 1.0 if relaxation == "band" else 0.52, "tolerance": 0.05,
        "target_classes_share": 1.0, "burn_in_ancestors": 73, "acceptance_rate": 0.04, "rhat_max": 2.4,
        "ess_bulk_min": 512.0, "wall_seconds": 36.0,
        "quality": {"n": 100, "families": families, "effective_families": families - 4.75, "largest_family_share": 0.08,
                    "intensity_ratio": 0.76, "reference": "1,000 real MNIST digits of class 1, 7", "reference_families": 85,
                    "reference_subset": 100, "near_copy_share": 0.04 if relaxation == "band" else 0.88,
                    "reference_near_copy_share": 0.02},
        **({"band": {"mass": mass, "mass_se": mass / 5}} if mass else {}),
    }


def test_figures_come_from_the_summary(bench):
    row = bench.figures(summary("gan", "band", 43, 5.8e-4))
    assert row["near_copy_share"] == 0.04 and row["reference_near_copy_share"] == 0.02
    assert row["families"] == 43 and row["effective_families"] == 38.25 and row["band_mass"] == 5.8e-4
    assert bench.figures(summary("gan", "dirichlet", 16, None))["band_mass"] is None


def test_mass_text_keeps_the_error_in_the_mass_power_of_ten(bench):
    assert bench.mass_text(3.3e-4, 0.6e-4) == "3.3e-4 ± 0.6e-4"
    assert bench.mass_text(5.8e-4, 1.5e-4) == "5.8e-4 ± 1.5e-4"
    assert bench.mass_text(9.96e-4, 1e-4) == "1.0e-3 ± 0.1e-3"  # rounding up moves the power of ten
    assert bench.mass_text(None, None) == "—"
    assert bench.one_in(3.3e-4) == "3,000" and bench.one_in(5.8e-4) == "1,700"


def test_markdown_renders_each_run_and_the_band_masses(bench):
    rows = [bench.figures(summary(p, r, f, m)) for p, r, f, m in
            (("vae", "band", 34, 3.3e-4), ("vae", "dirichlet", 7, None), ("gan", "band", 43, 5.8e-4),
             ("gan", "dirichlet", 16, None))]
    text = bench.markdown({"rows": rows, "provenance": {"created": "2026-01-02T03:04:05+00:00"}})
    lines = text.splitlines()
    assert lines[2] == "| defaults (VAE, band) | **34 of 100** (29.2; 8 of 100) | 4% | 76% | 1.31% | 100% | 3.3e-4 ± 0.7e-4 |"
    assert lines[3] == "| `--relaxation dirichlet` | 7 of 100 (2.2; 8 of 100) | 88% | 76% | 1.31% | 52% | — |"
    assert lines[5].startswith("| `--prior gan --relaxation dirichlet` | 16 of 100 ")
    prose = " ".join(lines[7:])
    assert "100 real 1s and 7s form 85 visual families, 2% of them near copies" in prose
    assert "one in 3,000 for the VAE and one in 1,700 for the GAN" in prose and "Run of 2026-01-02" in prose
    assert all(len(line) <= 100 for line in lines[7:])
