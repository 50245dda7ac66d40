r"""The "rockets or houses" world of seed 003: exact prior, exact posterior, and the world bundle.

Generative process (seed 003, section "Rockets or Houses"; DESIGN §4)::

    c ~ Bernoulli(0.5)                 # 0 = rocket, 1 = house (SHAPES_CLASSES order)
    rocket: w ~ N+(10, 5²),  h ~ N+(30, 10²)
    house:  w ~ N+(30, 10²), h ~ N+(10, 2²)
    t ~ N+(8, 2²)                      # triangle height, shared by both classes
    circle variant: r ~ N+(20, 10²), cx ~ U(20, 40), cy ~ U(20, 40)
    z = (w, h, t)  or  (w, h, t, r, cx, cy)

where :math:`N_+(\mu, \sigma^2)` is the normal truncated to :math:`(0, \infty)`, with density
:math:`\phi((x-\mu)/\sigma) / (\sigma\,\Phi(\mu/\sigma))` for :math:`x > 0`.

Images: :func:`~levelsets.generative.shapes_render.render` (units, canvas and blur in
:mod:`levelsets.generative.shapes_render`), re-exported here.

References
----------
Seed 003, "Rockets or Houses: A Synthetic Geometric World" (generative process and Figure 2).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import pyro.distributions as pdist
import torch
from torch.distributions import constraints

from levelsets.generative.shapes_render import (  # noqa: F401 - re-exported: the world's renderer
    BLUR_SIGMA_PX,
    CANVAS_UNITS,
    CIRCLE_LINE_UNITS,
    GROUND_UNITS,
    IMAGE_SIZE,
    blur_matrix,
    render,
)

SHAPES_CLASSES: tuple[str, str] = ("rocket", "house")
"""Class order everywhere: index 0 = rocket, index 1 = house."""

LATENT_NAMES: tuple[str, ...] = ("w", "h", "t")
CIRCLE_LATENT_NAMES: tuple[str, ...] = ("w", "h", "t", "r", "cx", "cy")

# (mu, sigma) of the truncated normals, per class: rows = (rocket, house), columns = (w, h, t).
CLASS_MU: tuple[tuple[float, float, float], ...] = ((10.0, 30.0, 8.0), (30.0, 10.0, 8.0))
CLASS_SIGMA: tuple[tuple[float, float, float], ...] = ((5.0, 10.0, 2.0), (10.0, 2.0, 2.0))
CIRCLE_R = (20.0, 10.0)
CIRCLE_CENTRE = (20.0, 40.0)
CLASS_PRIOR = (0.5, 0.5)
PROTOTYPES: dict[str, tuple[float, float, float]] = {"rocket": (10.0, 30.0, 8.0), "house": (30.0, 10.0, 8.0)}
"""The prototypical rocket and house of seed 003 fig. 2: each class's mean (w, h, t)."""

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def _log_ndtr(x: float) -> float:
    return float(torch.special.log_ndtr(torch.tensor(x, dtype=torch.float64)))


def truncnorm_logpdf(x: torch.Tensor, mu: float, sigma: float) -> torch.Tensor:
    r"""Log density of :math:`N_+(\mu, \sigma^2)` ignoring the support (caller masks ``x <= 0``).

    :math:`\log \phi((x-\mu)/\sigma) - \log \sigma - \log \Phi(\mu/\sigma)`; finite for all finite ``x``.
    """
    zs = (x - mu) / sigma
    return -0.5 * zs * zs - _LOG_SQRT_2PI - math.log(sigma) - _log_ndtr(mu / sigma)


def truncnorm_moments(mu: float, sigma: float) -> tuple[float, float]:
    r"""Mean and variance of :math:`N_+(\mu, \sigma^2)`.

    With :math:`a = -\mu/\sigma` and :math:`\lambda = \phi(a) / (1 - \Phi(a))`:
    mean :math:`\mu + \sigma\lambda`, variance :math:`\sigma^2 (1 + a\lambda - \lambda^2)`.
    """
    a = -mu / sigma
    pdf = math.exp(-0.5 * a * a - _LOG_SQRT_2PI)
    lam = pdf / (0.5 * math.erfc(a / math.sqrt(2.0)))
    return mu + sigma * lam, sigma * sigma * (1.0 + a * lam - lam * lam)


