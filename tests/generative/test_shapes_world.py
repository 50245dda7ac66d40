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


def test_render_shape_range_dtype_determinism():
    torch.manual_seed(0)
    z = shapes.ShapesPrior().sample((50,))
    img = shapes.render(z)
    assert img.shape == (50, 1, 64, 64) and img.dtype == torch.float32
    assert img.min() >= 0 and img.max() <= 1
    assert torch.equal(img, shapes.render(z.clone()))
    assert shapes.render(z.double()).dtype == torch.float64
    assert shapes.render(z, size=32).shape == (50, 1, 32, 32)
    # batching does not change an image
    torch.testing.assert_close(shapes.render(z[3:4]), img[3:4])


def test_render_geometry_area_and_position():
    # Without blur, the total ink equals the shape's area (rectangle + triangle) in pixels.
    z = torch.tensor([[30.0, 10.0, 8.0], [10.0, 30.0, 6.0], [21.3, 17.7, 9.1]], dtype=torch.float64)
    img = shapes.render(z, blur_sigma_px=0.0)
    px = shapes.CANVAS_UNITS / 64
    area = (z[:, 0] * z[:, 1] + 0.5 * z[:, 0] * z[:, 2]) / px**2
    torch.testing.assert_close(img.sum(dim=(1, 2, 3)), area, rtol=0.02, atol=0.0)
    # The blur (zero padding far from the edges) preserves total ink.
    torch.testing.assert_close(shapes.render(z).sum(dim=(1, 2, 3)), img.sum(dim=(1, 2, 3)), rtol=1e-6, atol=1e-6)
    # Horizontally symmetric; the rectangle's bottom row is the ground line.
    torch.testing.assert_close(img, img.flip(-1))
    ground_row = 64 - int(shapes.GROUND_UNITS / px)  # first row below the ground
    assert img[:, 0, ground_row:].abs().max() == 0
    assert (img[:, 0, ground_row - 1].sum(-1) > 0).all()
    # A wider latent gives a wider image.
    wide = shapes.render(torch.tensor([[40.0, 10.0, 8.0]]), blur_sigma_px=0)
    assert wide.sum() > img[0].sum()


def test_render_non_positive_sizes_are_blank_not_nan():
    z = torch.tensor([[-5.0, 10.0, 8.0], [0.0, 0.0, 0.0], [10.0, -3.0, -2.0]])
    img = shapes.render(z)
    assert not torch.isnan(img).any()
    assert img.sum() == 0


def test_render_circle_variant_adds_ink():
    z = torch.tensor([[20.0, 15.0, 8.0, 10.0, 30.0, 30.0]])
    with_circle = shapes.render(z)
    without = shapes.render(z[:, :3])
    assert (with_circle >= without - 1e-6).all()
    ring_ink = (with_circle - without).sum()
    px = shapes.CANVAS_UNITS / 64
    expected = 2 * math.pi * 10.0 * shapes.CIRCLE_LINE_UNITS / px**2
    assert 0.6 * expected < float(ring_ink) < 1.2 * expected


def test_render_rejects_bad_shapes():
    with pytest.raises(ValueError):
        shapes.render(torch.zeros(3, 4))
    with pytest.raises(ValueError):
        shapes.render(torch.zeros(3, 3), size=63)


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


def test_fast_blur_path_equals_blurring_the_sharp_image():
    torch.manual_seed(5)
    z = shapes.ShapesPrior(dtype=torch.float64).sample((64,))
    z = torch.cat([z, torch.tensor([[0.3, 0.2, 0.1], [95.0, 85.0, 20.0], [50.0, 5.0, 0.0]], dtype=torch.float64)])
    sharp = shapes.render(z, blur_sigma_px=0.0)[:, 0]
    b = shapes.blur_matrix(64, shapes.BLUR_SIGMA_PX, torch.float64)
    reference = (b @ sharp @ b.T).clamp(0, 1)
    torch.testing.assert_close(shapes.render(z)[:, 0], reference, rtol=0, atol=1e-12)


def test_render_survives_non_finite_latents():
    z = torch.tensor([[float("nan"), 10.0, 8.0], [float("inf"), 10.0, 8.0], [20.0, float("inf"), 8.0], [20.0, 10.0, float("nan")]])
    img = shapes.render(z)
    assert img.shape == (4, 1, 64, 64)


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
