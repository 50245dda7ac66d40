"""How a benchmark script saves its figures: ``<out>/<name>.json`` (the record) and ``<out>/<name>.md`` (its table).

Imported by the scripts by name (``benchmarks/`` is on the path of a script run from it, and of the tests).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def save_results(out: Path, name: str, record: dict[str, Any], text: str) -> str:
    """Write ``record`` as ``out/name.json`` (with the package's JSON writer) and ``text`` as ``out/name.md``;
    print the text and return it."""
    from levelsets.artifacts import write_json

    out.mkdir(parents=True, exist_ok=True)
    write_json(out / f"{name}.json", record)
    (out / f"{name}.md").write_text(text)
    print(text)
    return text
