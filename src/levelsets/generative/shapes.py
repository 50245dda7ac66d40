r"""The "rockets or houses" world of seed 003: exact prior, renderer, exact posterior.

Generative process (seed 003, section "Rockets or Houses"; DESIGN §4)::

    c ~ Bernoulli(0.5)                 # 0 = rocket, 1 = house (SHAPES_CLASSES order)
    rocket: w ~ N+(10, 5²),  h ~ N+(30, 10²)
    house:  w ~ N+(30, 10²), h ~ N+(10, 2²)
    t ~ N+(8, 2²)                      # triangle height, shared by both classes
    circle variant: r ~ N+(20, 10²), cx ~ U(20, 40), cy ~ U(20, 40)
    z = (w, h, t)  or  (w, h, t, r, cx, cy)

where :math:`N_+(\mu, \sigma^2)` is the normal truncated to :math:`(0, \infty)`, with density
:math:`\phi((x-\mu)/\sigma) / (\sigma\,\Phi(\mu/\sigma))` for :math:`x > 0`.

Units and canvas
----------------
All latents are in *world units*. The canvas is :data:`CANVAS_UNITS` = 96 units on a side,
rendered on ``size`` × ``size`` pixels (64 by default, so 1 pixel = 1.5 units). The rectangle
(width ``w``, height ``h``) is centred horizontally and stands on a ground line
:data:`GROUND_UNITS` = 8 units above the bottom edge; the triangle (base ``w``, height ``t``) sits
on top of it. So widths up to 96 units and ``h + t`` up to 88 units are visible; anything beyond
is clipped by the canvas edge (for the prior this is rare: ``P(w > 96)`` and ``P(h + t > 88)``
are both below 1e-8). The circle of the circle variant is an outline of radius ``r`` centred at
``(cx, cy)`` units, measured from the canvas's left and bottom edges. Shapes are white (1) on
black (0), with exact box-filter (area) anti-aliasing for the rectangle, area anti-aliasing per
pixel row for the triangle, then a Gaussian blur of :data:`BLUR_SIGMA_PX` pixels.

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

CANVAS_UNITS = 96.0
GROUND_UNITS = 8.0
BLUR_SIGMA_PX = 1.0
CIRCLE_LINE_UNITS = 1.5
IMAGE_SIZE = 64

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


def _overlap(lo: torch.Tensor, hi: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Length of [lo, hi] ∩ [a, b] (0 when disjoint); broadcasting."""
    return (torch.minimum(hi, b) - torch.maximum(lo, a)).clamp_min(0.0)


def blur_matrix(size: int, sigma_px: float, dtype: torch.dtype = torch.float32, device=None) -> torch.Tensor:
    """``(size, size)`` matrix B such that ``B @ img @ B.T`` is a Gaussian blur with zero padding.

    The kernel is truncated at 3σ and normalized; a dense matmul is ~15× faster on the CPU than
    ``conv2d`` with one channel.
    """
    radius = max(1, int(math.ceil(3.0 * sigma_px)))
    x = torch.arange(-radius, radius + 1, dtype=torch.float64)
    k = torch.exp(-0.5 * (x / sigma_px) ** 2)
    k = k / k.sum()
    idx = torch.arange(size)
    diff = idx[None, :] - idx[:, None]  # column − row
    band = diff.abs() <= radius
    mat = torch.zeros(size, size, dtype=torch.float64)
    mat[band] = k[(diff + radius)[band]]
    return mat.to(dtype=dtype, device=device)


