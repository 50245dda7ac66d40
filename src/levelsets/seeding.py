"""One seed for Python, NumPy, torch and Pyro."""

from __future__ import annotations


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy, torch (all devices) and Pyro from one integer."""
    import random

    import numpy as np
    import pyro
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    pyro.set_rng_seed(seed)
