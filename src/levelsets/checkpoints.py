"""Saving and safely loading model checkpoints, with their model cards.

A checkpoint is one ``.pt`` file holding only tensors and plain data (so it loads with
``torch.load(..., weights_only=True)``)::

    {"format": "levelsets-checkpoint", "format_version": 1, "kind": "classifier" | "vae" | "gan",
     "config": {...plain architecture settings...}, "state_dict": {...}}

Beside it, ``<name>.card.json`` is the model card: data used, settings, seed, metrics, versions.
Every failure to load (missing, truncated, not a checkpoint, wrong kind, mismatched
configuration) raises :class:`~levelsets.errors.CheckpointError` naming the file and the fix.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from levelsets.artifacts import write_json
from levelsets.errors import CheckpointError

FORMAT = "levelsets-checkpoint"
FORMAT_VERSION = 1


def card_path(checkpoint: str | Path) -> Path:
    """The model-card path for a checkpoint: ``model.pt`` → ``model.card.json``."""
    checkpoint = Path(checkpoint)
    return checkpoint.with_name(checkpoint.stem + ".card.json")


def save_checkpoint(
    path: str | Path,
    *,
    kind: str,
    config: Mapping[str, Any],
    state_dict: Mapping[str, torch.Tensor],
    card: Mapping[str, Any],
) -> Path:
    """Write a checkpoint and its model card atomically.

    Parameters
    ----------
    path:
        Destination ``.pt`` file.
    kind:
        ``"classifier"``, ``"vae"``, ``"gan"`` (checked again on load).
    config:
        Plain (JSON-able) architecture settings needed to rebuild the model, e.g. latent size,
        number of classes, image shape.
    state_dict:
        The model's ``state_dict()``; moved to the CPU before saving.
    card:
        Model card content (data, settings, seed, metrics); written to :func:`card_path`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "config": json.loads(json.dumps(dict(config))),
        "state_dict": {k: v.detach().cpu() for k, v in state_dict.items()},
    }
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    write_json(card_path(path), {"kind": kind, "config": payload["config"], **dict(card)})
    return path


def load_checkpoint(
    path: str | Path,
    *,
    kind: str,
    expect: Mapping[str, Any] | None = None,
    retrain_hint: str = "",
) -> dict[str, Any]:
    """Load a checkpoint safely (``weights_only=True``) and check it is what the caller needs.

    Parameters
    ----------
    path:
        The ``.pt`` file.
    kind:
        The kind the caller needs; a different kind is an error.
    expect:
        Config entries that must match, e.g. ``{"latent_dim": 5, "num_classes": 10}``.
    retrain_hint:
        The command that recreates this checkpoint, quoted in every error message.

    Returns
    -------
    dict
        The payload: ``{"kind", "config", "state_dict", ...}``.
    """
    path = Path(path)
    fix = f"; recreate it with `{retrain_hint}`" if retrain_hint else ""
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist{fix}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for truncated/corrupt/unsafe files
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(f"checkpoint {path} is corrupt or truncated ({reason[:120]}){fix}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a levelsets checkpoint{fix}")
    if payload.get("kind") != kind:
        raise CheckpointError(f"{path} holds a {payload.get('kind')} model, but a {kind} is needed{fix}")
    config = payload.get("config", {})
    for key, value in (expect or {}).items():
        if config.get(key) != value:
            raise CheckpointError(
                f"checkpoint {path} has {key}={config.get(key)!r} but {value!r} is needed{fix}"
            )
    return payload


def load_state(model: torch.nn.Module, payload: Mapping[str, Any], path: str | Path, retrain_hint: str = "") -> torch.nn.Module:
    """Load ``payload["state_dict"]`` into ``model``; a shape/key mismatch becomes a CheckpointError."""
    fix = f"; recreate it with `{retrain_hint}`" if retrain_hint else ""
    try:
        model.load_state_dict(payload["state_dict"])
    except (RuntimeError, KeyError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(f"checkpoint {path} does not match the model ({first[:120]}){fix}") from None
    return model


def load_model(
    path: str | Path,
    *,
    kind: str,
    build: Callable[[Mapping[str, Any]], torch.nn.Module],
    retrain_hint: str = "",
    expect: Mapping[str, Any] | None = None,
) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Load a checkpoint (:func:`load_checkpoint`), build its module from the config, load its weights.

    ``build(config)`` makes the module; a config it refuses (``TypeError``, ``ValueError``,
    ``KeyError``, :class:`~levelsets.errors.LevelsetsError`) becomes a :class:`CheckpointError` naming the file and
    ``retrain_hint``, as does a weight mismatch (:func:`load_state`). Returns ``(module, payload)``.
    """
    from levelsets.errors import LevelsetsError

    payload = load_checkpoint(path, kind=kind, expect=expect, retrain_hint=retrain_hint)
    try:
        model = build(payload["config"])
    except (TypeError, ValueError, KeyError, LevelsetsError) as exc:
        fix = f"; recreate it with `{retrain_hint}`" if retrain_hint else ""
        raise CheckpointError(f"checkpoint {path} has an unusable configuration ({exc}){fix}") from None
    load_state(model, payload, path, retrain_hint)
    return model, payload
