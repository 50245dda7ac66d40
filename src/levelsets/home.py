"""The model home: where trained models and their model cards are cached.

``$LEVELSETS_HOME`` when set, otherwise the user cache directory (``~/.cache/levelsets`` on Linux).
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_cache_dir


def model_home() -> Path:
    """Return (and create) the directory that caches trained models."""
    root = os.environ.get("LEVELSETS_HOME") or user_cache_dir("levelsets")
    path = Path(root).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def model_dir(kind: str, name: str) -> Path:
    """Directory for one cached model, e.g. ``model_dir("classifier", "shapes")``."""
    path = model_home() / kind / name
    path.mkdir(parents=True, exist_ok=True)
    return path
