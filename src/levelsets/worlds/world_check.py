"""The probe every plugin world passes before use: shapes, ranges and probabilities on a few prior draws.

Every plugin world (anything but the built-ins) is checked on a probe batch of 4 latents from its
prior before use: prior event shape ``(d,)`` with finite ``log_prob``; decoder output a float tensor
``(4, C, H, W)`` in [0, 1] without NaN; classifier output ``(4, K)`` probabilities with K = the
number of class names; ``exact_posterior`` (if given) likewise. Any failure — a missing file, an
import error, a missing function, an exception in it, a shape that does not fit — is one
:class:`~levelsets.errors.LevelsetsError` line naming the plugin and the problem. The probe runs in
a forked RNG, so it does not change the seeded run that follows.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from levelsets.errors import LevelsetsError
from levelsets.worlds.world import World

PROBE_SIZE = 4
PIXEL_SLACK = 1e-3
"""How far outside [0, 1] a decoder's pixels may stray before the probe rejects them."""

def one_line(exc: BaseException) -> str:
    """An exception as one line: ``Type: message`` with white space folded."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def check_world(world: World, label: str, *, probe: int = PROBE_SIZE, device: Any = None) -> World:
    """Check a plugin world on ``probe`` latents from its prior; return it with a checked classifier.

    Returns the world with ``classifier`` wrapped by
    :func:`levelsets.classifiers.black_box.as_probability_fn` (so numpy and scikit-learn classifiers
    work and every call is validated) and names filled in.

    Raises
    ------
    LevelsetsError
        ``world plugin LABEL: <problem>`` for the first problem found.
    """
    import torch

    from levelsets.classifiers.black_box import ROW_SUM_TOLERANCE, as_probability_fn

    def fail(problem: str) -> None:
        raise LevelsetsError(f"world plugin {label}: {problem}")

    names = world.class_names
    if isinstance(names, (str, bytes)) or names is None or len(names) < 2:
        fail("class_names must be a list of K ≥ 2 class names")
    if len(set(names)) != len(names):
        fail(f"class_names repeats a name ({list(names)})")
    k = len(names)
    prior = world.prior
    if not isinstance(prior, torch.distributions.Distribution):
        fail(f"prior must be a torch.distributions.Distribution over vectors (event shape (d,)), not a {type(prior).__name__}")
    if len(prior.event_shape) != 1 or len(prior.batch_shape) != 0:
        fail(f"prior has batch shape {tuple(prior.batch_shape)} and event shape {tuple(prior.event_shape)}; it must be one "
             "distribution over vectors, event shape (d,) — wrap a Normal in torch.distributions.Independent(..., 1)")
    d = int(prior.event_shape[0])
    if world.latent_names is None or isinstance(world.latent_names, (str, bytes)) or len(world.latent_names) != d:
        fail(f"latent_names has {0 if world.latent_names is None else len(world.latent_names)} names but the prior's latent has d={d}")
    if not callable(world.decoder):
        fail(f"decoder is a {type(world.decoder).__name__}, not callable")
    if not callable(world.classifier) and not hasattr(world.classifier, "predict_proba"):
        fail(f"classifier is a {type(world.classifier).__name__}: neither callable nor an estimator with predict_proba")
    if world.exact_posterior is not None and not callable(world.exact_posterior):
        fail(f"exact_posterior is a {type(world.exact_posterior).__name__}, not callable")

    cuda = [torch.device(device).index or 0] if device is not None and torch.device(device).type == "cuda" else []
    with torch.random.fork_rng(devices=cuda), torch.no_grad():
        torch.manual_seed(0)
        step = "prior.sample"
        try:
            z = prior.sample((probe,))
            step = "prior.log_prob"
            log_p = prior.log_prob(z)
        except Exception as exc:  # noqa: BLE001
            fail(f"{step} raised {one_line(exc)}")
        if tuple(z.shape) != (probe, d):
            fail(f"prior.sample(({probe},)) has shape {tuple(z.shape)}, expected ({probe}, {d})")
        if tuple(log_p.shape) != (probe,) or not bool(torch.isfinite(log_p).all()):
            fail(f"prior.log_prob of its own samples must be finite with shape ({probe},); got shape {tuple(log_p.shape)}")
        try:
            x = world.decoder(z)
        except Exception as exc:  # noqa: BLE001
            fail(f"decoder raised {one_line(exc)} on a ({probe}, {d}) batch from the prior")
        if not isinstance(x, torch.Tensor):
            fail(f"decoder returned a {type(x).__name__}; it must return a torch tensor of images (N, C, H, W)")
        if x.ndim != 4 or x.shape[0] != probe:
            fail(f"decoder output has shape {tuple(x.shape)} for {probe} latents; expected images ({probe}, C, H, W)")
        if not x.is_floating_point():
            fail(f"decoder output has dtype {x.dtype}; images must be floats in [0, 1]")
        if not bool(torch.isfinite(x).all()):
            fail("decoder output contains NaN or inf")
        if float(x.min()) < -PIXEL_SLACK or float(x.max()) > 1 + PIXEL_SLACK:
            fail(f"decoder output lies in [{float(x.min()):.3g}, {float(x.max()):.3g}]; images must be in [0, 1]")
        raw = as_probability_fn(world.classifier)
        try:
            probs = raw(x)
        except LevelsetsError as exc:
            fail(str(exc).replace("; if it returns logits, wrap it with logits=True", "; if it returns logits, apply a softmax"))
        except Exception as exc:  # noqa: BLE001
            fail(f"classifier raised {one_line(exc)} on decoder images of shape {tuple(x.shape)}")
        if probs.shape[1] != k:
            fail(f"classifier returns {probs.shape[1]} probabilities per image but class_names lists {k} names")
        if probs.shape[0] != probe:
            fail(f"classifier returned {probs.shape[0]} rows for {probe} images")
        if world.exact_posterior is not None:
            try:
                post = world.exact_posterior(z.to(torch.float64))
            except Exception as exc:  # noqa: BLE001
                fail(f"exact_posterior raised {one_line(exc)}")
            post = torch.as_tensor(post)
            if tuple(post.shape) != (probe, k) or not bool(torch.isfinite(post).all()) or \
                    float((post.sum(-1) - 1).abs().max()) > ROW_SUM_TOLERANCE or float(post.min()) < 0:
                fail(f"exact_posterior must return finite probability rows of shape ({probe}, {k}); got shape {tuple(post.shape)}")
    return dataclasses.replace(world, classifier=as_probability_fn(world.classifier, num_classes=k))
