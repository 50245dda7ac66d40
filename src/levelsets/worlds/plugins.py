"""World plugins: find a world factory from a ``--world`` spec, call it, and check what it returns.

A ``--world`` spec is one of

``NAME``                     a registered world: the built-ins (``shapes``, ``mnist``) or any name a
                             package registers in the entry-point group ``levelsets.worlds``;
``FILE.py:FUNC``             a function in a Python file (``FILE.py`` alone means ``FUNC = make_world``);
``package.module:FUNC``      a function in an importable module.

The factory ``FUNC`` returns a :class:`levelsets.World`. It may declare any of the keyword
parameters ``prior``, ``device``, ``seed``, ``exclude_class``, ``classifier_path``,
``train_if_missing``, ``progress``, ``echo`` (or ``**kwargs``); the loader passes those it declares.
It may carry the attributes ``FUNC.priors`` (the prior names it accepts, the first is the default)
and ``FUNC.default_alpha`` (the Dirichlet α used when ``--alpha`` is not given; else 100).

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

ENTRY_POINT_GROUP = "levelsets.worlds"
BUILTIN_WORLDS = {"shapes": "levelsets.worlds.shapes:make_world", "mnist": "levelsets.worlds.mnist:make_world"}
"""The built-in worlds; also registered in ``pyproject.toml`` under the entry-point group (this table
is the fallback when the installed metadata is older than the source tree)."""
DEFAULT_FUNCTION = "make_world"
FALLBACK_ALPHA = 100.0
"""Dirichlet α of a plugin world whose factory has no ``default_alpha`` attribute (seed 003's value)."""
PROBE_SIZE = 4
PIXEL_SLACK = 1e-3
"""How far outside [0, 1] a decoder's pixels may stray before the probe rejects them."""
FACTORY_OPTIONS = ("prior", "device", "seed", "exclude_class", "classifier_path", "train_if_missing", "progress", "echo")


@dataclass(frozen=True)
class WorldSpec:
    """A parsed ``--world`` value.

    Attributes
    ----------
    spec:
        The value as given.
    kind:
        ``builtin`` | ``entry_point`` | ``file`` | ``module``.
    target:
        ``module:function`` (built-in, entry point, module) or the resolved file path (file).
    function:
        The factory's name.
    label:
        How messages name the world: ``FILE.py:FUNC`` as given, the module spec, or the registered name.
    path:
        The resolved plugin file (file kind), else ``None``.
    distribution:
        ``name version`` of the package registering an entry point, else ``None``.
    """

    spec: str
    kind: str
    target: str
    function: str
    label: str
    path: Path | None = None
    distribution: str | None = None

    @property
    def builtin(self) -> bool:
        """True for the worlds levelsets ships (``shapes``, ``mnist``)."""
        return self.kind == "builtin"


def registered_worlds() -> dict[str, tuple[str, str | None]]:
    """Registered world names → (``module:function``, ``"dist version"`` or None).

    The built-ins first, then every entry point of the group ``levelsets.worlds`` of the installed
    packages (levelsets' own entry points for ``shapes``/``mnist`` map to the same targets).

    Raises
    ------
    LevelsetsError
        Two packages register one name with different targets.
    """
    from importlib import metadata

    found: dict[str, tuple[str, str | None]] = {name: (target, None) for name, target in BUILTIN_WORLDS.items()}
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        who = f"{dist.name} {dist.version}" if dist is not None else None
        if ep.name in found and found[ep.name][0] != ep.value:
            if ep.name in BUILTIN_WORLDS or found[ep.name][1] != who:
                raise LevelsetsError(
                    f"world {ep.name!r} is registered twice in the entry-point group {ENTRY_POINT_GROUP} "
                    f"({found[ep.name][0]} and {ep.value} from {who}); uninstall one, or use --world package.module:FUNC"
                )
        if ep.name not in found:
            found[ep.name] = (ep.value, who)
    return found


def is_plugin_spec(spec: str) -> bool:
    """True when ``spec`` names a file or module (``FILE.py[:FUNC]``, ``package.module:FUNC``), not a registered name."""
    return ":" in spec or spec.endswith(".py") or "/" in spec or "\\" in spec


def parse_world_spec(spec: str) -> WorldSpec:
    """Parse a ``--world`` value (see the module docstring); unknown names raise a one-line error."""
    spec = str(spec).strip()
    if not spec:
        raise LevelsetsError("--world is empty; give a world name (shapes, mnist) or FILE.py:FUNC")
    if not is_plugin_spec(spec):
        worlds = registered_worlds()
        if spec not in worlds:
            raise LevelsetsError(
                f"unknown world {spec!r}; choose one of {', '.join(worlds)}, or give FILE.py:FUNC or package.module:FUNC "
                f"(a world plugin, see docs/worlds.md)"
            )
        target, dist = worlds[spec]
        kind = "builtin" if spec in BUILTIN_WORLDS and target == BUILTIN_WORLDS[spec] else "entry_point"
        return WorldSpec(spec, kind, target, target.rpartition(":")[2], spec, distribution=dist)
    head, sep, func = spec.rpartition(":")
    if not sep or "/" in func or "\\" in func or func.endswith(".py"):
        head, func = spec, DEFAULT_FUNCTION  # FILE.py alone, or a Windows drive letter
    if not func.isidentifier():
        raise LevelsetsError(f"--world {spec}: {func!r} is not a function name; write FILE.py:FUNC or package.module:FUNC")
    if head.endswith(".py") or "/" in head or "\\" in head:
        path = Path(head).expanduser()
        if not path.is_file():
            raise LevelsetsError(f"world plugin {spec}: no such file {head}")
        return WorldSpec(spec, "file", str(path.resolve()), func, f"{head}:{func}", path=path.resolve())
    if not all(part.isidentifier() for part in head.split(".")):
        raise LevelsetsError(f"--world {spec}: {head!r} is neither a .py file nor a module name; write FILE.py:FUNC or package.module:FUNC")
    return WorldSpec(spec, "module", f"{head}:{func}", func, f"{head}:{func}")


def world_slug(spec: str) -> str:
    """A short file-name-safe name for output directories: ``shapes``, ``my_world`` (from ``dir/my_world.py:make_world``)."""
    spec = str(spec)
    if not is_plugin_spec(spec):
        return spec
    head, sep, func = spec.rpartition(":")
    head = head if sep and "/" not in func and "\\" not in func else spec
    stem = Path(head.replace("\\", "/")).stem if head.endswith(".py") or "/" in head or "\\" in head else head.rsplit(".", 1)[-1]
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in stem) or "world"