def _sample_truncnorm(shape: torch.Size, mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Inverse-CDF draw of N+(mu, sigma²) in float64; ``mu``/``sigma`` broadcast against ``shape``.

    With s = (mu - x)/sigma, x > 0 ⇔ s < mu/sigma, so s = Φ⁻¹(v Φ(mu/sigma)), v ~ U(0, 1): accurate
    in the tail that matters (no cancellation near 1).
    """
    v = torch.rand(shape, dtype=torch.float64, device=mu.device)
    cdf_a = torch.special.ndtr(mu / sigma)
    s = torch.special.ndtri((v * cdf_a).clamp_min(1e-300))
    return (mu - sigma * s).clamp_min(1e-12)


class ShapesPrior(pdist.TorchDistribution):
    r"""Exact prior p(z) of the shapes world with the class c marginalized.

    .. math::

        \log p(z) = \operatorname{logsumexp}_{c \in \{0, 1\}} \Big[\log 0.5 +
            \sum_{j \in \{w, h, t\}} \log N_+(z_j; \mu_{cj}, \sigma_{cj}^2)\Big]
            \;(+\; \log N_+(r; 20, 10^2) - 2 \log 20 \text{ with the circle})

    with exact truncated-normal normalizers; ``-inf`` outside the support (any of w, h, t, r
    ≤ 0, or cx, cy outside [20, 40]), never NaN. A Pyro-compatible torch distribution
    (``pyro.sample("z", ShapesPrior())`` works inside plates; ``expand`` is supported).

    Parameters
    ----------
    circle:
        Event shape ``(6,)`` = (w, h, t, r, cx, cy) instead of ``(3,)`` = (w, h, t).
    dtype, device:
        dtype/device of samples (float32 on the CPU by default; float64 works). ``log_prob``
        follows the dtype/device of its argument.
    batch_shape:
        Batch shape (used by :meth:`expand`; normally leave empty).
    validate_args:
        Accepted for API compatibility and ignored: argument validation is always off, because
        out-of-support values must give ``-inf`` (the sampler proposes them), not an exception.
    """

    arg_constraints: dict = {}
    has_rsample = False

    def __init__(
        self,
        circle: bool = False,
        *,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
        batch_shape: torch.Size | tuple = (),
        validate_args: bool | None = None,
    ) -> None:
        self.circle = bool(circle)
        self.dtype = dtype
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        event_shape = torch.Size((6,) if self.circle else (3,))
        super().__init__(torch.Size(batch_shape), event_shape, validate_args=False)

    @property
    def latent_names(self) -> tuple[str, ...]:
        """Names of the latent coordinates, in order."""
        return CIRCLE_LATENT_NAMES if self.circle else LATENT_NAMES

    @constraints.dependent_property(is_discrete=False, event_dim=1)
    def support(self) -> constraints.Constraint:
        """Positive w, h, t (and r); cx, cy in [20, 40] for the circle variant."""
        if not self.circle:
            return constraints.independent(constraints.positive, 1)
        return constraints.independent(
            constraints.cat([constraints.positive, constraints.interval(*CIRCLE_CENTRE)], dim=-1, lengths=[4, 2]),
            1,
        )

    def expand(self, batch_shape, _instance=None):  # noqa: D102
        return ShapesPrior(self.circle, dtype=self.dtype, device=self.device, batch_shape=torch.Size(batch_shape))

    def sample(self, sample_shape: torch.Size | tuple = ()) -> torch.Tensor:
        """Draw ``sample_shape + batch_shape + event_shape`` latents (ancestral sampling)."""
        shape = torch.Size(sample_shape) + self.batch_shape
        with torch.no_grad():
            c = torch.rand(shape, device=self.device) < CLASS_PRIOR[1]
            mu = torch.tensor(CLASS_MU, dtype=torch.float64, device=self.device)[c.long()]
            sigma = torch.tensor(CLASS_SIGMA, dtype=torch.float64, device=self.device)[c.long()]
            z = _sample_truncnorm(shape + (3,), mu, sigma)
            if self.circle:
                one = torch.ones(shape + (1,), dtype=torch.float64, device=self.device)
                r = _sample_truncnorm(shape + (1,), CIRCLE_R[0] * one, CIRCLE_R[1] * one)
                lo, hi = CIRCLE_CENTRE
                centre = lo + (hi - lo) * torch.rand(shape + (2,), dtype=torch.float64, device=self.device)
                z = torch.cat([z, r, centre], dim=-1)
        return z.to(self.dtype)

    def class_log_joint(self, value: torch.Tensor) -> torch.Tensor:
        r"""``(..., 2)``: :math:`\log 0.5 + \sum_j \log N_+(z_j; \mu_{cj}, \sigma_{cj})` for c = 0, 1.

        Ignores the support (finite for every finite ``value``); only w, h, t enter.
        """
        out = []
        for c in range(2):
            term = math.log(CLASS_PRIOR[c])
            for j in range(3):
                term = term + truncnorm_logpdf(value[..., j], CLASS_MU[c][j], CLASS_SIGMA[c][j])
            out.append(term)
        return torch.stack(out, dim=-1)

    def in_support(self, value: torch.Tensor) -> torch.Tensor:
        """Boolean ``(...)``: whether each latent lies in the support."""
        ok = (value[..., :3] > 0).all(-1)
        if self.circle:
            lo, hi = CIRCLE_CENTRE
            ok = ok & (value[..., 3] > 0) & ((value[..., 4:6] >= lo) & (value[..., 4:6] <= hi)).all(-1)
        return ok

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        """Exact log p(z), shape ``value.shape[:-1]``; ``-inf`` outside the support."""
        if value.shape[-1] != self.event_shape[0]:
            raise ValueError(f"ShapesPrior expects latents with last dimension {self.event_shape[0]}, got {tuple(value.shape)}")
        if not value.is_floating_point():
            value = value.to(self.dtype)
        lp = torch.logsumexp(self.class_log_joint(value), dim=-1)
        if self.circle:
            lo, hi = CIRCLE_CENTRE
            lp = lp + truncnorm_logpdf(value[..., 3], *CIRCLE_R) - 2.0 * math.log(hi - lo)
        return torch.where(self.in_support(value), lp, torch.full_like(lp, -math.inf))

    @property
    def mean(self) -> torch.Tensor:
        """Exact mean of z (mixture of truncated-normal means)."""
        m = [sum(0.5 * truncnorm_moments(CLASS_MU[c][j], CLASS_SIGMA[c][j])[0] for c in range(2)) for j in range(3)]
        if self.circle:
            m += [truncnorm_moments(*CIRCLE_R)[0], sum(CIRCLE_CENTRE) / 2, sum(CIRCLE_CENTRE) / 2]
        return torch.tensor(m, dtype=self.dtype, device=self.device).expand(self.batch_shape + self.event_shape)

    @property
    def variance(self) -> torch.Tensor:
        """Exact marginal variance of each coordinate of z (law of total variance over c)."""
        v = []
        for j in range(3):
            mom = [truncnorm_moments(CLASS_MU[c][j], CLASS_SIGMA[c][j]) for c in range(2)]
            mean = 0.5 * (mom[0][0] + mom[1][0])
            v.append(sum(0.5 * (var + (m - mean) ** 2) for m, var in mom))
        if self.circle:
            width = CIRCLE_CENTRE[1] - CIRCLE_CENTRE[0]
            v += [truncnorm_moments(*CIRCLE_R)[1], width**2 / 12, width**2 / 12]
        return torch.tensor(v, dtype=self.dtype, device=self.device).expand(self.batch_shape + self.event_shape)


def exact_posterior(z: torch.Tensor) -> torch.Tensor:
    r"""Exact class posterior ``(N, 2)`` = [p(rocket | z), p(house | z)] by Bayes' rule.

    .. math::

        p(c \mid z) = \frac{0.5\, N_+(w; \mu_{cw}, \sigma_{cw}) N_+(h; \mu_{ch}, \sigma_{ch})}
                           {\sum_{c'} 0.5\, N_+(w; \mu_{c'w}, \sigma_{c'w}) N_+(h; \mu_{c'h}, \sigma_{c'h})}

    The triangle height t has the same distribution for both classes and cancels, as do the
    circle's r, cx, cy; only w and h matter. Computed in log space (softmax), so rows sum to 1.
    For latents outside the support the same formula is evaluated (the ratio is still defined).

    Parameters
    ----------
    z:
        ``(..., 3)`` or ``(..., 6)`` latents in world units.
    """
    return torch.softmax(ShapesPrior().class_log_joint(z), dim=-1)


def sample_classes(posterior: torch.Tensor, seed: int) -> torch.Tensor:
    r"""True classes ``(N,)`` (0 rocket, 1 house) given the exact posterior ``(N, 2)`` of prior latents.

    The prior marginalizes the class, so the class that generated each shape is drawn from
    :math:`p(c \mid z)` (:func:`exact_posterior`, float64) with a private generator seeded by
    ``seed``: together with :math:`z \sim p(z)` this is exactly the joint :math:`(c, z)` of the
    generative process, also for latents kept by a filter on :math:`z` (the filter does not touch
    :math:`c \mid z`).
    """
    gen = torch.Generator().manual_seed(int(seed))
    return (torch.rand(posterior.shape[0], generator=gen, dtype=torch.float64) < posterior[:, 1].double()).long()


def bayes_accuracy(z: torch.Tensor) -> float:
    """Bayes-optimal accuracy on latents ``z``: mean over samples of max_c p(c | z)."""
    return float(exact_posterior(z.double()).max(dim=-1).values.mean())


@dataclass(frozen=True)
class ShapesWorld:
    """The shapes world bundled for the sampler: prior, renderer (decoder), names, exact posterior.

    Attributes
    ----------
    circle:
        Whether the circle variant (6-d latent) is used.
    size:
        Image side in pixels.
    """

    circle: bool = False
    size: int = IMAGE_SIZE

    class_names: tuple[str, str] = SHAPES_CLASSES

    @property
    def latent_names(self) -> tuple[str, ...]:
        """(w, h, t) or (w, h, t, r, cx, cy)."""
        return CIRCLE_LATENT_NAMES if self.circle else LATENT_NAMES

    def prior(self, *, dtype: torch.dtype = torch.float32, device: torch.device | str | None = None) -> ShapesPrior:
        """Return the exact prior p(z) (class marginalized)."""
        return ShapesPrior(self.circle, dtype=dtype, device=device)

    @property
    def decoder(self) -> Callable[[torch.Tensor], torch.Tensor]:
        """Renderer as a decoder: latents ``(N, d)`` → images ``(N, 1, size, size)``."""
        size = self.size

        def decode(z: torch.Tensor) -> torch.Tensor:
            return render(z, size)

        return decode

    @staticmethod
    def exact_posterior(z: torch.Tensor) -> torch.Tensor:
        """Exact p(class | z), ``(N, 2)``; see :func:`exact_posterior`."""
        return exact_posterior(z)
