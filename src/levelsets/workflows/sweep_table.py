"""The sweep table: one row per cell, as Markdown (``sweep.md``) or rows for a rich table."""

from __future__ import annotations

from typing import Any

COLUMNS = ("cell", "target", "prior", "seed", "status", "Δ", "within tolerance", "distinct", "max R-hat",
           "seconds", "error")


def _fmt(value: Any, fmt: str) -> str:
    return "—" if value is None else fmt.format(value)


def rows(record: dict[str, Any]) -> list[list[str]]:
    """One row of :data:`COLUMNS` per cell of a ``sweep.json`` record (a graded strip shows its mean Δ)."""
    out = []
    for cell in record["cells"]:
        summary = cell.get("summary") or {}
        runs = summary.get("runs") or []
        delta = summary.get("delta")
        within = summary.get("within_tolerance")
        if delta is None and runs:  # a graded strip: the mean over its β runs
            delta = sum(r["delta"] for r in runs) / len(runs)
            within = sum(r["within_tolerance"] for r in runs) / len(runs)
        status = cell["status"] + (" (earlier run)" if cell.get("resumed") else "")
        error = str(cell.get("error") or "").replace("|", "\\|")
        out.append([cell["cell"], cell["target"], cell["prior"], str(cell["seed"]), status, _fmt(delta, "{:.2%}"),
                    _fmt(within, "{:.1%}"), _fmt(summary.get("distinct"), "{}"), _fmt(summary.get("rhat_max"), "{:.3f}"),
                    _fmt(summary.get("wall_seconds_total"), "{:.1f}"), error])
    return out


def markdown_table(record: dict[str, Any]) -> str:
    """``sweep.md``: a title line with the counts, then the table."""
    settings = record.get("settings") or {}
    options = settings.get("sample_options") or {}
    counts = record["counts"]
    title = (f"# levelsets sweep · {options.get('world', '?')} · {len(record['cells'])} cells: "
             f"{counts.get('done', 0)} done, {counts.get('failed', 0)} failed, {counts.get('pending', 0)} pending\n\n")
    shown = ", ".join(f"{k}={v}" for k, v in options.items() if k not in ("world",))
    lines = [title, f"Options of every cell: {shown}.\n\n" if shown else "",
             "| " + " | ".join(COLUMNS) + " |\n", "|" + "---|" * len(COLUMNS) + "\n"]
    lines += ["| " + " | ".join(row) + " |\n" for row in rows(record)]
    return "".join(lines)
