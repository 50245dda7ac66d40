"""levelsets.workflows.loop_evaluation: the loop's held-out sets, one round's metrics and the round table."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from levelsets.workflows.loop_evaluation import (
    HELDOUT_SEED_OFFSET,
    evaluate_round,
    loop_eval_sets,
    markdown_table,
)


def test_markdown_table_rows_columns_and_formatting():
    table = [
        {"round": 0, "augmenting_runs": 0, "added_this_round": 0, "kl": 0.123456, "accuracy": 0.5, "n": 10},
        {"round": 1, "augmenting_runs": 3, "added_this_round": 30, "kl": 0.05, "accuracy": 0.75, "n": 10},
    ]
    md = markdown_table(table, metrics=("kl", "ce", "accuracy"))
    lines = md.splitlines()
    assert md.endswith("\n")
    assert lines[0] == "| round | augmenting_runs | kl | accuracy |"  # ce is absent from the rows: dropped
    assert lines[1] == "|---|---|---|---|"
    assert lines[2] == "| 0 | 0 | 0.1235 | 0.5000 |"
    assert lines[3] == "| 1 | 3 | 0.0500 | 0.7500 |"
    assert len(lines) == 4


def test_markdown_table_empty_table_has_only_header():
    assert markdown_table([]).splitlines() == ["| round | augmenting_runs |", "|---|---|"]


@pytest.fixture(scope="module")
def shapes_sets():
    return loop_eval_sets("shapes", eval_size=24, heldout_size=16, seed=5)


def test_shapes_sets_have_their_sizes_labels_and_seeds(shapes_sets):
    sets = shapes_sets
    assert tuple(sets.near_images.shape) == (24, 1, 64, 64) and sets.near_labels.shape == (24, 2)
    assert tuple(sets.heldout_images.shape) == (16, 1, 64, 64) and sets.heldout_classes.shape == (16,)
    assert sets.heldout_posteriors.shape == (16, 2) and sets.near_classes.shape == (24,)
    np.testing.assert_allclose(sets.near_labels.sum(axis=1), 1.0, atol=1e-6)
    assert sets.near_labels.max(axis=1).max() <= 0.9 + 1e-6  # near the boundary: max_c p(c | z) ≤ 0.9
    assert sets.description["heldout"]["seed"] == 5 + HELDOUT_SEED_OFFSET  # held apart from training seeds


def test_evaluate_round_reports_near_boundary_and_heldout_metrics(shapes_sets):
    torch.manual_seed(0)
    uniform = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64 * 64, 2))
    torch.nn.init.zeros_(uniform[1].weight)
    torch.nn.init.zeros_(uniform[1].bias)  # logits 0: predicts (0.5, 0.5) for every image
    metrics = evaluate_round(uniform, shapes_sets, device="cpu")
    assert {"kl", "ce", "accuracy", "heldout_accuracy", "heldout_calibration_rmse"} <= set(metrics)
    assert metrics["ce"] == pytest.approx(np.log(2), abs=1e-5)  # CE of (0.5, 0.5) against any label
    expected_kl = np.mean(np.sum(shapes_sets.near_labels * np.log(2 * np.clip(shapes_sets.near_labels, 1e-12, None)), axis=1))
    assert metrics["kl"] == pytest.approx(expected_kl, abs=1e-4)  # KL(exact posterior ‖ uniform)
    assert 0.0 <= metrics["heldout_accuracy"] <= 1.0 and metrics["heldout_calibration_rmse"] >= 0.0
