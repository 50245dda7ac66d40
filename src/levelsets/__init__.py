"""levelsets: sample the images a classifier is unsure about, and use them.

The top-level import is kept light (no torch) so that ``levelsets --help`` starts fast.
Import the pieces you need from their modules, e.g.::

    from levelsets.targets import parse_target
    from levelsets.inference.sampler import sample_level_set

``levelsets.World`` (the record a world plugin returns, :mod:`levelsets.worlds`) is loaded on first
access.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["World", "__version__"]


def __getattr__(name: str) -> Any:
    """Lazy attributes: ``World`` from :mod:`levelsets.worlds.world`."""
    if name == "World":
        from levelsets.worlds.world import World

        return World
    raise AttributeError(f"module 'levelsets' has no attribute {name!r}")
