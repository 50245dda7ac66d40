"""Which moves a run of the level-set sampler uses: gradient-based (MALA) or black-box.

The rule of ``SamplerSettings.moves``: ``"black-box"`` never differentiates; ``"gradient"`` uses
MALA (:mod:`levelsets.inference.mala`) or fails with a one-line reason; ``"auto"`` uses MALA when
the likelihood is smooth (not the band), the latent has more than
:data:`~levelsets.inference.independence.MAX_DIM` dimensions and the decoder and the classifier
pass gradients to the latents — found out on the first evaluation of the particles, which doubles
as the plain one when they do not.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from levelsets.errors import LevelsetsError
from levelsets.inference import independence
from levelsets.inference.model import LogDensity
from levelsets.inference.settings import SamplerSettings

BLACK_BOX_REASON = ("the decoder or the classifier does not pass gradients to the latents (numpy, scikit-learn, "
                    "torch.no_grad() or detach() inside)")


def wants_gradients(settings: SamplerSettings, dim: int) -> tuple[bool, str]:
    """Whether to *try* gradient moves for a d = ``dim`` latent, before looking at the models.

    ``moves="auto"`` tries them for a smooth likelihood above
    :data:`~levelsets.inference.independence.MAX_DIM` dimensions: up to there the black-box population
    moves (independence + DE sweeps) mix between the level set's parts at one forward pass per step,
    where a MALA step costs a forward and a backward pass. Returns ``(try, reason if not)``.

    Raises
    ------
    LevelsetsError
        ``moves="gradient"`` with the band, whose likelihood is an indicator.
    """
    s = settings
    if s.relaxation == "band":
        if s.moves == "gradient":
            raise LevelsetsError("gradient moves need a smooth likelihood, and the band's is an indicator; "
                                 "use --relaxation dirichlet or normal, or --moves auto")
        return False, "the band's likelihood is an indicator (no gradient): moves that keep the restricted prior invariant"
    if s.moves == "black-box":
        return False, "black-box moves requested (moves='black-box')"
    if s.moves == "auto" and dim <= independence.MAX_DIM:
        return False, (f"d = {dim} ≤ {independence.MAX_DIM}: the black-box population moves mix at one forward pass per "
                       "step (moves='gradient' forces MALA)")
    return True, ""


def initial_density(
    settings: SamplerSettings,
    z0: torch.Tensor,
    plain: Callable[[torch.Tensor], LogDensity],
    with_gradients: Callable[[torch.Tensor], LogDensity],
) -> tuple[LogDensity, bool, str]:
    """Evaluate the initial particles ``z0`` ``(N, d)`` and decide the moves: ``(density, gradients, reason)``.

    When gradients are wanted (:func:`wants_gradients`) the first evaluation runs with them; if the
    models turn out to be a black box it doubles as the plain evaluation (no pass is wasted).

    Raises
    ------
    LevelsetsError
        ``moves="gradient"`` when gradients cannot be used.
    """
    wanted, reason = wants_gradients(settings, z0.shape[1])
    if not wanted:
        return plain(z0), False, reason
    try:
        first = with_gradients(z0)
    except RuntimeError as err:  # autograd failed inside the user's model
        if settings.moves == "gradient":
            raise LevelsetsError(f"gradient moves failed: the backward pass through the decoder and classifier raised "
                                 f"{type(err).__name__}: {str(err).splitlines()[0]}; use --moves black-box") from err
        return plain(z0), False, f"black box: the backward pass raised {type(err).__name__}"
    if first.grad_log_lik is None:
        if settings.moves == "gradient":
            raise LevelsetsError(f"gradient moves are not possible: {BLACK_BOX_REASON}; use --moves auto or black-box, "
                                 "or give the decoder and classifier as torch modules")
        return LogDensity(*first[:3]), False, f"black box: {BLACK_BOX_REASON}"
    return first, True, "the decoder and the classifier pass gradients to the latents and the likelihood is smooth"
