"""User-facing errors.

Anything a user can cause (a bad target, a missing checkpoint, malformed responses) raises
:class:`LevelsetsError` with a one-line message that says what was wrong and how to fix it.
The CLI turns it into that line on stderr and exit status 2; Python callers can catch it.
"""

from __future__ import annotations


class LevelsetsError(ValueError):
    """A mistake in the user's input or environment, with a one-line explanation and fix."""


class CheckpointError(LevelsetsError):
    """A checkpoint is missing, truncated, corrupt or does not match what was asked for."""
