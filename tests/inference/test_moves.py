"""Which moves a run uses (levelsets.inference.moves): gradient (MALA) or black-box, and why.

Unit tests of the rule with stub densities, then the rule as ``sample_level_set`` applies it.
"""

from __future__ import annotations

import pytest
import torch

from levelsets.classifiers.black_box import as_probability_fn
from levelsets.errors import LevelsetsError
from levelsets.inference.independence import MAX_DIM
from levelsets.inference.model import LogDensity
from levelsets.inference.moves import BLACK_BOX_REASON, initial_density, wants_gradients
from levelsets.inference.sampler import SamplerSettings, sample_level_set


def settings(**kw) -> SamplerSettings:
    base = dict(particles=8, steps=4, burn_in=2, samples=2, device="cpu", progress=False)
    return SamplerSettings(**{**base, **kw})


@pytest.mark.parametrize(
    "relaxation, moves, dim, wanted, reason",
    [
        ("dirichlet", "auto", MAX_DIM + 1, True, ""),
        ("normal", "auto", 64, True, ""),
        ("dirichlet", "auto", MAX_DIM, False, f"d = {MAX_DIM} ≤ {MAX_DIM}"),
        ("dirichlet", "gradient", 2, True, ""),
        ("dirichlet", "black-box", 64, False, "black-box moves requested"),
        ("band", "auto", 64, False, "indicator"),
        ("band", "black-box", 2, False, "indicator"),
    ],
)
def test_wants_gradients_follows_the_relaxation_the_setting_and_the_dimension(relaxation, moves, dim, wanted, reason):
    got, why = wants_gradients(settings(relaxation=relaxation, moves=moves), dim)
    assert got is wanted
    assert (reason in why) if reason else why == ""


def test_gradient_moves_on_the_band_are_refused_in_one_line():
    with pytest.raises(LevelsetsError, match="indicator; use --relaxation dirichlet or normal") as info:
        wants_gradients(settings(relaxation="band", moves="gradient"), 64)
    assert "\n" not in str(info.value)


