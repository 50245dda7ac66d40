"""The math of each loss and mixing rule (seed 001 chapters 4–5, appendices B.2 and C)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from levelsets.errors import LevelsetsError
from levelsets.softlabels.class_pair_transform import ClassPairTransform
from levelsets.softlabels.methods import (
    EntWC,
    LabelSmoothing,
    MixMaxEnt,
    Mixup,
    SoftLabelCE,
    confidence_smoothing,
    ent_wc_weights,
    hard_endpoints,
    make_method,
    mix_batch,
    predictive_entropy,
    random_pairing,
    sample_lambda,
    soft_cross_entropy,
)


@pytest.fixture(autouse=True)
def _float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def toy_model(k=3, d=4, seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(d, k)).double()


def batch(b=6, k=3, d=4, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(b, d, generator=g, dtype=torch.float64)
    y = torch.rand(b, k, generator=g, dtype=torch.float64)
    return x, y / y.sum(1, keepdim=True)


def gen(seed=5):
    return torch.Generator().manual_seed(seed)


def test_soft_cross_entropy_matches_hand_formula():
    logits = torch.tensor([[0.0, math.log(3.0)]])  # softmax = (1/4, 3/4)
    y = torch.tensor([[0.5, 0.5]])
    expected = -(0.5 * math.log(0.25) + 0.5 * math.log(0.75))
    assert soft_cross_entropy(logits, y).item() == pytest.approx(expected)
    model, (x, yb) = toy_model(), batch()
    manual = -(yb * torch.log_softmax(model(x), 1)).sum(1).mean()
    assert SoftLabelCE().loss(model, x, yb).item() == pytest.approx(manual.item())


def test_label_smoothing():
    y = torch.tensor([[1.0, 0.0, 0.0, 0.0]])
    ls = LabelSmoothing(beta=0.2)
    np.testing.assert_allclose(ls.smooth(y).numpy(), [[0.85, 0.05, 0.05, 0.05]])
    model, (x, yb) = toy_model(), batch()
    assert ls.loss(model, x, yb).item() == pytest.approx(soft_cross_entropy(model(x), 0.8 * yb + 0.2 / 3).item())
    with pytest.raises(LevelsetsError):
        LabelSmoothing(beta=1.5)


def test_mix_batch_is_the_lambda_mix_of_endpoints():
    x, y = batch()
    perm = torch.tensor([1, 0, 3, 2, 5, 4])
    x_mix, y_mix = mix_batch(x, y, 0.3, perm)
    np.testing.assert_allclose(x_mix.numpy(), (0.3 * x + 0.7 * x[perm]).numpy())
    np.testing.assert_allclose(y_mix.numpy(), (0.3 * y + 0.7 * y[perm]).numpy())
    np.testing.assert_allclose(y_mix.sum(1).numpy(), 1.0)
    lam_g = torch.linspace(0, 1, 6)
    _, y_g = mix_batch(x, y, 0.3, perm, lam_g=lam_g)
    np.testing.assert_allclose(y_g.numpy(), (lam_g[:, None] * y + (1 - lam_g[:, None]) * y[perm]).numpy())


@pytest.mark.parametrize("endpoints", ["hard", "soft"])
def test_mixup_uses_the_generator_and_the_right_endpoints(endpoints):
    x, y = batch()
    g_ref = gen()
    lam = sample_lambda(0.4, g_ref)
    perm = random_pairing(6, g_ref)
    ends = hard_endpoints(y) if endpoints == "hard" else y
    x_ref, y_ref = mix_batch(x, ends, lam, perm)
    x_mix, y_mix = Mixup(alpha=0.4, endpoints=endpoints).mixed(x, y, gen())
    np.testing.assert_allclose(x_mix.numpy(), x_ref.numpy())
    np.testing.assert_allclose(y_mix.numpy(), y_ref.numpy())
    if endpoints == "hard":  # every mixed label puts all mass on at most two classes: λ and 1-λ
        assert set(np.round(np.sort(y_mix.numpy(), axis=1)[:, -1], 9)) <= {round(max(lam, 1 - lam), 9), 1.0}
    model = toy_model()
    loss = Mixup(alpha=0.4, endpoints=endpoints).loss(model, x, y, gen())
    assert loss.item() == pytest.approx(soft_cross_entropy(model(x_ref), y_ref).item())


def test_lambda_distribution_is_beta():
    g = gen(0)
    draws = np.array([sample_lambda(2.0, g) for _ in range(4000)])
    mean_se = math.sqrt(1 / 20 / 4000)  # Var Beta(2,2) = 1/20
    assert abs(draws.mean() - 0.5) < 4 * mean_se
    assert abs(draws.var() - 0.05) < 0.01


def test_mix_maxent_entropy_term_has_minus_sign():
    model, (x, y) = toy_model(), batch()
    y = torch.eye(3)[[0, 1, 2, 0, 1, 2]]
    base = MixMaxEnt(alpha=10, weight=0.0).loss(model, x, y, gen())
    with_ent = MixMaxEnt(alpha=10, weight=2.0).loss(model, x, y, gen())
    g_ref = gen()
    lam = sample_lambda(10, g_ref)
    perm = random_pairing(6, g_ref)
    between = y.argmax(1) != y.argmax(1)[perm]
    h = predictive_entropy(model(lam * x + (1 - lam) * x[perm]))[between].mean()
    assert base.item() == pytest.approx(soft_cross_entropy(model(x), y).item())
    assert with_ent.item() == pytest.approx(base.item() - 2.0 * h.item())
    assert with_ent.item() < base.item()
    # a gradient step on the entropy term alone *raises* the entropy of mixed examples
    model.zero_grad()
    (with_ent - base).backward()
    with torch.no_grad():
        for p in model.parameters():
            p -= 0.5 * p.grad
        h_after = predictive_entropy(model(lam * x + (1 - lam) * x[perm]))[between].mean()
    assert h_after.item() > h.item()


def test_mix_maxent_same_class_mixes_have_no_entropy_term():
    model, (x, _) = toy_model(), batch()
    y = torch.eye(3)[[1] * 6]
    loss = MixMaxEnt(weight=5.0).loss(model, x, y, gen())
    assert loss.item() == pytest.approx(soft_cross_entropy(model(x), y).item())


def test_ent_wc_weights_are_clamped_log2_over_entropy():
    uniform4 = torch.zeros(1, 4)  # H = log 4 → log2/H = 0.5
    confident = torch.tensor([[10.0, 0.0, 0.0, 0.0]])
    mid = torch.tensor([[1.0, 0.5, 0.0, -1.0]])
    h_mid = predictive_entropy(mid).item()
    logits = torch.cat([uniform4, confident, mid])
    for kappa in (0.0, 0.3, 0.7, 1.0):
        expected = [min(1, max(kappa, math.log(2) / h)) for h in (math.log(4), predictive_entropy(confident).item(), h_mid)]
        np.testing.assert_allclose(ent_wc_weights(logits, kappa).numpy(), expected, rtol=1e-12)
    assert ent_wc_weights(uniform4, 0.3).item() == pytest.approx(0.5)
    assert ent_wc_weights(uniform4, 0.7).item() == pytest.approx(0.7)
    assert ent_wc_weights(confident, 0.7).item() == 1.0


def test_ent_wc_loss_is_weighted_mixup_ce():
    model, (x, y) = toy_model(k=3), batch(k=3)
    x_mix, y_mix = Mixup(alpha=0.2, endpoints="soft").mixed(x, y, gen())
    logits = model(x_mix)
    w = ent_wc_weights(logits, 0.7)
    expected = (w * soft_cross_entropy(logits, y_mix, reduction="none")).mean()
    got = EntWC(alpha=0.2, kappa=0.7, endpoints="soft").loss(model, x, y, gen())
    assert got.item() == pytest.approx(expected.item())
    # with kappa = 1 every weight is 1: plain mixup
    plain = Mixup(alpha=0.2, endpoints="hard").loss(model, x, y, gen())
    assert EntWC(alpha=0.2, kappa=1.0).loss(model, x, y, gen()).item() == pytest.approx(plain.item())


def test_confidence_smoothing_gamma_to_the_omega():
    y = np.array([[1.0, 0.0, 0.0, 0.0]] * 3)
    out = confidence_smoothing(y, np.array([0.0, 1.0, 0.5]), gamma=0.01)
    np.testing.assert_allclose(out[0], 0.25)  # zero confidence: uniform
    np.testing.assert_allclose(out[1], [0.99 + 0.0025, 0.0025, 0.0025, 0.0025])  # s = γ
    s = 0.1  # γ^0.5
    np.testing.assert_allclose(out[2], [(1 - s) + s / 4, s / 4, s / 4, s / 4])
    t = confidence_smoothing(torch.tensor(y), torch.tensor([0.0, 1.0, 0.5]), gamma=0.01)
    np.testing.assert_allclose(t.numpy(), out)
    with pytest.raises(LevelsetsError):
        confidence_smoothing(y, 1.5)


def test_mixup_label_coefficient_is_the_class_pair_transform_of_lambda():
    # one fitted pair (0, 2), τ_02(λ) = logistic(λ; slope 12, centre 0.4); other pairs keep the identity
    tau = ClassPairTransform(num_classes=3, params={(0, 2): (12.0, 0.4)})
    x = torch.rand(2, 4)
    y = torch.eye(3)[[0, 2]]
    mix = Mixup(alpha=1.0, transform=tau)
    g_ref = gen()
    lam = sample_lambda(1.0, g_ref)
    perm = random_pairing(2, g_ref)
    assert perm.tolist() == [1, 0] and abs(tau.tau(lam, 0, 2) - lam) > 0.01  # pairs across classes, where τ(λ) ≠ λ
    _, y_mix = mix.mixed(x, y, gen())
    for b in range(2):
        i, j = int(y[b].argmax()), int(y[perm[b]].argmax())
        lg = tau.tau(lam, i, j)
        np.testing.assert_allclose(y_mix[b].numpy(), (lg * y[b] + (1 - lg) * y[perm[b]]).numpy(), atol=1e-6)


def test_make_method():
    assert isinstance(make_method("ce"), SoftLabelCE)
    assert make_method("mixup", alpha=0.5).alpha == 0.5
    assert make_method("ent-wc").kappa == 0.7 and make_method("ent-wc").alpha == 0.2
    assert make_method("mix-maxent").alpha == 10.0
    assert make_method("label-smoothing", beta=0.1).beta == 0.1
    for bad in [("nope", {}), ("mixup", {"alpha": 0.0}), ("ent-wc", {"kappa": 2.0}), ("mixup", {"endpoints": "x"})]:
        with pytest.raises(LevelsetsError):
            make_method(bad[0], **bad[1])


def test_methods_train_a_toy_problem():
    """Every method's loss is differentiable and decreases under SGD on a separable toy problem."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 4, generator=g)
    y = torch.eye(2)[(x[:, 0] > 0).long()]
    for method in [SoftLabelCE(), LabelSmoothing(0.1), Mixup(0.4), MixMaxEnt(weight=0.1), EntWC()]:
        model = toy_model(k=2)
        opt = torch.optim.SGD(model.parameters(), lr=0.5)
        gen_ = torch.Generator().manual_seed(1)
        first = SoftLabelCE().loss(model, x, y).item()
        for _ in range(50):
            opt.zero_grad()
            method.loss(model, x, y, gen_).backward()
            opt.step()
        assert SoftLabelCE().loss(model, x, y).item() < first, method
