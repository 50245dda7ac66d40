r"""The level-set model: the one place the posterior density is written.

Generative story (seed 003, eqs. 1–4), batched over N particles with a ``pyro.plate``:

.. math::

    z_i \sim p(z), \qquad x_i = g(z_i), \qquad
    \tilde p_i \sim \operatorname{Dir}\!\big(\alpha \cdot \max(f(x_i), c)\big), \qquad
    \text{condition on } \tilde p_i = p,

so the posterior is :math:`\pi(z) \propto p(z)\, \operatorname{Dir}(p \mid \alpha f(g(z)))`
(eq. 4). α is the tolerance (larger = tighter), c (``clamp``) keeps the concentration positive.

The ``"normal"`` relaxation is the Bayes-TrEx alternative. For a pair target (two equal largest
entries a, b that exceed every other entry, e.g. ``1vs7``):

.. math::

    0 \sim \mathcal N\big(|f_a - f_b|, \sigma^2\big), \qquad
    m \sim \mathcal N\big(\min(f_a, f_b) - \max_{l \ne a,b} f_l, \sigma^2\big),

observed at 0 and at the margin m = 0.5 (the margin term is dropped when K = 2). For every other
target (ambiguous, confident, graded, explicit vectors) each class is constrained on its own,
:math:`p_l \sim \mathcal N(f_l, \sigma^2)` independently, observed at the target. σ = 0.05.

The ``"band"`` relaxation is the prior restricted to a tolerance band,
:math:`\pi(z) \propto p(z)\, \mathbf 1\{\max_l |f(g(z))_l - p_l| \le \tau\}` (a ``pyro.factor``
of 0 inside, −inf outside): exactly the law of prior rejection at tolerance τ, whose images are as
varied and in-distribution as the generator's own. Its normalizing constant is the prior mass of
the band; :mod:`levelsets.inference.band` samples it and estimates that mass.

:func:`log_density_fn` evaluates this model's log joint by *tracing* it (``poutine.condition`` +
``poutine.trace``, per-particle ``log_prob``), so samplers never carry a second copy of the density.

References
----------
Booth et al., *Sampling Prediction-Matching Examples in Neural Networks*, eqs. 1–4.
Booth et al., *Bayes-TrEx: a Bayesian sampling approach to model transparency by example* (2021).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import NamedTuple

import pyro
import pyro.distributions as pdist
import torch
from pyro import poutine

from levelsets.errors import LevelsetsError

RELAXATIONS = ("dirichlet", "normal", "band")
BAND_TOLERANCE = 0.05
"""Default τ of the band relaxation: max_l |f_l − p_l| ≤ τ."""
NORMAL_SIGMA = 0.05
"""σ of the Bayes-TrEx Normal constraints."""
NORMAL_MARGIN = 0.5
"""Observed margin min(p_a, p_b) − max(p_other) of the Bayes-TrEx pair constraint."""
PAIR_TOLERANCE = 1e-9


class LogDensity(NamedTuple):
    """Per-particle terms of the log joint at positions z of shape ``(N, d)``."""

    log_prior: torch.Tensor
    """log p(z_i), shape ``(N,)``; −inf outside the prior's support."""
    log_lik: torch.Tensor
    """log p(p̃ = p | z_i), shape ``(N,)`` (sum over all observed sites)."""
    probs: torch.Tensor
    """f(g(z_i)), the classifier's probabilities, shape ``(N, K)``."""
    grad_log_prior: torch.Tensor | None = None
    """∇_z log p(z_i), ``(N, d)``; only from ``log_density_fn(..., gradients=True)``."""
    grad_log_lik: torch.Tensor | None = None
    """∇_z log L(z_i), ``(N, d)``, through the decoder and the classifier; only with gradients."""



def target_pair(target: torch.Tensor) -> tuple[int, int] | None:
    """Return the pair (a, b) of a pair target (two equal largest entries above all others), else None.

    Parameters
    ----------
    target:
        Target probabilities, shape ``(K,)``.
    """
    k = target.shape[0]
    order = torch.argsort(target, descending=True)
    a, b = int(order[0]), int(order[1])
    if abs(float(target[a] - target[b])) > PAIR_TOLERANCE:
        return None
    if k > 2 and float(target[b]) - float(target[order[2]]) <= PAIR_TOLERANCE:
        return None
    return (min(a, b), max(a, b))


