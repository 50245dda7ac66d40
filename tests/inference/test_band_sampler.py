"""The band sampler's result record (levelsets.inference.band_sampler): trace, scale, band record and moves.

Tiny runs on a 2-d Gaussian world whose classifier sees z_1 only; the band's statistical exactness is tested in
test_band.py and test_band_projection.py, the schedule its kernel follows in test_kernel.py.
"""

from __future__ import annotations

import math

import pytest
import torch

from levelsets.inference import random_walk
from levelsets.inference.band_sampler import band_result_fields
from levelsets.inference.kernel import build_kernel
from levelsets.inference.model import log_density_fn
from levelsets.inference.sampler import drive, sample_level_set
from levelsets.inference.settings import SamplerSettings
from levelsets.progress import progress_bar

TARGET = torch.tensor([0.8, 0.2], dtype=torch.float64)
N, D = 64, 2


def prior():
    return torch.distributions.Independent(torch.distributions.Normal(torch.zeros(D, dtype=torch.float64), 1.0), 1)


def classifier(shift: float = 0.0):
    def clf(z):
        f0 = torch.sigmoid(3 * (z[:, 0] - shift))
        return torch.stack([f0, 1 - f0], 1)

    return clf


def settings(**kw) -> SamplerSettings:
    base = dict(particles=N, steps=40, burn_in=20, samples=16, relaxation="band", tolerance=0.05, level_moves=2,
                islands=4, thin=2, seed=0, device="cpu", progress=False)
    return SamplerSettings(**{**base, **kw})


def max_deviation(probs: torch.Tensor) -> torch.Tensor:
    """max_l |f_l − p_l| over the last axis, written out here rather than taken from band.py."""
    return (probs.to(torch.float64) - TARGET).abs().amax(dim=-1)


def test_a_run_that_reaches_the_tolerance_records_its_draws_and_its_band():
    s = settings(resampling="multinomial", samples=N)
    result = sample_level_set(prior(), lambda z: z, classifier(), TARGET, s)
    band, draws = result.band, s.draws
    assert band["reached_tolerance"] and band["tolerance"] == 0.05 and band["final_level"] == pytest.approx(0.05)
    assert result.trace.shape == (N, draws, D) and result.trace_probs.shape == (N, draws, 2)
    assert result.trace_log_lik.shape == result.trace_log_prior.shape == result.trace_accept.shape == (N, draws)
    assert torch.equal(result.trace[:, -1], result.final_positions)  # the last draw is the final state
    assert (max_deviation(result.trace_probs) <= 0.05).all()
    assert (result.trace_log_lik == 0).all()  # log of the band's indicator: 0 inside
    torch.testing.assert_close(result.trace_log_prior, prior().log_prob(result.trace))
    assert ((result.trace_accept >= 0) & (result.trace_accept <= 1)).all()
    # the band record
    assert 0 < band["mass"] < 1 and band["mass_se"] > 0 and band["islands"] == 4
    assert band["log_mass"] == pytest.approx(math.log(band["mass"]))
    levels = [r["level"] for r in band["levels"]]
    assert levels == sorted(levels, reverse=True) and levels[-1] == pytest.approx(0.05)
    assert 20 <= band["sampling_from_step"] < s.steps and 1 <= band["final_ancestors"] <= N and band["step_size"] > 0
    # a Gaussian prior: pCN, whose step is one number per particle, the same in every coordinate
    assert band["kernel"].startswith("preconditioned Crank-Nicolson")
    assert result.scale.shape == (N, D) and (result.scale > 0).all()
    assert torch.equal(result.scale[:, 0], result.scale[:, 1])
    assert result.moves == {"setting": "auto", "gradients": False, "kernel": band["kernel"],
                            "population": [m for m in band["moves_at_tolerance"] if m != "local"],
                            "reason": result.moves["reason"]}
    assert "indicator" in result.moves["reason"]
    # the returned samples are N distinct particles (systematic, equal weights), whatever --resampling says:
    # N multinomial draws from N would repeat one with probability 1 − N!/N^N, here 1 − 1e-27
    assert sorted(result.particle_index.tolist()) == list(range(N))


def test_a_budget_that_ends_above_the_tolerance_says_so_and_records_the_final_state_once():
    s = settings(steps=6, burn_in=3)
    density = log_density_fn(prior(), lambda z: z, classifier(shift=4.6), TARGET, s.alpha, "band", tolerance=s.tolerance)
    kernel = build_kernel(s, density, prior(), torch.Generator().manual_seed(0), TARGET)
    z0 = prior().sample((N,))
    run = drive(kernel, kernel.init(random_walk.init(z0, density)), s, None, progress_bar)
    assert run.draws == []  # the sampling phase never began
    fields = band_result_fields(kernel, run, "a reason passed through")
    band, final = fields["band"], run.state.particles
    assert not band["reached_tolerance"] and band["final_level"] > s.tolerance
    assert band["sampling_from_step"] is None and len(band["levels"]) == 3  # advanced at steps 0, 2 and 4
    assert fields["trace"].shape == (N, 1, D) and torch.equal(fields["trace"][:, 0], final.position)
    assert torch.equal(fields["trace_probs"][:, 0], final.probs)
    assert torch.equal(fields["trace_accept"], torch.zeros(N, 1, dtype=torch.float64))
    inside = max_deviation(final.probs) <= s.tolerance
    expected = torch.where(inside, 0.0, -math.inf).to(torch.float64)
    assert torch.equal(fields["trace_log_lik"][:, 0], expected)
    assert not inside.all()  # the band (prior mass ~1e-5) is out of reach of three levels
    assert fields["moves"]["reason"] == "a reason passed through" and fields["moves"]["gradients"] is False
