"""The shapes world (levelsets.generative.shapes): the prior, its exact posterior, and the world bundle."""

import math

import numpy as np
import pyro
import pyro.distributions as dist
import pytest
import torch
from scipy import stats

from levelsets.generative import shapes

MU = np.array(shapes.CLASS_MU)
SIGMA = np.array(shapes.CLASS_SIGMA)


def scipy_class_logpdf(z: np.ndarray, c: int) -> np.ndarray:
    out = np.zeros(z.shape[0])
    for j in range(3):
        mu, sd = MU[c, j], SIGMA[c, j]
        out += stats.truncnorm.logpdf(z[:, j], a=(0 - mu) / sd, b=np.inf, loc=mu, scale=sd)
    return out


def scipy_log_prior(z: np.ndarray, circle: bool = False) -> np.ndarray:
    lp = np.logaddexp(np.log(0.5) + scipy_class_logpdf(z, 0), np.log(0.5) + scipy_class_logpdf(z, 1))
    if circle:
        lp += stats.truncnorm.logpdf(z[:, 3], a=-2.0, b=np.inf, loc=20, scale=10)
        lp += stats.uniform.logpdf(z[:, 4], 20, 20) + stats.uniform.logpdf(z[:, 5], 20, 20)
    return lp


def test_log_prob_matches_scipy_truncnorm_mixture():
    rng = np.random.default_rng(0)
    z = rng.uniform([0.5, 0.5, 0.5], [60, 60, 16], size=(500, 3))
    got = shapes.ShapesPrior().log_prob(torch.tensor(z)).numpy()
    np.testing.assert_allclose(got, scipy_log_prior(z), rtol=1e-10, atol=1e-10)


