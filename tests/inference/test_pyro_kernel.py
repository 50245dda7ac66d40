"""The level-set state machine under pyro.infer.MCMC: the same algorithm, and the exact posterior."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from pyro.infer import MCMC
from scipy import stats

from levelsets.inference.pyro_kernel import LevelSetKernel
from levelsets.inference.sampler import SamplerSettings, sample_level_set

Dist = torch.distributions


def world():
    prior = Dist.Independent(Dist.Normal(torch.zeros(1, dtype=torch.float64), torch.ones(1, dtype=torch.float64)), 1)

    def clf(x):
        p1 = torch.sigmoid(3.0 * x[:, 0])
        return torch.stack([1 - p1, p1], 1)

    return prior, clf


def test_pyro_mcmc_runs_the_kernel_and_matches_quadrature():
    prior, clf = world()
    target = np.array([0.8, 0.2])
    settings = SamplerSettings(particles=400, alpha=20.0, relaxation="dirichlet", seed=0, device="cpu")
    mcmc = MCMC(LevelSetKernel(prior, lambda z: z, clf, target, settings), num_samples=60, warmup_steps=60,
                disable_progbar=True)
    mcmc.run()
    z = mcmc.get_samples()["z"]
    assert z.shape == (60, 400, 1)
    assert 0.1 < mcmc.diagnostics()["acceptance rate"]["chain 0"] < 1.0

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


@pytest.mark.parametrize("relaxation", ["dirichlet", "band"])
def test_pyro_drives_the_same_state_machine_as_sample_level_set(relaxation):
    prior, clf = world()
    target = np.array([0.7, 0.3])
    settings = SamplerSettings(particles=40, steps=30, burn_in=10, samples=10, thin=2, alpha=20.0,
                               relaxation=relaxation, level_moves=2, islands=4, seed=5, device="cpu", progress=False)
    direct = sample_level_set(prior, lambda z: z, clf, target, settings)
    mcmc = MCMC(LevelSetKernel(prior, lambda z: z, clf, target, settings), num_samples=20, warmup_steps=10,
                disable_progbar=True)
    mcmc.run()
    z = mcmc.get_samples()["z"]  # (20, N, 1): the post-warm-up states, one per step
    sampled_from = direct.band["sampling_from_step"] if relaxation == "band" else settings.burn_in
    first = sampled_from - settings.burn_in  # the band freezes once it also has level_moves moves at τ
    expected = direct.trace.permute(1, 0, 2)  # (draws, N, 1): every thin-th state of the frozen kernel
    got = z[first + settings.thin - 1 :: settings.thin][: expected.shape[0]]
    assert got.shape == expected.shape
    assert torch.equal(got, expected)
