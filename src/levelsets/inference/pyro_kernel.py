r"""The vectorized random-walk kernel as a ``pyro.infer.mcmc.MCMCKernel``.

Lets Pyro users drive the level-set sampler through ``pyro.infer.MCMC`` (its progress bar,
``get_samples``, ``summary``, ArviZ's ``az.from_pyro``)::

    kernel = LevelSetRWKernel(prior, decoder, classifier, target, alpha=100.0, num_particles=500)
    mcmc = pyro.infer.MCMC(kernel, num_samples=200, warmup_steps=200)
    mcmc.run()
    z = mcmc.get_samples()["z"]          # (num_samples, num_particles, d)

One Pyro "chain" carries all N particles as a batch (site ``z`` of shape ``(N, d)``). During warm-up
the per-particle step sizes adapt (:mod:`levelsets.inference.adaptation`); at the end of warm-up
they are frozen, so the samples come from a time-homogeneous Metropolis–Hastings chain whose
stationary law is the level-set posterior :math:`\pi(z) \propto p(z) L(z)` for every particle.
This kernel runs plain random-walk MH from the prior (seed 003's scheme); for multimodal level
sets start it from the tempered-SMC output of :func:`levelsets.inference.sample_level_set`
(``initial_params={"z": result.final_positions}``).

References
----------
Pyro, ``pyro.infer.mcmc.mcmc_kernel.MCMCKernel`` and ``pyro.infer.mcmc.RandomWalkKernel``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import torch
from pyro.infer.mcmc.mcmc_kernel import MCMCKernel

from levelsets.inference import adaptation, random_walk
from levelsets.inference.model import log_density_fn


class LevelSetRWKernel(MCMCKernel):
    """Pyro MCMC kernel: N particles of vectorized random-walk MH on the level-set posterior.

    Parameters
    ----------
    prior, decoder, classifier:
        As in :func:`levelsets.inference.model.level_set_model`.
    target:
        Target probabilities ``(K,)`` (tensor or array).
    alpha, relaxation:
        Likelihood of :func:`~levelsets.inference.model.level_set_model`.
    num_particles:
        N, the particles moved in lock-step (one batched forward pass per ``sample`` call).
    init_scale:
        Initial step size, relative to the prior's per-coordinate standard deviation.
    target_accept:
        Acceptance rate the step size adapts towards during warm-up.
    seed:
        Seed of the kernel's ``torch.Generator``.
    """

    def __init__(
        self,
        prior: torch.distributions.Distribution,
        decoder: Callable[[torch.Tensor], torch.Tensor],
        classifier: Callable[[torch.Tensor], torch.Tensor],
        target: Any,
        *,
        alpha: float = 100.0,
        relaxation: str = "dirichlet",
        num_particles: int = 100,
        init_scale: float = 0.5,
        target_accept: float = 0.3,
        seed: int = 0,
    ) -> None:
        self.prior = prior
        self.target = torch.as_tensor(getattr(target, "probs", target), dtype=torch.float64)
        self.log_density = log_density_fn(prior, decoder, classifier, self.target, alpha, relaxation)
        self.num_particles = num_particles
        self.init_scale = init_scale
        self.target_accept = target_accept
        self.generator = torch.Generator().manual_seed(seed)
        self.seed = seed
        self.transforms: dict = {}
        self.model = None
        self._state: random_walk.RWState | None = None
        self._adapt: adaptation.AdaptationState | None = None
        self._frozen: torch.Tensor | None = None
        self._initial: dict[str, torch.Tensor] | None = None
        self._warmup_steps = 0
        self._t = 0
        self._accepted = 0.0
        self._last_accept = 0.0

    @property
    def initial_params(self) -> dict[str, torch.Tensor]:
        """``{"z": (N, d)}``: user-given, else prior draws made in :meth:`setup`."""
        return self._initial  # type: ignore[return-value]

    @initial_params.setter
    def initial_params(self, params: dict[str, torch.Tensor]) -> None:
        self._initial = params

    def setup(self, warmup_steps: int, *args: Any, **kwargs: Any) -> None:
        """Draw initial particles (unless given), evaluate them, and start adaptation."""
        self._warmup_steps = warmup_steps
        if self._initial is None:
            with torch.random.fork_rng():
                torch.manual_seed(int(torch.randint(0, 2**62, (), generator=self.generator)))
                self._initial = {"z": self.prior.sample((self.num_particles,))}
        z = self._initial["z"]
        self._state = random_walk.init(z, self.log_density)
        std = z.std(dim=0) if z.shape[0] > 1 else torch.ones(z.shape[1], dtype=z.dtype)
        std = torch.where(std > 0, std, torch.ones_like(std))
        self._adapt = adaptation.init(self.init_scale, std, z.shape[0])
        self._frozen = adaptation.frozen_scale(self._adapt)
        self._t = 0
        self._accepted = 0.0

    def sample(self, params: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """One MH step of all particles; adapts during warm-up, frozen afterwards."""
        assert self._state is not None and self._adapt is not None
        if not torch.equal(params["z"], self._state.position):
            self._state = random_walk.init(params["z"], self.log_density)
        warm = self._t < self._warmup_steps
        scale = adaptation.scale(self._adapt) if warm else self._frozen
        self._state, info = random_walk.step(self._state, self.log_density, scale, self.generator)
        if warm:
            self._adapt = adaptation.update(self._adapt, info.acceptance_prob, self.target_accept)
            if self._t == self._warmup_steps - 1:
                self._frozen = adaptation.frozen_scale(self._adapt)
        else:
            self._accepted += float(info.accepted.double().mean())
        self._last_accept = float(info.accepted.double().mean())
        self._t += 1
        return {"z": self._state.position}

    def logging(self) -> OrderedDict:
        """Progress-bar fields: acceptance of the last step, mean step size."""
        assert self._adapt is not None
        return OrderedDict(acc=f"{self._last_accept:.2f}", step=f"{float(torch.exp(self._adapt.log_scale).mean()):.3g}")

    def diagnostics(self) -> dict:
        """Post-warm-up acceptance rate (mean over particles and steps)."""
        post = self._t - self._warmup_steps
        return {"acceptance rate": self._accepted / post if post > 0 else float("nan")}