def check_model_inputs(target: torch.Tensor, alpha: float, relaxation: str, tolerance: float = BAND_TOLERANCE) -> None:
    """Raise :class:`LevelsetsError` for an unknown relaxation, α ≤ 0, τ ∉ (0, 1) or a target Dirichlet cannot observe."""
    if relaxation not in RELAXATIONS:
        raise LevelsetsError(f"unknown relaxation {relaxation!r}; choose one of {', '.join(RELAXATIONS)}")
    if not alpha > 0:
        raise LevelsetsError(f"alpha must be > 0, got {alpha}; larger alpha means a tighter level set (try 100)")
    if target.ndim != 1 or target.shape[0] < 2:
        raise LevelsetsError(f"target must be a vector of K ≥ 2 probabilities, got shape {tuple(target.shape)}")
    if relaxation == "band" and not 0 < tolerance < 1:
        raise LevelsetsError(f"tolerance must lie in (0, 1), got {tolerance}; it bounds max_l |f_l − p_l| (try 0.05)")
    if relaxation == "dirichlet" and bool((target <= 0).any()):
        raise LevelsetsError(
            "the Dirichlet relaxation needs every target probability > 0; use a small value such as 0.001 "
            "instead of 0, or --relaxation normal"
        )


def level_set_model(
    prior: torch.distributions.Distribution,
    decoder: Callable[[torch.Tensor], torch.Tensor],
    classifier: Callable[[torch.Tensor], torch.Tensor],
    target: torch.Tensor,
    alpha: float,
    relaxation: str = "dirichlet",
    num_particles: int = 1,
    clamp: float = 1e-6,
    sigma: float = NORMAL_SIGMA,
    margin: float = NORMAL_MARGIN,
    tolerance: float = BAND_TOLERANCE,
) -> torch.Tensor:
    """Pyro model of the level-set posterior (module docstring), N particles in a plate.

    Parameters
    ----------
    prior:
        Latent prior p(z), event shape ``(d,)``.
    decoder:
        g: z ``(N, d)`` → images ``(N, ...)``.
    classifier:
        f: images → probabilities ``(N, K)`` (a black box, see
        :func:`levelsets.classifiers.black_box.as_probability_fn`).
    target:
        Target probabilities p, shape ``(K,)``.
    alpha:
        Dirichlet concentration scale α > 0 (ignored by the Normal relaxation).
    relaxation:
        ``"dirichlet"`` (seed 003) or ``"normal"`` (Bayes-TrEx).
    num_particles:
        N, the size of the ``"particles"`` plate.
    clamp:
        Lower bound c on f(x) inside the Dirichlet concentration.
    sigma, margin:
        σ and the observed margin of the Normal relaxation.
    tolerance:
        τ of the band relaxation.

    Returns
    -------
    torch.Tensor
        The classifier probabilities f(g(z)), shape ``(N, K)``; also recorded as the
        deterministic site ``"probs"``.

    Sites: ``"z"`` (latent, ``(N, d)``), ``"probs"`` (deterministic), and the observed
    ``"p"`` (Dirichlet, or per-class Normal), ``"p_gap"`` + ``"p_margin"`` (Normal, pair targets)
    or the factor ``"band"`` (log 1{max_l |f_l − p_l| ≤ τ}: 0 inside the band, −inf outside).
    """
    with pyro.plate("particles", num_particles):
        z = pyro.sample("z", prior if isinstance(prior, PyroPrior) else PyroPrior(prior))
        x = decoder(z)
        probs = classifier(x)
        pyro.deterministic("probs", probs, event_dim=1)
        obs = target.to(dtype=probs.dtype, device=probs.device)
        if relaxation == "dirichlet":
            concentration = alpha * probs.clamp_min(clamp)
            pyro.sample("p", pdist.Dirichlet(concentration), obs=obs.expand(probs.shape))
        elif relaxation == "normal":
            pair = target_pair(obs)
            if pair is None:
                pyro.sample("p", pdist.Normal(probs, sigma).to_event(1), obs=obs.expand(probs.shape))
            else:
                a, b = pair
                pa, pb = probs[..., a], probs[..., b]
                zero = torch.zeros_like(pa)
                pyro.sample("p_gap", pdist.Normal((pa - pb).abs(), sigma), obs=zero)
                if probs.shape[-1] > 2:
                    others = torch.ones(probs.shape[-1], dtype=torch.bool, device=probs.device)
                    others[[a, b]] = False
                    gap = torch.minimum(pa, pb) - probs[..., others].max(dim=-1).values
                    pyro.sample("p_margin", pdist.Normal(gap, sigma), obs=zero + margin)
        elif relaxation == "band":
            inside = (probs - obs).abs().amax(dim=-1) <= tolerance
            pyro.factor("band", torch.where(inside, 0.0, float("-inf")).to(probs.dtype))
        else:
            raise LevelsetsError(f"unknown relaxation {relaxation!r}; choose one of {', '.join(RELAXATIONS)}")
    return probs


