r"""Any classifier as a black box: images in, checked probabilities out.

The level-set sampler's black-box moves never differentiate the classifier; they only need a function

.. math:: f : \mathbb{R}^{N \times \dots} \to \Delta^{K-1}, \qquad x \mapsto f(x) \in [0, 1]^{N \times K},

whose rows are probability vectors. :func:`as_probability_fn` turns a ``torch.nn.Module``, a plain
callable (returning torch tensors or numpy arrays) or a scikit-learn estimator into such a function,
evaluated under ``torch.no_grad()`` (unless the caller differentiates, see below) and validated on every call, so a classifier that returns
logits, NaNs or the wrong number of classes fails with a one-line :class:`LevelsetsError` instead of
silently corrupting the posterior.

References
----------
Booth et al., *Sampling Prediction-Matching Examples in Neural Networks*, §3 (the classifier is only
queried for its prediction confidence, so it need not be differentiable).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from levelsets.errors import LevelsetsError

ROW_SUM_TOLERANCE = 1e-3
"""Largest allowed deviation of a row sum from 1 before the output is called "not probabilities"."""


def _is_sklearn_estimator(obj: Any) -> bool:
    return hasattr(obj, "predict_proba") and not isinstance(obj, torch.nn.Module)


def _to_tensor(out: Any, like: torch.Tensor, keep_grad: bool = False) -> torch.Tensor:
    if isinstance(out, torch.Tensor):
        return (out if keep_grad else out.detach()).to(device=like.device)
    if isinstance(out, (list, tuple)):
        out = np.asarray(out)
    if isinstance(out, np.ndarray):
        return torch.as_tensor(np.asarray(out, dtype=np.float64), device=like.device)
    raise LevelsetsError(
        f"classifier returned a {type(out).__name__}; it must return a torch tensor or numpy array of shape (N, K)"
    )


def check_probabilities(probs: torch.Tensor, num_classes: int | None, *, logits_hint: bool = True) -> torch.Tensor:
    """Validate a classifier's output and return it unchanged.

    Parameters
    ----------
    probs:
        Output of the classifier, expected shape ``(N, K)``.
    num_classes:
        Expected K, or ``None`` to accept any K ≥ 2.
    logits_hint:
        Suggest ``logits=True`` when rows do not sum to 1.

    Raises
    ------
    LevelsetsError
        Wrong rank, wrong K, NaN/inf entries, negative entries or rows not summing to 1.
    """
    if probs.ndim != 2:
        raise LevelsetsError(
            f"classifier returned shape {tuple(probs.shape)}; it must return probabilities of shape (N, K)"
        )
    n, k = probs.shape
    if num_classes is not None and k != num_classes:
        raise LevelsetsError(f"classifier returns K={k} classes but the target has {num_classes}; give a target of length {k}")
    bad = ~torch.isfinite(probs).all(dim=1)
    n_bad = int(bad.sum())
    if n_bad:
        raise LevelsetsError(
            f"classifier returned NaN or inf for {n_bad} of {n} images; check the model and its inputs "
            "(images are in [0, 1], shape (N, C, H, W))"
        )
    if n and (probs.min() < 0 or (probs.sum(dim=1) - 1).abs().max() > ROW_SUM_TOLERANCE):
        hint = "; if it returns logits, wrap it with logits=True" if logits_hint else ""
        raise LevelsetsError(f"classifier output rows are not probabilities (negative, or not summing to 1){hint}")
    return probs


def as_probability_fn(
    classifier: Any,
    *,
    num_classes: int | None = None,
    device: torch.device | str | None = None,
    logits: bool = False,
    batch_size: int | None = None,
) -> Callable[[torch.Tensor], torch.Tensor]:
    r"""Wrap any classifier as a black box ``images (N, ...) -> probs (N, K)``.

    Parameters
    ----------
    classifier:
        One of

        * a ``torch.nn.Module`` (put in eval mode and moved to ``device`` when given);
        * a scikit-learn estimator with ``predict_proba`` (called on images flattened to
          ``(N, prod(...))`` float64 numpy arrays);
        * any callable taking a torch tensor and returning a torch tensor or numpy array.
    num_classes:
        K; the output width is checked against it when given.
    device:
        Device for a ``torch.nn.Module``'s parameters and inputs; ``None`` leaves them alone.
    logits:
        The classifier returns unnormalized scores; apply :math:`\operatorname{softmax}` over the
        last axis.
    batch_size:
        Evaluate at most this many images at a time (memory bound); ``None`` for one pass.

    Returns
    -------
    callable
        ``f(images) -> probs``: images of shape ``(N, ...)``; probabilities of shape ``(N, K)`` in the
        dtype the classifier produced (float64 for numpy/scikit-learn), on the images' device,
        computed under ``torch.no_grad()`` — unless the images require grad and grad mode is on:
        then a torch module's (or a torch-returning callable's) output keeps its autograd graph,
        so the sampler's gradient-based moves can differentiate through it.

    Raises
    ------
    LevelsetsError
        When called: output not 2-D, K ≠ ``num_classes``, NaN/inf, or rows not summing to 1.
    """
    if batch_size is not None and batch_size < 1:
        raise LevelsetsError(f"batch_size must be ≥ 1, got {batch_size}")
    if not callable(classifier) and not _is_sklearn_estimator(classifier):
        raise LevelsetsError(f"{type(classifier).__name__} is not a classifier: give a torch module, a callable or an estimator with predict_proba")

    if isinstance(classifier, torch.nn.Module):
        classifier.eval()
        if device is not None:
            classifier.to(device)
        module_device = torch.device(device) if device is not None else None

        def raw(x: torch.Tensor) -> torch.Tensor:
            inp = x.to(module_device) if module_device is not None else x
            out = classifier(inp)
            return _to_tensor(out, x, keep_grad=x.requires_grad)

    elif _is_sklearn_estimator(classifier):

        def raw(x: torch.Tensor) -> torch.Tensor:
            flat = x.detach().reshape(x.shape[0], -1).cpu().numpy().astype(np.float64)
            return _to_tensor(np.asarray(classifier.predict_proba(flat)), x)

    else:

        def raw(x: torch.Tensor) -> torch.Tensor:
            return _to_tensor(classifier(x), x, keep_grad=x.requires_grad)

    def probability_fn(images: torch.Tensor) -> torch.Tensor:
        # Gradients flow only when the caller asks for them (images that require grad, under
        # enable_grad): the gradient-based moves of the sampler (:mod:`levelsets.inference.mala`).
        with torch.set_grad_enabled(images.requires_grad and torch.is_grad_enabled()):
            n = images.shape[0]
            step = n if batch_size is None or n == 0 else batch_size
            chunks = [raw(images[i : i + step]) for i in range(0, n, max(step, 1))] or [raw(images)]
            out = torch.cat(chunks, dim=0) if len(chunks) > 1 else chunks[0]
            if logits:
                out = torch.softmax(out, dim=-1)
            return check_probabilities(out, num_classes, logits_hint=not logits)

    probability_fn.__wrapped__ = classifier  # type: ignore[attr-defined]
    return probability_fn
