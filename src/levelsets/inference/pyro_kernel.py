r"""The level-set sampler as a ``pyro.infer.mcmc.MCMCKernel``: a thin driver over its state machine.

Lets Pyro users drive exactly the algorithm of :func:`levelsets.inference.sample_level_set`
(:mod:`levelsets.inference.kernel`: tempered SMC burn-in then frozen MH / MALA moves, or the
band's adaptive-level SMC) through ``pyro.infer.MCMC`` — its progress bar, ``get_samples``,
``diagnostics``, ArviZ's ``az.from_pyro``::

    kernel = LevelSetKernel(prior, decoder, classifier, target, SamplerSettings(particles=500, relaxation="dirichlet"))
    mcmc = pyro.infer.MCMC(kernel, num_samples=200, warmup_steps=200)
    mcmc.run()
    z = mcmc.get_samples()["z"]          # (num_samples, N, d)

One Pyro "chain" carries all N particles as a batch (site ``z`` of shape ``(N, d)``). Pyro's
``warmup_steps`` is the sampler's burn-in (``SamplerSettings.burn_in`` is replaced by it): each
``sample`` call is one :meth:`~levelsets.inference.kernel.TemperedKernel.step`, so with the same
settings and seed the post-warm-up samples are the states ``sample_level_set`` passes through
(its ``trace`` keeps every ``thin``-th of them). The generator lives on ``settings.device``.

References
----------
Pyro, ``pyro.infer.mcmc.mcmc_kernel.MCMCKernel`` (the ``setup`` / ``sample`` split).
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import torch
from pyro.infer.mcmc.mcmc_kernel import MCMCKernel

from levelsets.inference import random_walk
from levelsets.inference.kernel import Kernel, LevelSetState, build_kernel
from levelsets.inference.model import log_density_fn
from levelsets.inference.moves import initial_density
from levelsets.inference.settings import SamplerSettings


class LevelSetKernel(MCMCKernel):
    """Pyro MCMC kernel: the N particles of the level-set sampler, one batched step per ``sample``.

    Parameters
    ----------
    prior, decoder, classifier:
        As in :func:`levelsets.inference.sample_level_set`.
    target:
        Target probabilities ``(K,)`` (a :class:`~levelsets.targets.Target`, tensor or array).
    settings:
        :class:`~levelsets.inference.settings.SamplerSettings`; ``particles``, the relaxation,
        the moves and ``seed`` are used, ``burn_in`` comes from Pyro's ``warmup_steps`` and
        ``steps`` from Pyro's run length.
    """

    def __init__(
        self,
        prior: torch.distributions.Distribution,
        decoder: Callable[[torch.Tensor], torch.Tensor],
        classifier: Callable[[torch.Tensor], torch.Tensor],
        target: Any,
        settings: SamplerSettings | None = None,
    ) -> None:
        from levelsets.devices import resolve_device
        from levelsets.inference.sampler import _target_tensor

        self.settings = settings or SamplerSettings()
        self.device = resolve_device(self.settings.device)
        self.prior, self.decoder, self.classifier = prior, decoder, classifier
        self.target = _target_tensor(target, self.device)
        self.transforms: dict = {}
        self.model = None
        self.kernel: Kernel | None = None
        self.state: LevelSetState | None = None
        self._initial: dict[str, torch.Tensor] | None = None
        self._accepted = 0.0
        self._sampling_steps = 0
        self._last_accept = 0.0

    @property
    def initial_params(self) -> dict[str, torch.Tensor]:
        """``{"z": (N, d)}``: the initial particles (prior draws made in :meth:`setup`, unless given)."""
        return self._initial  # type: ignore[return-value]

    @initial_params.setter
    def initial_params(self, params: dict[str, torch.Tensor]) -> None:
        self._initial = params

    def setup(self, warmup_steps: int, *args: Any, **kwargs: Any) -> None:
        """Build the kernel with ``burn_in = warmup_steps``, draw and evaluate the particles, ``init``."""
        from levelsets.inference.sampler import _prior_draws

        s = self.settings
        s = dataclasses.replace(s, burn_in=warmup_steps, steps=max(s.steps, warmup_steps + 1), progress=False)
        gen = torch.Generator(device=self.device)
        gen.manual_seed(s.seed)
        prior_seed = int(torch.randint(0, 2**62, (), generator=gen, device=self.device))  # as sample_level_set
        if self._initial is None:
            self._initial = {"z": _prior_draws(self.prior, s.particles, prior_seed, self.device)}
        z0 = self._initial["z"]
        args_ = (self.prior, self.decoder, self.classifier, self.target, s.alpha, s.relaxation, s.clamp, s.sigma)
        plain = log_density_fn(*args_, tolerance=s.tolerance)
        with_gradients = log_density_fn(*args_, tolerance=s.tolerance, gradients=True)
        first, gradients, self.moves_reason = initial_density(s, z0, plain, with_gradients)
        self.kernel = build_kernel(s, with_gradients if gradients else plain, self.prior, gen, self.target, gradients)
        self.state = self.kernel.init(random_walk.RWState(z0, *first))
        self._accepted, self._sampling_steps = 0.0, 0

    def sample(self, params: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """One step of the state machine for all particles (``params`` are the last returned)."""
        assert self.kernel is not None and self.state is not None, "call setup() first"
        if not torch.equal(params["z"], self.state.particles.position):
            raise ValueError("LevelSetKernel.sample: params differ from the kernel's own last state; "
                             "give new starting points through initial_params before setup()")
        self.state, info = self.kernel.step(self.state)
        self._last_accept = float(info.accepted.double().mean())
        if self.state.sampling:
            self._accepted += self._last_accept
            self._sampling_steps += 1
        return {"z": self.state.particles.position}

    def logging(self) -> OrderedDict:
        """Progress-bar fields: acceptance of the last step and β (tempered) or the level (band)."""
        assert self.state is not None
        return OrderedDict(acc=f"{self._last_accept:.2f}", schedule=f"{self.state.schedule:.3g}")

    def diagnostics(self) -> dict:
        """Acceptance rate over the frozen kernel's steps (mean over particles and steps)."""
        rate = self._accepted / self._sampling_steps if self._sampling_steps else float("nan")
        return {"acceptance rate": rate}
