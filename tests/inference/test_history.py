"""Per-step scalars kept on the device (``levelsets.inference.history``)."""

from __future__ import annotations

import pytest
import torch

from levelsets.inference.history import StepHistory


def test_mixed_floats_and_tensors_read_back_in_order():
    h = StepHistory("acceptance", "level")
    h.append(acceptance=torch.tensor(0.25), level=1)
    h.append(acceptance=0.5, level=torch.tensor(2.5, dtype=torch.float64))
    h.append(acceptance=torch.tensor([0.75]), level=3.0)  # a 1-element tensor counts as a scalar
    assert h.last("acceptance") == 0.75 and h.last("level") == 3.0
    assert h.to_dict() == {"acceptance": [0.25, 0.5, 0.75], "level": [1.0, 2.5, 3.0]}


def test_stored_tensors_are_detached():
    h = StepHistory("x")
    leaf = torch.tensor(1.0, requires_grad=True)
    h.append(x=leaf * 2)
    assert h.to_dict() == {"x": [2.0]}
    assert not h._series["x"][0].requires_grad


def test_every_series_must_be_given():
    h = StepHistory("a", "b")
    with pytest.raises(ValueError, match="expected values for"):
        h.append(a=1.0)
    assert StepHistory("a").to_dict() == {"a": []}