def file_sha256(path: str | Path) -> str:
    """SHA-256 (hex) of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


_FILE_MODULES: dict[tuple[str, str], Any] = {}


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


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
        raise LevelsetsError(f"world plugin {ws.label}: importing it raised {_one_line(exc)}") from None
    _FILE_MODULES[key] = module
    return module


def _import_module(ws: WorldSpec, module_name: str):
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise LevelsetsError(f"world plugin {ws.label}: no module named {exc.name!r} (is it installed, or on PYTHONPATH?)") from None
        raise LevelsetsError(f"world plugin {ws.label}: importing {module_name} raised {_one_line(exc)}") from None
    except Exception as exc:  # noqa: BLE001
        raise LevelsetsError(f"world plugin {ws.label}: importing {module_name} raised {_one_line(exc)}") from None


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
        raise LevelsetsError(f"world plugin {ws.label}: {ws.function}() raised {_one_line(exc)}") from None
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
            fail(f"{step} raised {_one_line(exc)}")
        if tuple(z.shape) != (probe, d):
            fail(f"prior.sample(({probe},)) has shape {tuple(z.shape)}, expected ({probe}, {d})")
        if tuple(log_p.shape) != (probe,) or not bool(torch.isfinite(log_p).all()):
            fail(f"prior.log_prob of its own samples must be finite with shape ({probe},); got shape {tuple(log_p.shape)}")
        try:
            x = world.decoder(z)
        except Exception as exc:  # noqa: BLE001
            fail(f"decoder raised {_one_line(exc)} on a ({probe}, {d}) batch from the prior")
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
            fail(f"classifier raised {_one_line(exc)} on decoder images of shape {tuple(x.shape)}")
        if probs.shape[1] != k:
            fail(f"classifier returns {probs.shape[1]} probabilities per image but class_names lists {k} names")
        if probs.shape[0] != probe:
            fail(f"classifier returned {probs.shape[0]} rows for {probe} images")
        if world.exact_posterior is not None:
            try:
                post = world.exact_posterior(z.to(torch.float64))
            except Exception as exc:  # noqa: BLE001
                fail(f"exact_posterior raised {_one_line(exc)}")
            post = torch.as_tensor(post)
            if tuple(post.shape) != (probe, k) or not bool(torch.isfinite(post).all()) or \
                    float((post.sum(-1) - 1).abs().max()) > ROW_SUM_TOLERANCE or float(post.min()) < 0:
                fail(f"exact_posterior must return finite probability rows of shape ({probe}, {k}); got shape {tuple(post.shape)}")
    return dataclasses.replace(world, classifier=as_probability_fn(world.classifier, num_classes=k))
