"""One seed for Python, NumPy, torch and Pyro."""

from __future__ import annotations


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy, torch (all devices) and Pyro from one integer.

    Pyro draws from torch's generator, so seeding torch seeds Pyro (``pyro.set_rng_seed`` would make
    the same three calls, but without NumPy's modulo 2**32, and fail for larger seeds).
    """
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
