"""The random-walk kernel runs under pyro.infer.MCMC and samples the exact posterior."""

from __future__ import annotations

import warnings

import numpy as np
import torch
from pyro.infer import MCMC
from scipy import stats

from levelsets.inference.pyro_kernel import LevelSetRWKernel

Dist = torch.distributions


def test_pyro_mcmc_runs_kernel_and_matches_quadrature():
    prior = Dist.Independent(Dist.Normal(torch.zeros(1, dtype=torch.float64), torch.ones(1, dtype=torch.float64)), 1)

    def clf(x):
        p1 = torch.sigmoid(3.0 * x[:, 0])
        return torch.stack([1 - p1, p1], 1)

    target = np.array([0.8, 0.2])
    kernel = LevelSetRWKernel(prior, lambda z: z, clf, target, alpha=20.0, num_particles=400, seed=0)
    mcmc = MCMC(kernel, num_samples=60, warmup_steps=60, disable_progbar=True)
    mcmc.run()
    z = mcmc.get_samples()["z"]
    assert z.shape == (60, 400, 1)
    assert 0.1 < mcmc.diagnostics()["acceptance rate"]["chain 0"] < 0.7

    grid = np.linspace(-8, 8, 40001)
    p1 = 1 / (1 + np.exp(-3 * grid))
    lp = stats.norm.logpdf(grid) + stats.beta.logpdf(0.8, 20 * np.maximum(1 - p1, 1e-6), 20 * np.maximum(p1, 1e-6))
    w = np.exp(lp - lp.max())
    w /= w.sum()
    mean = (w * grid).sum()
    # particles are chains: ArviZ MCSE of the mean over (particle, draw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import arviz as az

        draws = z[:, :, 0].T.numpy()  # (chain=particle, draw)
        se = float(az.mcse(az.convert_to_dataset({"z": draws}), method="mean")["z"])
    assert abs(draws.mean() - mean) < 4 * se, (draws.mean(), mean, se)
