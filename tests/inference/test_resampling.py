"""Unit tests of resampling (``levelsets.inference.resampling``): systematic and multinomial."""

from __future__ import annotations

import pytest
import torch

from levelsets.errors import LevelsetsError
from levelsets.inference import resampling


def test_systematic_resampling_equal_weights_distinct_and_unbiased_counts():
    g = torch.Generator().manual_seed(0)
    idx = resampling.systematic(torch.ones(100, dtype=torch.float64), 40, g)
    assert idx.shape == (40,) and len(set(idx.tolist())) == 40
    w = torch.tensor([0.5, 0.25, 0.125, 0.125], dtype=torch.float64)
    counts = torch.bincount(resampling.systematic(w, 8, g), minlength=4)
    assert counts.tolist() == [4, 2, 1, 1]  # systematic: counts within 1 of n*W (exact here)
    reps = torch.stack([torch.bincount(resampling.multinomial(w, 8, g), minlength=4) for _ in range(4000)]).double()
    se = torch.sqrt(8 * w * (1 - w) / 4000)
    assert ((reps.mean(0) - 8 * w).abs() < 4 * se).all()
    with pytest.raises(LevelsetsError):
        resampling.resample(w, 4, g, "residual-ish")