def _reachable_distributions(dist: torch.distributions.Distribution, depth: int = 4) -> list:
    """``dist`` and the distributions it is built from (``base_dist``, mixture components, ...)."""
    found = [dist]
    if depth > 0:
        for value in vars(dist).values():
            if isinstance(value, torch.distributions.Distribution):
                found.extend(_reachable_distributions(value, depth - 1))
    return found


@contextlib.contextmanager
def _no_support_validation(prior: torch.distributions.Distribution) -> Iterator[None]:
    """Let ``prior.log_prob`` run (not raise) on random-walk proposals outside its support."""
    changed = [d for d in _reachable_distributions(prior) if getattr(d, "_validate_args", False)]
    for d in changed:
        d._validate_args = False
    try:
        with pyro.validation_enabled(False):
            yield
    finally:
        for d in changed:
            d._validate_args = True


class PyroPrior(pdist.TorchDistribution):
    """Any torch latent prior as a Pyro distribution whose ``log_prob`` is −inf outside the support.

    Pyro sample sites need Pyro's distribution interface (callable, ``expand`` under a plate);
    users may hand in a plain ``torch.distributions`` prior or their own subclass. This wrapper
    delegates ``sample``/``log_prob`` to the wrapped prior, masks values outside
    ``prior.support`` to −inf (a truncated normal's formula is finite there otherwise), and never
    raises on such values.

    Parameters
    ----------
    base:
        The prior, event shape ``(d,)``.
    batch_shape:
        Batch shape after a plate's ``expand`` (the wrapped prior's batch shape must be a suffix).
    """

    arg_constraints: dict = {}

    def __init__(self, base: torch.distributions.Distribution, batch_shape: torch.Size | tuple = ()) -> None:
        self.base = base
        batch_shape = torch.Size(batch_shape) if batch_shape else base.batch_shape
        super().__init__(batch_shape, base.event_shape, validate_args=False)

    @property
    def support(self):
        """The wrapped prior's support."""
        return self.base.support

    def expand(self, batch_shape, _instance=None):
        """Return the same prior with a (plate) batch shape."""
        return PyroPrior(self.base, torch.Size(batch_shape))

    def sample(self, sample_shape=()):
        """Draws of shape ``sample_shape + batch_shape + (d,)`` from the wrapped prior."""
        extra = self.batch_shape[: len(self.batch_shape) - len(self.base.batch_shape)]
        return self.base.sample(torch.Size(sample_shape) + extra)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        """Evaluate log p(value): −inf outside the support; shape ``value.shape[:-1]``."""
        with _no_support_validation(self.base):
            lp = self.base.log_prob(value)
        try:
            inside = self.base.support.check(value)
        except RuntimeError:  # no support declared (the base class raises a RuntimeError subclass)
            return lp
        while inside.ndim > lp.ndim:
            inside = inside.all(dim=-1)
        return torch.where(inside, lp, torch.full_like(lp, float("-inf")))


