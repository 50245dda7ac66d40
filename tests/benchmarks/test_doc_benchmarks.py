"""The small benchmark scripts behind docs tables: their writers read the figures from the records they are given."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"{name}_benchmark", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shapes_table_bolds_only_goals_met_and_marks_a_rejection_that_kept_nothing():
    shapes = load("shapes_level_sets")
    base = {"alpha": 300.0, "seed": 0, "particles": 1000, "steps": 300, "mean_house": 0.5, "exact_house": 0.43,
            "delta": 0.026, "wall_seconds": 1.0}
    rows = [
        {**base, "target": "ambiguous", "mean_confidence": 0.541, "goal": [0.47, 0.53], "meets_goal": False,
         "compare_prior": {"±0.01": {"mh": 0.018, "prior": 0.0, "ratio": None, "prior_accepted": 0,
                                     "prior_evaluations": 301000}}},
        {**base, "target": "confident:house", "mean_confidence": 0.998, "goal": [0.95, 1.0], "meets_goal": True,
         "compare_prior": None},
    ]
    text = shapes.markdown({"rows": rows, "provenance": {"created": "2026-01-02T00:00:00"}})
    assert "| 0.541 (goal 0.47–0.53) |" in text and "| **0.998** (goal ≥ 0.95) |" in text
    assert "| `ambiguous` | ±0.01 | 0.0180 | 0.0000 | — | 0.0% |" in text


def test_model_cards_table_reads_each_card():
    cards = load("model_cards")
    classifier = cards.card_row("classifier", "shapes", {
        "arch": "ShapesCNN", "heldout_accuracy": 0.9808, "bayes_accuracy": 0.9804, "n_train": 16000, "n_heldout": 4000,
        "train_seconds": 48.2, "settings": {"epochs": 4, "augment": "none"}, "machine": {"torch_threads": 2}})
    vae = cards.card_row("vae", "mnist", {
        "config": {"latent_dim": 5}, "epochs": 40, "num_train_images": 4000, "train_seconds": 40.7, "torch_threads": 2,
        "heldout_losses": {"loss": 124.4, "recon": 113.2, "kl": 11.2}, "final_losses": {"loss": 118.8}})
    vae["class_shares"] = [0.066] + [0.1] * 8 + [0.138]
    text = cards.markdown({"rows": [{"world": "shapes", **classifier}, {"world": "mnist", **vae}],
                           "model_home": "~/.cache/levelsets", "provenance": {"created": "2026-01-02T00:00:00"}})
    lines = text.splitlines()
    assert lines[2] == ("| shapes | classifier `shapes` (ShapesCNN) | 16,000 images, 4 epochs | **98.08%** held-out accuracy "
                        "(4,000 images); Bayes-optimal 98.04% | 48 s (2 threads) |")
    assert "held-out −ELBO 124.4 nats (reconstruction 113.2 + KL 11.2; train 118.8)" in lines[3]
    assert "each digit 6.6%–13.8% of 10,000 draws" in lines[3] and lines[3].startswith("| mnist | VAE `mnist` (5-d latent)")


@pytest.mark.parametrize("modes, expected", [(1, 0.778), (2, 0.978)])
def test_mala_projection_exact_abs_u_is_the_quadrature_the_docs_table_quotes(modes, expected):
    assert load("mala_projection").exact_abs_u(modes) == pytest.approx(expected, abs=5e-4)
