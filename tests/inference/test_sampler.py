"""Driver tests of sample_level_set (levelsets.inference.sampler) with exact stubs (tier b), plus SMC pieces.

Its settings are tested in test_settings.py, its result record in test_result.py, the choice of moves in
test_moves.py, the band's record in test_band_sampler.py; statistical exactness in test_sampler_exact.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from levelsets.classifiers.black_box import as_probability_fn
from levelsets.errors import LevelsetsError
from levelsets.inference import (
    SamplerSettings,
    sample_level_set,
)

Dist = torch.distributions


def normal_prior(d=2):
    return Dist.Independent(Dist.Normal(torch.zeros(d, dtype=torch.float64), torch.ones(d, dtype=torch.float64)), 1)


def identity(z):
    return z


def constant_classifier(x):
    return torch.tensor([[0.3, 0.7]], dtype=torch.float64).expand(x.shape[0], 2)


def tiny(**kw):
    base = dict(particles=200, steps=60, burn_in=30, samples=50, thin=3, device="cpu", progress=False, alpha=10.0)
    base.update(kw)
    return SamplerSettings(**base)


def test_constant_likelihood_returns_the_prior():
    # L(z) constant => posterior = prior N(0, I_2); the final particles must pass a KS test per coordinate
    result = sample_level_set(normal_prior(), identity, constant_classifier, [0.5, 0.5], tiny(particles=1000))
    for j in range(2):
        assert stats.kstest(result.final_positions[:, j].numpy(), "norm").pvalue > 1e-3
    # tempering is a no-op here: beta jumps straight to 1
    assert result.history["inv_temperature"][0] == 1.0


def test_result_shapes_and_bookkeeping():
    calls = []

    def clf(x):
        calls.append(x.shape[0])
        p1 = torch.sigmoid(x[:, 0])
        return torch.stack([1 - p1, p1], 1)

    s = tiny()
    steps_seen = []
    result = sample_level_set(normal_prior(3), identity, clf, np.array([0.4, 0.6]), s, on_step=lambda t, *a: steps_seen.append(t))
    n, big_n, d, k, draws = 50, 200, 3, 2, (60 - 30) // 3
    assert result.latents.shape == (n, d)
    assert result.probs.shape == (n, k)
    assert result.particle_index.shape == (n,) and result.particle_index.dtype == torch.int64
    assert result.final_positions.shape == (big_n, d)
    assert result.final_probs.shape == (big_n, k)
    assert result.trace.shape == (big_n, draws, d)
    assert result.trace_probs.shape == (big_n, draws, k)
    assert result.trace_log_lik.shape == (big_n, draws)
    assert result.trace_accept.shape == (big_n, draws)
    assert result.acceptance.shape == (big_n,)
    assert result.scale.shape == (big_n, d)
    assert steps_seen == list(range(60))
    assert len(result.history["acceptance"]) == 60
    # one batched forward pass per random-walk step, two of N/2 per differential-evolution sweep
    # (every second step by default) and per independence sweep (every step once β = 1), plus one
    # at initialization
    betas = result.history["inv_temperature"]
    expected = [big_n]
    for t in range(60):
        expected += [big_n // 2, big_n // 2] if t % 2 == 1 or betas[t] >= 1.0 else [big_n]
    assert calls == expected
    assert 0 < betas.index(1.0) < 30  # so both kinds of steps occurred
    assert result.forward_evaluations == big_n * 61
    # returned samples are the final states of the named particles
    assert torch.equal(result.latents, result.final_positions[result.particle_index])
    assert torch.equal(result.probs, result.final_probs[result.particle_index])
    # the last trace draw is the final state
    assert torch.equal(result.trace[:, -1], result.final_positions)
    # probabilities stored are the classifier's at the stored positions
    assert torch.allclose(result.trace_probs[:, :, 1], torch.sigmoid(result.trace[:, :, 0]))
    assert result.history["inv_temperature"][29] == 1.0  # beta reaches 1 within burn-in
    assert result.wall_seconds > 0 and result.particle_steps_per_second > 0


def test_systematic_returns_distinct_particles_multinomial_duplicates():
    res = sample_level_set(normal_prior(), identity, constant_classifier, [0.5, 0.5], tiny(samples=200))
    assert len(set(res.particle_index.tolist())) == 200
    res_m = sample_level_set(normal_prior(), identity, constant_classifier, [0.5, 0.5], tiny(samples=200, resampling="multinomial"))
    # 200 draws with replacement from 200: P(all distinct) = 200!/200^200, effectively 0
    assert len(set(res_m.particle_index.tolist())) < 200


def test_reproducible_and_seed_dependent():
    def clf(x):
        p1 = torch.sigmoid(2 * x[:, 0] - x[:, 1])
        return torch.stack([1 - p1, p1], 1)

    a = sample_level_set(normal_prior(), identity, clf, [0.5, 0.5], tiny(seed=3))
    b = sample_level_set(normal_prior(), identity, clf, [0.5, 0.5], tiny(seed=3))
    c = sample_level_set(normal_prior(), identity, clf, [0.5, 0.5], tiny(seed=4))
    assert torch.equal(a.latents, b.latents) and torch.equal(a.trace, b.trace)
    assert not torch.equal(a.latents, c.latents)
    # the sampler leaves the global RNG alone
    torch.manual_seed(123)
    x1 = torch.rand(3)
    torch.manual_seed(123)
    sample_level_set(normal_prior(), identity, clf, [0.5, 0.5], tiny(seed=3))
    assert torch.equal(torch.rand(3), x1)


def test_bounded_prior_and_numpy_classifier():
    # HalfNormal prior: random-walk proposals below 0 must be rejected (log prior -inf), never crash
    prior = Dist.Independent(Dist.HalfNormal(torch.ones(2, dtype=torch.float64), validate_args=True), 1)

    def np_clf(x):
        x = np.asarray(x)
        p1 = 1 / (1 + np.exp(-(x[:, 0] - x[:, 1])))
        return np.stack([1 - p1, p1], 1)

    clf = as_probability_fn(np_clf, num_classes=2)
    result = sample_level_set(prior, identity, clf, [0.5, 0.5], tiny())
    assert (result.trace >= 0).all()
    assert (result.final_positions >= 0).all()
    assert result.probs.shape == (50, 2)


def test_no_tempering_is_plain_adaptive_mh():
    res = sample_level_set(normal_prior(), identity, constant_classifier, [0.5, 0.5], tiny(tempering=False))
    assert set(res.history["inv_temperature"]) == {1.0}
    assert 0.05 < float(res.acceptance.mean()) < 0.8


def test_bad_target_and_device_are_levelsets_errors():
    with pytest.raises(LevelsetsError, match="every target probability > 0"):
        sample_level_set(normal_prior(), identity, constant_classifier, [1.0, 0.0], tiny())
    with pytest.raises(LevelsetsError):
        sample_level_set(normal_prior(), identity, constant_classifier, [0.5, 0.5], tiny(device="nonsense"))


def test_single_particle_runs_and_moves():
    res = sample_level_set(normal_prior(), identity, constant_classifier, [0.5, 0.5], tiny(particles=1, samples=1))
    assert res.latents.shape == (1, 2)
    assert res.trace.shape == (1, 10, 2)
    # the step size stays on the prior's scale (no collapsed population preconditioner)
    assert float(res.scale.min()) > 0.05
    assert float(res.acceptance[0]) > 0


def test_burn_in_ancestors_counts_the_genealogy_of_the_smc_burn_in():
    from levelsets.inference import summarize

    def sharp(x):
        p1 = torch.sigmoid(4 * x[:, 0])
        return torch.stack([1 - p1, p1], 1)

    # a likelihood that forces resampling: the N particles descend from fewer than N initial draws
    res = sample_level_set(normal_prior(), identity, sharp, [0.05, 0.95], tiny(alpha=200.0))
    assert 1 <= res.burn_in_ancestors < 200
    assert summarize(res, [0.05, 0.95])["burn_in_ancestors"] == res.burn_in_ancestors
    # equal weights (constant likelihood) and no tempering keep every initial draw
    flat = sample_level_set(normal_prior(), identity, constant_classifier, [0.5, 0.5], tiny())
    assert flat.burn_in_ancestors == 200
    plain = sample_level_set(normal_prior(), identity, sharp, [0.05, 0.95], tiny(tempering=False))
    assert plain.burn_in_ancestors == 200
