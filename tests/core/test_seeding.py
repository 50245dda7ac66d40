"""One seed for Python, NumPy, torch and Pyro (``levelsets.seeding``)."""

from __future__ import annotations

import random

import numpy as np
import pyro.distributions as dist
import torch

from levelsets.seeding import seed_everything


def draws() -> tuple:
    return (random.random(), float(np.random.rand()), float(torch.rand(())), float(dist.Normal(0.0, 1.0).sample()))


def test_same_seed_same_draws_in_every_library():
    seed_everything(123)
    first = draws()
    seed_everything(123)
    assert draws() == first
    seed_everything(124)
    other = draws()
    assert all(a != b for a, b in zip(first, other, strict=True))  # each library was reseeded


def test_seeds_beyond_numpys_range_are_accepted():
    seed_everything(2**40 + 5)  # NumPy takes the seed modulo 2**32
    first = draws()
    seed_everything(2**40 + 5)
    assert draws() == first
