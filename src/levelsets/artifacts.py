"""Writing artifacts safely, each with a JSON sidecar that says how it was made.

Every file or directory levelsets writes goes through here so that

* a failure never leaves a half-written output (write to a temporary sibling, then rename), and
* every artifact carries its provenance: settings, seed, data used, and library versions.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import json
import os
import platform
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from levelsets.errors import LevelsetsError

_VERSIONED = ("levelsets", "torch", "torchvision", "pyro-ppl", "numpy", "arviz", "scikit-learn")


def versions() -> dict[str, str]:
    """Versions of Python and of the libraries that shape levelsets' results."""
    out = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def to_jsonable(obj: Any) -> Any:
    """Convert dataclasses, paths, numpy and torch values into plain JSON types."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable(dataclasses.asdict(obj))
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "tolist") and callable(obj.tolist):  # numpy arrays/scalars, torch tensors
        return obj.tolist()
    if isinstance(obj, float) and (obj != obj or obj in (float("inf"), float("-inf"))):
        return None
    return obj


def _torch_threads() -> dict[str, int]:
    """``{"torch_threads": n}`` when torch is already loaded (results on the CPU depend on it), else ``{}``.

    Float reductions are ordered differently with another thread count, so a model trained with
    the same seed on 1 and on 2 threads differs slightly; the record says which it was.
    """
    torch = sys.modules.get("torch")
    return {"torch_threads": int(torch.get_num_threads())} if torch is not None else {}


def provenance(*, settings: Any = None, seed: int | None = None, data: Any = None, **extra: Any) -> dict:
    """The standard sidecar content: what made an artifact and with which versions."""
    record = {
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv else "",
        "seed": seed,
        "settings": settings,
        "data": data,
        "versions": versions(),
        "machine": {"platform": platform.platform(), "processor": platform.machine(), "cpus": os.cpu_count(),
                    **_torch_threads()},
    }
    record.update(extra)
    return to_jsonable(record)


def write_json(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` as pretty JSON atomically (temporary file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(to_jsonable(obj), fh, indent=2, allow_nan=False)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def write_sidecar(artifact: str | Path, record: Mapping[str, Any]) -> Path:
    """Write ``<artifact>.json`` (or ``<dir>/provenance.json`` for a directory) beside an artifact."""
    artifact = Path(artifact)
    target = artifact / "provenance.json" if artifact.is_dir() else artifact.with_name(artifact.name + ".json")
    return write_json(target, record)


MARKER = ".levelsets-output.json"
"""File that marks a directory as written by levelsets, listing every file levelsets put there."""


def _forbidden_reason(path: Path) -> str | None:
    """Why ``path`` may never be replaced (the root, the home, the working directory or an ancestor of it)."""
    resolved = path.resolve()
    if resolved == Path(resolved.anchor):
        return "it is the filesystem root"
    if resolved == Path.home().resolve():
        return "it is your home directory"
    cwd = Path.cwd().resolve()
    if resolved == cwd:
        return "it is the current directory"
    if resolved in cwd.parents:
        return "it holds the current directory"
    return None


def _written_files(path: Path) -> set[str]:
    """Relative paths of every file under ``path`` (directories excluded)."""
    return {str(p.relative_to(path)) for p in path.rglob("*") if not p.is_dir()}


def _is_legacy_output(path: Path) -> bool:
    """True for an output of a levelsets version before :data:`MARKER` existed.

    Such a directory holds a top-level JSON record that levelsets wrote: a provenance record
    (``provenance.json``, ``summary.json``, ``manifest.json``, ``model.card.json``, ...) whose
    ``versions`` names levelsets.
    """
    return any(_levelsets_record(file) for file in path.glob("*.json"))


def check_replaceable(path: Path) -> None:
    """Raise :class:`LevelsetsError` unless the existing directory ``path`` may be replaced.

    A directory may be replaced only if levelsets wrote it and nothing else is in it: it holds
    :data:`MARKER` and every file under it is listed there (or it is an output of an earlier
    levelsets version, see :func:`_is_legacy_output`). Never the root, the home, the working
    directory or one of its ancestors.
    """
    reason = _forbidden_reason(path)
    if reason is not None:
        raise LevelsetsError(f"refusing to replace --out {path}: {reason}; choose a new directory for the output")
    marker = path / MARKER
    if marker.is_file():
        try:
            listed = set(json.loads(marker.read_text())["files"])
        except (OSError, ValueError, KeyError, TypeError):
            raise LevelsetsError(
                f"refusing to replace --out {path}: its {MARKER} is unreadable; remove the directory yourself or choose a new --out"
            ) from None
        foreign = sorted(_written_files(path) - listed - {MARKER})
        if foreign:
            more = f" (and {len(foreign) - 1} more)" if len(foreign) > 1 else ""
            raise LevelsetsError(
                f"refusing to replace --out {path}: it holds {foreign[0]}{more}, which levelsets did not write; "
                "move it away or choose a new --out"
            )
        return
    if _is_legacy_output(path):
        return
    raise LevelsetsError(
        f"refusing to replace --out {path}: it was not written by levelsets (no {MARKER}); "
        "choose a new --out or remove it yourself"
    )


def check_writable_dir(path: str | Path, *, overwrite: bool = False) -> Path:
    """Validate an output directory *before* any work is done.

    Raises :class:`LevelsetsError` when ``path`` is a file; is the root, the home, the working
    directory or one of its ancestors; exists and is not empty (unless ``overwrite``, and then
    only when :func:`check_replaceable` allows it); or its parent cannot be created or written.
    """
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise LevelsetsError(f"--out {path} is a file, not a directory; choose a directory path")
    reason = _forbidden_reason(path)
    if reason is not None:
        raise LevelsetsError(f"--out {path} cannot be an output directory: {reason}; choose a new directory")
    if path.is_dir() and any(path.iterdir()):
        if not overwrite:
            raise LevelsetsError(f"--out {path} already exists and is not empty; choose a new path or pass --overwrite")
        check_replaceable(path)
    parent = path.parent if not path.exists() else path
    probe = parent
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise LevelsetsError(f"cannot create {path}: {probe} is a file; choose another --out")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise LevelsetsError(f"cannot write to {path}: {probe} is not writable; choose another --out")
    return path


def _levelsets_record(file: Path) -> bool:
    """True when ``file`` is a JSON provenance record that levelsets wrote (its ``versions`` name levelsets)."""
    try:
        record = json.loads(file.read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    return isinstance(record, dict) and "levelsets" in (record.get("versions") or {})


def check_output_file(path: str | Path, *, option: str = "--out", sidecar: str | Path | None = None) -> Path:
    """Validate an output *file* before any work is done; return it as a :class:`Path`.

    An existing file may be replaced only if levelsets wrote it: its sidecar ``<file>.json`` is a
    levelsets provenance record (``sidecar`` if given, e.g. a checkpoint's model card), or the file
    itself is one. A directory, or a parent that cannot
    be created or written, is refused too. Raises :class:`LevelsetsError` with the fix.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        raise LevelsetsError(f"{option} {path} is a directory; give a file path such as {path / 'out.json'}")
    if path.exists():
        sidecar = Path(sidecar) if sidecar is not None else path.with_name(path.name + ".json")
        if not (_levelsets_record(sidecar) or _levelsets_record(path)):
            raise LevelsetsError(
                f"refusing to overwrite {option} {path}: levelsets did not write it (no provenance sidecar "
                f"{sidecar.name}); choose a new file name or move it away"
            )
    probe = path.parent
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise LevelsetsError(f"cannot write {option} {path}: {probe} is not a writable directory; choose another path")
    return path


def _relocate_json_paths(tmp: Path, final: Path) -> None:
    """Replace the temporary directory's path by ``final``'s in every JSON file under ``tmp``.

    Both spellings are rewritten: absolute (resolved) first, then as given (possibly relative).
    """
    pairs = [(tmp.resolve(), final.resolve()), (tmp, final)]
    pairs = [(json.dumps(str(a))[1:-1], json.dumps(str(b))[1:-1]) for a, b in pairs]
    for file in tmp.rglob("*.json"):
        text = original = file.read_text()
        for old, new in pairs:
            text = text.replace(old, new)
        if text != original:
            file.write_text(text)


@contextlib.contextmanager
def atomic_output_dir(path: str | Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary directory that becomes ``path`` only if the block succeeds.

    On any exception the temporary directory is removed and ``path`` is left as it was, so a
    failed command never leaves a partial output directory behind. On success, paths into the
    temporary directory recorded in the JSON files written there (cards, summaries, sidecars)
    are rewritten to point into ``path``, :data:`MARKER` lists the files written, and the new
    directory is swapped in: an old ``path`` (which :func:`check_replaceable` must allow) is
    first renamed aside, and removed only once the new one is in place.
    """
    path = check_writable_dir(path, overwrite=overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.partial-", dir=path.parent))
    old = None
    try:
        yield tmp
        _relocate_json_paths(tmp, path)
        write_json(tmp / MARKER, {"written_by": "levelsets", "files": sorted(_written_files(tmp))})
        if path.exists():
            if any(path.iterdir()):
                check_replaceable(path)  # again: a file may have been added while the job ran
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=path.parent))
            os.replace(path, old)
        os.replace(tmp, path)
    except BaseException:
        if old is not None and not path.exists():
            os.replace(old, path)
            old = None
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
