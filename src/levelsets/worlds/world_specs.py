"""``--world`` specs: registered names, plugin files and modules, and the entry-point registry.

A ``--world`` spec is one of

``NAME``                     a registered world: the built-ins (``shapes``, ``mnist``) or any name a
                             package registers in the entry-point group ``levelsets.worlds``;
``FILE.py:FUNC``             a function in a Python file (``FILE.py`` alone means ``FUNC = make_world``);
``package.module:FUNC``      a function in an importable module.

Importing and calling the factory a spec names: :mod:`levelsets.worlds.plugins`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from levelsets.errors import LevelsetsError

ENTRY_POINT_GROUP = "levelsets.worlds"
BUILTIN_WORLDS = {"shapes": "levelsets.worlds.shapes:make_world", "mnist": "levelsets.worlds.mnist:make_world"}
"""The built-in worlds; also registered in ``pyproject.toml`` under the entry-point group (this table
is the fallback when the installed metadata is older than the source tree)."""
DEFAULT_FUNCTION = "make_world"

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
