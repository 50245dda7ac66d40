"""World plugins: find a world factory from a ``--world`` spec, call it, and check what it returns.

A ``--world`` spec (:mod:`levelsets.worlds.world_specs`) names a registered world, a
``FILE.py:FUNC`` or a ``package.module:FUNC``.

The factory ``FUNC`` returns a :class:`levelsets.World`. It may declare any of the keyword
parameters ``prior``, ``device``, ``seed``, ``exclude_class``, ``classifier_path``,
``train_if_missing``, ``progress`` (or ``**kwargs``); the loader passes those it declares. Notes
go through :mod:`logging` (:mod:`levelsets.logs`), not a parameter.
It may carry the attributes ``FUNC.priors`` (the prior names it accepts, the first is the default)
and ``FUNC.default_alpha`` (the Dirichlet α used when ``--alpha`` is not given; else 100).

Every plugin world (anything but the built-ins) is probed before use
(:func:`levelsets.worlds.world_check.check_world`); any failure — a missing file, an import error,
a missing function, an exception in it, a shape that does not fit — is one
:class:`~levelsets.errors.LevelsetsError` line naming the plugin and the problem.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from levelsets.errors import LevelsetsError
from levelsets.worlds.world import World
from levelsets.worlds.world_check import check_world, one_line
from levelsets.worlds.world_specs import (
    ENTRY_POINT_GROUP,
    WorldSpec,
    is_plugin_spec,
    parse_world_spec,
    registered_worlds,
    world_slug,
)

__all__ = [  # with the spec parsing and the probe, re-exported for levelsets.worlds
    "ENTRY_POINT_GROUP", "FACTORY_OPTIONS", "WorldChoice", "WorldSpec", "call_factory", "check_world", "choose_world",
    "file_sha256", "is_plugin_spec", "parse_world_spec", "plugin_source", "registered_worlds", "resolve_factory",
    "world_slug",
]

FALLBACK_ALPHA = 100.0
"""Dirichlet α of a plugin world whose factory has no ``default_alpha`` attribute (seed 003's value)."""
FACTORY_OPTIONS = ("prior", "device", "seed", "exclude_class", "classifier_path", "train_if_missing", "progress")


def file_sha256(path: str | Path) -> str:
    """SHA-256 (hex) of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


_FILE_MODULES: dict[tuple[str, str], Any] = {}


def _import_file(ws: WorldSpec):
    """Execute the plugin file once per content (cached by path and SHA-256) and return its module."""
    path = ws.path
    assert path is not None
    digest = file_sha256(path)
    key = (str(path), digest)
    if key in _FILE_MODULES:
        return _FILE_MODULES[key]
    name = f"levelsets_world_plugin_{''.join(c if c.isalnum() else '_' for c in path.stem)}_{digest[:12]}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise LevelsetsError(f"world plugin {ws.label}: cannot import {path} as Python source")
    module = importlib.util.module_from_spec(spec)
    folder = str(path.parent)
    if folder not in sys.path:  # sibling modules of the plugin file import, as for a script
        sys.path.append(folder)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(name, None)
        raise LevelsetsError(f"world plugin {ws.label}: syntax error at line {exc.lineno}: {exc.msg}") from None
    except Exception as exc:  # noqa: BLE001 - any failure of user code becomes one line
        sys.modules.pop(name, None)
        raise LevelsetsError(f"world plugin {ws.label}: importing it raised {one_line(exc)}") from None
    _FILE_MODULES[key] = module
    return module


def _import_module(ws: WorldSpec, module_name: str):
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise LevelsetsError(f"world plugin {ws.label}: no module named {exc.name!r} (is it installed, or on PYTHONPATH?)") from None
        raise LevelsetsError(f"world plugin {ws.label}: importing {module_name} raised {one_line(exc)}") from None
    except Exception as exc:  # noqa: BLE001
        raise LevelsetsError(f"world plugin {ws.label}: importing {module_name} raised {one_line(exc)}") from None


def resolve_factory(ws: WorldSpec) -> Callable[..., World]:
    """Import the world's module (or file) and return its factory function."""
    if ws.kind == "file":
        module = _import_file(ws)
    else:
        module = _import_module(ws, ws.target.rpartition(":")[0])
    factory = getattr(module, ws.function, None)
    if factory is None:
        defined = sorted(n for n, v in vars(module).items() if inspect.isfunction(v) and not n.startswith("_")
                         and getattr(v, "__module__", None) == module.__name__)
        hint = f" (it defines: {', '.join(defined)})" if defined else ""
        raise LevelsetsError(f"world plugin {ws.label}: no function {ws.function!r} in {ws.path or module.__name__}{hint}")
    if not callable(factory):
        raise LevelsetsError(f"world plugin {ws.label}: {ws.function} is a {type(factory).__name__}, not a function returning a levelsets.World")
    return factory


@dataclass(frozen=True)
class WorldChoice:
    """A validated ``--world`` (+ ``--prior``) before any model is loaded.

    Attributes
    ----------
    spec:
        The parsed spec.
    priors:
        The prior names the world declares (empty when it declares none).
    prior:
        The prior that will be used (the given one, else the declared default, else ``None``).
    default_alpha:
        The world's default Dirichlet α.
    """

    spec: WorldSpec
    priors: tuple[str, ...]
    prior: str | None
    default_alpha: float


def _accepts(factory: Callable[..., Any]) -> Callable[[str], bool]:
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return lambda name: False
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return lambda name: True
    return lambda name: name in params and params[name].kind is not inspect.Parameter.POSITIONAL_ONLY


def choose_world(spec: str, prior: str | None = None) -> WorldChoice:
    """Validate ``--world`` and ``--prior`` (imports the plugin module, calls nothing); one-line errors."""
    ws = parse_world_spec(spec)
    factory = resolve_factory(ws)
    priors = tuple(getattr(factory, "priors", ()) or ())
    if prior is not None:
        if priors and prior not in priors:
            raise LevelsetsError(f"world {ws.label} has no prior {prior!r}; choose one of {', '.join(priors)}")
        if not _accepts(factory)("prior"):
            raise LevelsetsError(f"world {ws.label} takes no --prior (its function {ws.function} has no `prior` parameter)")
    alpha = getattr(factory, "default_alpha", None)
    alpha = float(alpha) if alpha is not None else FALLBACK_ALPHA
    return WorldChoice(ws, priors, prior if prior is not None else (priors[0] if priors else None), alpha)


def call_factory(choice: WorldChoice, **options: Any) -> World:
    """Call the world's factory with the options it declares and check the result.

    ``options`` are :data:`FACTORY_OPTIONS` (``prior`` comes from ``choice``). An option the user set
    (``exclude_class``, ``classifier_path`` not None) that the factory does not declare is an error.
    Plugin worlds are probed (:func:`check_world`); the built-ins are trusted.
    """
    ws = choice.spec
    factory = resolve_factory(ws)
    accepts = _accepts(factory)
    kwargs: dict[str, Any] = {}
    if choice.prior is not None and accepts("prior"):
        kwargs["prior"] = choice.prior
    flags = {"exclude_class": "--exclude-class", "classifier_path": "--classifier"}
    for name, value in options.items():
        if accepts(name):
            kwargs[name] = value
        elif name in flags and value is not None:
            raise LevelsetsError(f"world {ws.label} does not take {flags[name]} (its function {ws.function} has no `{name}` parameter)")
    if ws.builtin:
        return factory(**kwargs)
    try:
        world = factory(**kwargs)
    except LevelsetsError as exc:
        raise LevelsetsError(f"world plugin {ws.label}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - a failing plugin is one line, not a traceback
        raise LevelsetsError(f"world plugin {ws.label}: {ws.function}() raised {one_line(exc)}") from None
    if not isinstance(world, World):
        raise LevelsetsError(
            f"world plugin {ws.label}: {ws.function}() returned a {type(world).__name__}, not a levelsets.World"
        )
    world = check_world(world, ws.label, device=options.get("device"))
    return dataclasses.replace(
        world,
        name=world.name or world_slug(ws.spec if ws.kind != "entry_point" else ws.label),
        prior_name=world.prior_name or choice.prior or "default",
        source=plugin_source(ws, choice.prior),
    )


def plugin_source(ws: WorldSpec, prior: str | None) -> dict[str, Any]:
    """Provenance of a plugin world: spec, kind, function, file and its SHA-256, the registering package, prior.

    ``load_spec`` reloads the same world from any working directory (the resolved file path).
    """
    out: dict[str, Any] = {"spec": ws.spec, "kind": ws.kind, "function": ws.function, "prior": prior}
    if ws.kind == "file":
        out.update(path=str(ws.path), sha256=file_sha256(ws.path), load_spec=f"{ws.path}:{ws.function}")
    else:
        module = sys.modules.get(ws.target.rpartition(":")[0])
        file = getattr(module, "__file__", None)
        out.update(module=ws.target.rpartition(":")[0], path=file, sha256=file_sha256(file) if file else None,
                   load_spec=ws.spec if ws.kind == "entry_point" else ws.target)
        if ws.distribution:
            out["distribution"] = ws.distribution
    return out