def test_circle_log_prob_matches_scipy():
    rng = np.random.default_rng(1)
    z = rng.uniform([0.5, 0.5, 0.5, 0.5, 20.1, 20.1], [60, 60, 16, 50, 39.9, 39.9], size=(300, 6))
    got = shapes.ShapesPrior(circle=True).log_prob(torch.tensor(z)).numpy()
    np.testing.assert_allclose(got, scipy_log_prior(z, circle=True), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_log_prob_is_minus_inf_outside_support_never_nan(dtype):
    z = torch.tensor(
        [[-1.0, 30, 8], [10, -0.1, 8], [10, 30, -5], [0.0, 30, 8], [-1e6, -1e6, -1e6], [10, 30, 8]], dtype=dtype
    )
    lp = shapes.ShapesPrior().log_prob(z)
    assert lp.dtype == dtype
    assert not torch.isnan(lp).any()
    assert torch.isneginf(lp[:5]).all()
    assert torch.isfinite(lp[5])
    zc = torch.tensor([[10, 30, 8, 5, 19.9, 30], [10, 30, 8, -1, 30, 30], [10, 30, 8, 5, 30, 40.1], [10, 30, 8, 5, 30, 30]], dtype=dtype)
    lpc = shapes.ShapesPrior(circle=True).log_prob(zc)
    assert torch.isneginf(lpc[:3]).all() and torch.isfinite(lpc[3])


def test_log_prob_batched_shapes():
    prior = shapes.ShapesPrior()
    z = prior.sample((4, 5))
    assert z.shape == (4, 5, 3) and z.dtype == torch.float32
    assert prior.log_prob(z).shape == (4, 5)
    assert (z > 0).all()


def test_sample_float64_and_support():
    prior = shapes.ShapesPrior(circle=True, dtype=torch.float64)
    z = prior.sample((1000,))
    assert z.shape == (1000, 6) and z.dtype == torch.float64
    assert prior.support.check(z).all()
    assert torch.isfinite(prior.log_prob(z)).all()


def test_truncnorm_moments_match_scipy():
    for mu, sd in [(10, 5), (30, 10), (8, 2), (20, 10)]:
        m, v = shapes.truncnorm_moments(mu, sd)
        ref = stats.truncnorm(a=-mu / sd, b=np.inf, loc=mu, scale=sd)
        assert m == pytest.approx(ref.mean(), rel=1e-10)
        assert v == pytest.approx(ref.var(), rel=1e-9)


@pytest.mark.parametrize("circle", [False, True])
def test_sample_moments_match_exact_moments(circle):
    torch.manual_seed(123)
    prior = shapes.ShapesPrior(circle=circle, dtype=torch.float64)
    n = 200_000
    z = prior.sample((n,))
    mean, var = prior.mean, prior.variance
    se = (var / n).sqrt()
    # 5 standard errors: a false failure has probability < 1e-5 per coordinate.
    assert ((z.mean(0) - mean).abs() < 5 * se).all(), (z.mean(0), mean, se)
    # Variance check: SE of the sample variance from the 4th central moment (estimated).
    centred = z - z.mean(0)
    m4 = (centred**4).mean(0)
    se_var = ((m4 - var**2) / n).sqrt()
    assert ((centred.pow(2).mean(0) - var).abs() < 5 * se_var).all()


def test_class_share_of_samples_is_one_half():
    torch.manual_seed(7)
    z = shapes.ShapesPrior(dtype=torch.float64).sample((100_000,))
    # E[p(house | z)] over the prior equals P(house) = 0.5 exactly.
    post = shapes.exact_posterior(z)[:, 1]
    se = post.std() / math.sqrt(post.numel())
    assert abs(float(post.mean()) - 0.5) < 5 * float(se)


def test_exact_posterior_matches_direct_bayes_and_sums_to_one():
    rng = np.random.default_rng(2)
    z = rng.uniform([0.5, 0.5, 0.5], [60, 60, 16], size=(400, 3))
    post = shapes.exact_posterior(torch.tensor(z)).numpy()
    joint = np.stack([0.5 * np.exp(scipy_class_logpdf(z, c)) for c in (0, 1)], axis=1)
    ref = joint / joint.sum(1, keepdims=True)
    ok = joint.sum(1) > 1e-250  # direct computation underflows far in the tails
    np.testing.assert_allclose(post[ok], ref[ok], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(post.sum(1), 1.0, rtol=1e-12)
    assert post.shape == (400, 2)


def test_exact_posterior_ignores_t_and_circle():
    z = torch.tensor([[15.0, 14.0, 3.0], [15.0, 14.0, 12.0]], dtype=torch.float64)
    post = shapes.exact_posterior(z)
    torch.testing.assert_close(post[0], post[1])
    zc = torch.tensor([[15.0, 14.0, 3.0, 5.0, 25.0, 30.0]], dtype=torch.float64)
    torch.testing.assert_close(shapes.exact_posterior(zc)[0], post[0])
    # prototypes: a tall slim shape is a rocket, a wide flat one a house
    proto = shapes.exact_posterior(torch.tensor([[10.0, 30.0, 8.0], [30.0, 10.0, 8.0]]))
    assert proto[0, 0] > 0.99 and proto[1, 1] > 0.99


def test_prior_works_in_pyro_plate():
    def model():
        with pyro.plate("particles", 7):
            return pyro.sample("z", shapes.ShapesPrior())

    tr = pyro.poutine.trace(model).get_trace()
    site = tr.nodes["z"]
    assert site["value"].shape == (7, 3)
    tr.compute_log_prob()
    torch.testing.assert_close(site["log_prob"], shapes.ShapesPrior().log_prob(site["value"]))
    # conditioning on an out-of-support value gives -inf, not NaN or an exception
    cond = pyro.poutine.condition(model, data={"z": torch.tensor([[-1.0, 5.0, 5.0]] * 7)})
    tr2 = pyro.poutine.trace(cond).get_trace()
    tr2.compute_log_prob()
    assert torch.isneginf(tr2.nodes["z"]["log_prob"]).all()


def test_prior_support_bijection_for_pyro():
    prior = shapes.ShapesPrior(circle=True)
    transform = dist.transforms.biject_to(prior.support)
    u = torch.randn(10, 6)
    z = transform(u)
    assert prior.support.check(z).all()
    assert torch.isfinite(prior.log_prob(z)).all()


def test_shapes_world_bundle():
    w = shapes.ShapesWorld(circle=True)
    assert w.class_names == ("rocket", "house")
    assert w.latent_names == ("w", "h", "t", "r", "cx", "cy")
    z = w.prior().sample((4,))
    assert w.decoder(z).shape == (4, 1, 64, 64)
    assert w.exact_posterior(z).shape == (4, 2)


def test_bayes_accuracy_between_half_and_one():
    torch.manual_seed(3)
    z = shapes.ShapesPrior().sample((20_000,))
    acc = shapes.bayes_accuracy(z)
    assert 0.96 < acc < 0.99


def test_prototypes_are_classified_by_the_exact_posterior():
    z = torch.tensor([shapes.PROTOTYPES["rocket"], shapes.PROTOTYPES["house"]])
    assert shapes.exact_posterior(z).argmax(1).tolist() == [0, 1]


def test_pyro_nuts_runs_on_the_prior():
    from pyro.infer import MCMC, NUTS

    pyro.set_rng_seed(0)

    def model():
        pyro.sample("z", shapes.ShapesPrior())

    mcmc = MCMC(NUTS(model), num_samples=30, warmup_steps=20, disable_progbar=True)
    mcmc.run()
    z = mcmc.get_samples()["z"]
    assert z.shape == (30, 3)
    assert (z > 0).all() and torch.isfinite(shapes.ShapesPrior().log_prob(z)).all()