def _row_blur_table(b: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    r"""Table of horizontally blurred centred boxes, indexed by integer half-width.

    A centred box of half-width :math:`h` pixels covers column :math:`m` by
    :math:`\operatorname{clamp}(h - k_m, 0, 1)`, and after the blur column :math:`j` holds
    :math:`g_j(h) = \sum_m B_{jm}\operatorname{clamp}(h - k_m, 0, 1)`, which is piecewise linear
    in :math:`h` with knots at the integers. Row :math:`q` of the table is :math:`g(q)`, so
    :math:`g(h)` is the linear interpolation between rows :math:`\lfloor h \rfloor` and
    :math:`\lfloor h \rfloor + 1` (exact). Shape ``(S/2 + 2, S)``.
    """
    size = b.shape[0]
    q = torch.arange(size // 2 + 2, dtype=b.dtype, device=b.device).clamp_max(size // 2)
    covered = (k[None, :] < q[:, None]).to(b.dtype)  # (Q, S): column m fully inside box of half-width q
    return covered @ b.T


def render(z: torch.Tensor, size: int = IMAGE_SIZE, *, blur_sigma_px: float = BLUR_SIGMA_PX) -> torch.Tensor:
    r"""Render latents into grayscale images, batched (no Python loop over images).

    Rectangle: exact pixel-area coverage, separable as ``cov_y(row) · cov_x(col)``. Triangle: per
    pixel row, the fraction of the row inside [base, apex] times the exact horizontal overlap with
    the triangle's width at the middle of that part of the row. Circle (6-d latents): an outline
    of width 1.5 units, anti-aliased by its distance to the pixel centre, combined by max. Then
    a Gaussian blur with zero padding, ``B @ img @ B.T`` (:func:`blur_matrix`); without the
    circle the same blurred image is computed faster by blurring the rectangle and the triangle
    separately (exact; ~20k images/s at batch 1000 on one busy CPU core).

    Parameters
    ----------
    z:
        ``(N, 3)`` = (w, h, t) or ``(N, 6)`` = (w, h, t, r, cx, cy) in world units (the canvas is
        96 units wide; see the module docstring). Non-positive sizes render as nothing.
    size:
        Output side in pixels, even (64 by default; the canvas stays 96 units).
    blur_sigma_px:
        Standard deviation of the Gaussian blur in pixels (0 disables it).

    Returns
    -------
    torch.Tensor
        ``(N, 1, size, size)`` float32 (float64 if ``z`` is float64) in [0, 1], on ``z``'s device.
        Row 0 is the top of the canvas.
    """
    if z.dim() != 2 or z.shape[-1] not in (3, 6):
        raise ValueError(f"render expects latents of shape (N, 3) or (N, 6), got {tuple(z.shape)}")
    if size < 4 or size % 2:
        raise ValueError(f"render needs an even image size >= 4, got {size}")
    dtype = z.dtype if z.dtype == torch.float64 else torch.float32
    z = z.to(dtype)
    dev = z.device
    px = CANVAS_UNITS / size
    edges = torch.arange(size + 1, dtype=dtype, device=dev) * px
    row_lo, row_hi = CANVAS_UNITS - edges[1:], CANVAS_UNITS - edges[:-1]  # y up from the bottom; row 0 on top
    # Column j spans [c + (k_j)px, c + (k_j + 1)px] on its side of the centre line c (size even).
    k = (torch.arange(size, dtype=dtype, device=dev) - (size - 1) / 2).abs() - 0.5

    w = z[:, 0].clamp_min(0.0)[:, None]
    h = z[:, 1].clamp_min(0.0)[:, None]
    t = z[:, 2].clamp_min(0.0)[:, None]
    base = GROUND_UNITS + h

    cov_x = (w / (2 * px) - k).clamp_(0.0, 1.0)  # (N, S)
    cov_y = _overlap(row_lo, row_hi, torch.full_like(h, GROUND_UNITS), base) / px  # (N, S)
    apex = base + t
    lo = torch.maximum(row_lo, base)
    hi = torch.minimum(row_hi, apex)
    vert = (hi - lo).clamp_min(0.0) / px  # (N, S) rows
    frac = ((0.5 * (lo + hi) - base) / t.clamp_min(1e-6)).clamp(0.0, 1.0)
    half_px = (w / (2 * px)) * (1.0 - frac)  # (N, S) half width at each row, in pixels
    if z.shape[-1] == 3 and blur_sigma_px > 0:
        # Fast path (no circle): rectangle and triangle occupy disjoint parts of each pixel, so
        # the image is their sum and the (linear) blur acts on each separately: exactly
        # separable for the rectangle, a lookup table along x for the triangle (see
        # _row_blur_table), and one matmul along y.
        b = blur_matrix(size, blur_sigma_px, dtype, dev)
        rect = (cov_y @ b.T)[:, :, None] * (cov_x @ b.T)[:, None, :]
        table = _row_blur_table(b, k)  # (S/2 + 2, S)
        hp = half_px.nan_to_num(0.0, posinf=size / 2, neginf=0.0).clamp(0.0, size / 2)  # safe table index
        q = hp.floor()
        frac = (hp - q)[:, :, None]
        q = q.long()
        lo_rows, hi_rows = table[q], table[q + 1]  # (N, S, S)
        tri = vert[:, :, None] * torch.lerp(lo_rows, hi_rows, frac)
        img = rect + torch.matmul(b, tri)
        return img[:, None].clamp_(0.0, 1.0)

    horiz = (half_px[:, :, None] - k).clamp_(0.0, 1.0)  # (N, S, S)
    img = torch.addcmul(cov_y[:, :, None] * cov_x[:, None, :], vert[:, :, None], horiz).clamp_(0.0, 1.0)

    if z.shape[-1] == 6:
        r, ccx, ccy = z[:, 3].clamp_min(0.0), z[:, 4], z[:, 5]
        dx2 = ((0.5 * (edges[:-1] + edges[1:]))[None, :] - ccx[:, None]) ** 2  # (N, S) columns
        dy2 = ((0.5 * (row_lo + row_hi))[None, :] - ccy[:, None]) ** 2  # (N, S) rows
        dist = (dy2[:, :, None] + dx2[:, None, :]).sqrt_()
        ring = (0.5 + (CIRCLE_LINE_UNITS / 2 - (dist - r[:, None, None]).abs_()) / px).clamp_(0.0, 1.0)
        img = torch.maximum(img, ring * (r[:, None, None] > 0))

    if blur_sigma_px > 0:
        b = blur_matrix(size, blur_sigma_px, dtype, dev)
        img = torch.matmul(b, torch.matmul(img, b.T))
    return img[:, None].clamp_(0.0, 1.0)


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