def log_density_fn(
    prior: torch.distributions.Distribution,
    decoder: Callable[[torch.Tensor], torch.Tensor],
    classifier: Callable[[torch.Tensor], torch.Tensor],
    target: torch.Tensor,
    alpha: float,
    relaxation: str = "dirichlet",
    clamp: float = 1e-6,
    sigma: float = NORMAL_SIGMA,
    margin: float = NORMAL_MARGIN,
    tolerance: float = BAND_TOLERANCE,
    *,
    gradients: bool = False,
) -> Callable[[torch.Tensor], LogDensity]:
    r"""Build the log joint of :func:`level_set_model` as a batched function of positions.

    Returns ``log_density(z)`` for z of shape ``(N, d)``: it conditions the model on ``z``, traces
    it once (one decoder + classifier pass for all N), calls ``trace.compute_log_prob()`` and splits
    the per-particle ``log_prob`` of the sites into the prior term (site ``"z"``) and the likelihood
    (all observed, non-deterministic sites). Positions outside the prior's support get
    ``log_prior = -inf``; NaN log densities are mapped to −inf so they are never accepted.

    With ``gradients=True`` the same trace runs under autograd and the result also carries
    :math:`\nabla_z \log p(z)` and :math:`\nabla_z \log L(z)` ``(N, d)`` (two backward passes; the
    particles are independent, so the gradient of the batch sum is each particle's own gradient).
    Non-finite gradient entries are set to 0 — a deterministic function of z, so a proposal built
    from them is still a valid Metropolis–Hastings proposal. When the decoder or the classifier
    does not pass gradients to z (a black box), both gradient fields are ``None``.

    Parameters are those of :func:`level_set_model`.
    """
    check_model_inputs(target, alpha, relaxation, tolerance)

    def log_density(z: torch.Tensor) -> LogDensity:
        if z.ndim != 2:
            raise LevelsetsError(f"positions must have shape (N, d), got {tuple(z.shape)}")
        n = z.shape[0]
        if gradients:
            z = z.detach().requires_grad_(True)
        conditioned = poutine.condition(level_set_model, data={"z": z})
        with torch.set_grad_enabled(gradients), _no_support_validation(prior):
            trace = poutine.trace(conditioned).get_trace(
                prior, decoder, classifier, target, alpha, relaxation, n, clamp, sigma, margin, tolerance
            )
            trace.compute_log_prob()
        log_prior = trace.nodes["z"]["log_prob"]
        log_lik = torch.zeros_like(log_prior)
        for name, site in trace.nodes.items():
            if site["type"] != "sample" or name == "z" or not site["is_observed"]:
                continue
            if site["infer"].get("_deterministic"):
                continue
            log_lik = log_lik + site["log_prob"].to(log_prior.dtype)
        probs = trace.nodes["probs"]["value"]
        neg_inf = torch.tensor(float("-inf"), dtype=log_prior.dtype, device=log_prior.device)
        log_prior = torch.where(torch.isnan(log_prior), neg_inf, log_prior)
        log_lik = torch.where(torch.isnan(log_lik), neg_inf, log_lik)
        if not gradients:
            return LogDensity(log_prior.expand(n), log_lik.expand(n), probs)
        grad_prior, grad_lik = _gradients(z, log_prior, log_lik)
        return LogDensity(log_prior.detach().expand(n), log_lik.detach().expand(n), probs.detach(), grad_prior, grad_lik)

    return log_density


def _gradients(z: torch.Tensor, log_prior: torch.Tensor, log_lik: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | tuple[None, None]:
    """∇ log p and ∇ log L at z ``(N, d)`` from the traced terms ``(N,)`` (see :func:`log_density_fn`);
    ``(None, None)`` when the likelihood does not depend on z through autograd (a black box).
    """
    if not log_lik.requires_grad:
        return None, None
    finite = torch.isfinite(log_lik)
    (grad_lik,) = torch.autograd.grad(torch.where(finite, log_lik, 0.0).sum(), z, retain_graph=True, allow_unused=True)
    if log_prior.requires_grad:
        (grad_prior,) = torch.autograd.grad(torch.where(torch.isfinite(log_prior), log_prior, 0.0).sum(), z,
                                            allow_unused=True)
    else:
        grad_prior = None
    if grad_lik is None:
        return None, None
    zeros = torch.zeros_like(z)
    grad_lik = torch.nan_to_num(grad_lik.detach(), nan=0.0, posinf=0.0, neginf=0.0)
    grad_prior = zeros if grad_prior is None else torch.nan_to_num(grad_prior.detach(), nan=0.0, posinf=0.0, neginf=0.0)
    return grad_prior, grad_lik
