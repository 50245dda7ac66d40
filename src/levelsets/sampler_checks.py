"""The checks of the sampler's settings, in one place and torch-free.

:class:`levelsets.inference.settings.SamplerSettings` runs them on construction; a job whose
options feed the sampler (:class:`levelsets.workflows.sample.SampleJob`,
:class:`levelsets.workflows.loop_settings.LoopSettings`) runs the same checks on its values
before anything is loaded, naming each setting as its command-line option (``--burn-in``). This
module imports nothing heavy, so a bad option is refused in a fraction of a second (importing
:mod:`levelsets.inference` loads torch and Pyro).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any

from levelsets.errors import LevelsetsError

RELAXATIONS = ("band", "dirichlet", "normal")
"""Choices of ``relaxation`` (:data:`levelsets.inference.model.RELAXATIONS`, in the CLI's order)."""
MOVES = ("auto", "gradient", "black-box")
"""Choices of ``moves``."""
RESAMPLING = ("systematic", "multinomial")
"""Choices of ``resampling`` (:data:`levelsets.inference.resampling.RESAMPLING`)."""

__all__ = ["MOVES", "RELAXATIONS", "RESAMPLING", "check_sampler_settings"]


def _integer(low: int) -> Callable[[str, Any], str | None]:
    def check(name: str, value: Any) -> str | None:
        whole = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value) and int(value) == value
        if not whole or value < low:
            return f"{name} must be an integer ≥ {low}, got {value}"
        return None

    return check


def _interval(*, closed_right: bool = False, hint: str = "") -> Callable[[str, Any], str | None]:
    def check(name: str, value: Any) -> str | None:
        inside = isinstance(value, numbers.Real) and (0 < value <= 1 if closed_right else 0 < value < 1)
        return None if inside else f"{name} must lie in (0, 1{']' if closed_right else ')'}, got {value}{hint}"

    return check


def _positive(*, finite: bool = False, hint: str = "") -> Callable[[str, Any], str | None]:
    def check(name: str, value: Any) -> str | None:
        ok = isinstance(value, numbers.Real) and value > 0 and (math.isfinite(value) or not finite)
        return None if ok else f"{name} must be {'a finite number ' if finite else ''}> 0, got {value}{hint}"

    return check


def _choice(choices: tuple[str, ...]) -> Callable[[str, Any], str | None]:
    def check(name: str, value: Any) -> str | None:
        return None if value in choices else f"unknown {name} {value!r}; choose one of {', '.join(choices)}"

    return check


_CHECKS: dict[str, Callable[[str, Any], str | None]] = {
    "particles": _integer(1),
    "steps": _integer(1),
    "burn_in": _integer(0),
    "samples": _integer(1),
    "alpha": _positive(finite=True, hint="; larger alpha means a tighter level set"),
    "relaxation": _choice(RELAXATIONS),
    "tolerance": _interval(hint="; it bounds max_l |f_l − p_l| (try 0.05)"),
    "level_fraction": _interval(),
    "level_moves": _integer(1),
    "islands": _integer(1),
    "thin": _integer(1),
    "init_scale": _positive(),
    "target_accept": _interval(),
    "resampling": _choice(RESAMPLING),
    "cess_target": _interval(),
    "tempering_fraction": _interval(closed_right=True),
    "clamp": _positive(),
    "sigma": _positive(),
    "de_every": _integer(0),
    "de_jump_every": _integer(0),
    "independence_every": _integer(0),
    "moves": _choice(MOVES),
}
"""One check per setting that has a range: ``check(name, value)`` → the message, or None when valid."""


def check_sampler_settings(
    values: Mapping[str, Any], *, options: bool = False, rename: Mapping[str, str] | None = None
) -> None:
    """Refuse the first invalid sampler setting in ``values`` with a one-line message naming it.

    Parameters
    ----------
    values:
        Settings of :class:`~levelsets.inference.settings.SamplerSettings` by field name: all of
        them (the dataclass checks itself) or those a job sets (the others keep the sampler's
        valid defaults). Every value given is checked against its range, and every relation whose
        settings are given: 0 ≤ ``burn_in`` < ``steps``, ``samples`` ≤ ``particles``, and a
        burn-in of at least one step unless ``tempering`` is given as False (tempering is the
        sampler's default). Names without a check (``seed``, ``device``, ...) are ignored.
    options:
        Name each setting as its command-line option (``burn_in`` → ``--burn-in``) instead of as
        the field.
    rename:
        Names replacing those for some settings: a job whose option feeds a setting under
        another name (``levelsets loop``'s ``--samples-per-target`` is the sampler's ``samples``).

    Raises
    ------
    LevelsetsError
        One line saying which setting is wrong, its value and the valid range.
    """

    def name(field: str) -> str:
        if rename and field in rename:
            return rename[field]
        return "--" + field.replace("_", "-") if options else field

    for field, value in values.items():
        check = _CHECKS.get(field)
        message = check(name(field), value) if check else None
        if message:
            raise LevelsetsError(message)
    steps, burn_in = values.get("steps"), values.get("burn_in")
    if steps is not None and burn_in is not None and burn_in >= steps:
        raise LevelsetsError(f"need 0 ≤ {name('burn_in')} < {name('steps')} (the burn-in is part of the steps), "
                             f"got {name('burn_in')} {burn_in}, {name('steps')} {steps}")
    samples, particles = values.get("samples"), values.get("particles")
    if samples is not None and particles is not None and samples > particles:
        raise LevelsetsError(f"{name('samples')} ({samples}) must not exceed {name('particles')} ({particles}); "
                             "the samples are drawn from the final particles: ask for fewer samples or more particles")
    if burn_in is not None and burn_in < 1 and values.get("tempering", True):
        off = "" if options else " or set tempering=False"
        raise LevelsetsError(f"tempering needs a burn-in of at least 1 step (got {name('burn_in')} {burn_in}); "
                             f"raise {name('burn_in')}{off}")