class Calls:
    """Stub evaluations of the particles: plain (no gradients), with gradients, or a failing backward pass."""

    def __init__(self, grads: str = "yes"):
        self.grads, self.plain_calls, self.grad_calls = grads, 0, 0

    @staticmethod
    def terms(z: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return -0.5 * (z**2).sum(1), -(z[:, 0] ** 2), torch.full((z.shape[0], 2), 0.5)

    def plain(self, z: torch.Tensor) -> LogDensity:
        self.plain_calls += 1
        return LogDensity(*self.terms(z))

    def with_gradients(self, z: torch.Tensor) -> LogDensity:
        self.grad_calls += 1
        if self.grads == "raises":
            raise RuntimeError("element 0 of tensors does not require grad\nand more detail")
        if self.grads == "none":
            return LogDensity(*self.terms(z))
        return LogDensity(*self.terms(z), -z, -2 * z * (torch.arange(z.shape[1]) == 0))


Z0 = torch.randn(8, MAX_DIM + 4, generator=torch.Generator().manual_seed(0))


def test_initial_density_evaluates_once_with_gradients_when_they_flow():
    calls = Calls("yes")
    first, gradients, reason = initial_density(settings(), Z0, calls.plain, calls.with_gradients)
    assert gradients is True and "pass gradients" in reason
    assert (calls.grad_calls, calls.plain_calls) == (1, 0)
    assert first.grad_log_prior.shape == Z0.shape and torch.equal(first.grad_log_prior, -Z0)


def test_initial_density_without_wanting_gradients_never_differentiates():
    calls = Calls("yes")
    first, gradients, reason = initial_density(settings(moves="black-box"), Z0, calls.plain, calls.with_gradients)
    assert gradients is False and reason.startswith("black-box moves requested")
    assert (calls.grad_calls, calls.plain_calls) == (0, 1) and first.grad_log_lik is None
    low = Z0[:, :3]  # auto, d = 3 ≤ MAX_DIM: the black-box population moves
    _, gradients, reason = initial_density(settings(), low, calls.plain, calls.with_gradients)
    assert gradients is False and "d = 3" in reason and calls.grad_calls == 0


def test_a_black_box_found_on_the_first_evaluation_is_reused_as_the_plain_one():
    calls = Calls("none")
    first, gradients, reason = initial_density(settings(), Z0, calls.plain, calls.with_gradients)
    assert gradients is False and reason == f"black box: {BLACK_BOX_REASON}"
    assert (calls.grad_calls, calls.plain_calls) == (1, 0)  # no second pass
    assert first.grad_log_lik is None and first.grad_log_prior is None
    torch.testing.assert_close(first.log_lik, Calls.terms(Z0)[1])


def test_a_failing_backward_pass_falls_back_or_is_one_line_when_forced():
    calls = Calls("raises")
    first, gradients, reason = initial_density(settings(), Z0, calls.plain, calls.with_gradients)
    assert gradients is False and reason == "black box: the backward pass raised RuntimeError"
    assert (calls.grad_calls, calls.plain_calls) == (1, 1) and first.grad_log_lik is None
    with pytest.raises(LevelsetsError, match="gradient moves failed: .* raised RuntimeError: element 0 of tensors "
                                             "does not require grad; use --moves black-box") as info:
        initial_density(settings(moves="gradient"), Z0, calls.plain, calls.with_gradients)
    assert "\n" not in str(info.value)
    with pytest.raises(LevelsetsError, match="gradient moves are not possible"):
        initial_density(settings(moves="gradient"), Z0, Calls("none").plain, Calls("none").with_gradients)


# The rule as sample_level_set applies it (LevelSetResult.moves)


def projection(d: int, numpy_out: bool = False):
    w = torch.randn(d, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    w = w / w.norm()

    def classifier(z):
        f0 = torch.sigmoid(4 * (z @ w - 1))
        out = torch.stack([f0, 1 - f0], 1)
        return out.detach().numpy() if numpy_out else out

    prior = torch.distributions.Independent(torch.distributions.Normal(torch.zeros(d, dtype=torch.float64), 1.0), 1)
    return prior, as_probability_fn(classifier, num_classes=2)


def tiny(**kw) -> SamplerSettings:
    base = dict(particles=40, steps=12, burn_in=6, samples=10, alpha=20.0, relaxation="dirichlet", seed=0,
                device="cpu", progress=False)
    return SamplerSettings(**{**base, **kw})


TARGET = torch.tensor([0.3, 0.7], dtype=torch.float64)


def test_auto_uses_gradients_above_sixteen_dimensions_and_says_why():
    prior, clf = projection(32)
    r = sample_level_set(prior, lambda z: z, clf, TARGET, tiny())
    assert r.moves["gradients"] is True and r.moves["kernel"].startswith("MALA")
    assert r.moves["population"] == []  # MALA alone above MAX_DIM
    assert r.forward_evaluations == 40 * 13  # the first evaluation decided the moves: no extra pass
    prior, clf = projection(3)
    r = sample_level_set(prior, lambda z: z, clf, TARGET, tiny())
    assert r.moves["gradients"] is False and "d = 3" in r.moves["reason"]
    assert r.moves["population"] == ["independence", "de"]


def test_auto_falls_back_to_black_box_moves_for_a_black_box():
    prior, clf = projection(32, numpy_out=True)
    r = sample_level_set(prior, lambda z: z, clf, TARGET, tiny())
    assert r.moves["gradients"] is False and r.moves["reason"].startswith("black box")
    assert r.forward_evaluations == 40 * 13


def test_forced_gradient_moves_give_a_one_line_reason_when_impossible():
    prior, clf = projection(32, numpy_out=True)
    with pytest.raises(LevelsetsError, match="gradient moves are not possible"):
        sample_level_set(prior, lambda z: z, clf, TARGET, tiny(moves="gradient"))
    prior, clf = projection(4)
    with pytest.raises(LevelsetsError, match="indicator"):
        sample_level_set(prior, lambda z: z, clf, TARGET, tiny(moves="gradient", relaxation="band"))


def test_forced_gradient_moves_run_with_the_population_moves_in_low_dimensions():
    prior, clf = projection(3)
    r = sample_level_set(prior, lambda z: z, clf, TARGET, tiny(moves="gradient"))
    assert r.moves["gradients"] is True and r.moves["population"] == ["independence", "de"]
    assert torch.isfinite(r.trace).all()
