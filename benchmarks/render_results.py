"""Render the benchmark tables of the documentation from the results JSON, so no figure is retyped.

Every ``benchmarks/results/<name>.md`` that a page under ``docs/`` includes (``--8<--``) is made
from JSON here, by the benchmark script's own ``markdown`` writer (the scripts write the same file
when they run); ``sampler_throughput_summary.md`` (one row per world, from the three throughput
JSON files) and ``level_set_quality_summary.md`` (the README's band vs rejection table) are made
here. The README cannot include files, so it holds copies of the rendered tables, which
``tests/benchmarks/test_render_results.py`` checks are verbatim. Nothing is measured: this only re-renders what the JSON holds, so it takes
seconds. Each file written gets a ``.md.json`` sidecar naming the JSON it was made from.

Usage::

    python benchmarks/render_results.py           # rewrite the stale .md files (and their sidecars)
    python benchmarks/render_results.py --check   # list the stale ones; exit 1 if any

``tests/benchmarks/test_render_results.py`` runs the check, and checks that every results snippet
the docs include is rendered here.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
THROUGHPUT_WORLDS = ("mnist", "shapes", "synthetic")


@cache
def script(name: str) -> ModuleType:
    """The benchmark script ``benchmarks/<name>.py`` as a module (its ``main`` is not run)."""
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fmt(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def throughput_summary(records: dict[str, dict[str, Any]]) -> str:
    """One row per world: the throughput goal and the ESS ratios vs NUTS, per CPU second, at N = 1,000.

    ``records`` maps a world name to its ``sampler_throughput_<world>.json``. Columns: MH
    particle-steps per forward-pass image (goal ≥ 0.8); MH ESS/s over NUTS ESS/s with ArviZ's bulk
    ESS of one NUTS run and, in brackets, pooled over the replicate seeds; the cross-seed ESS ratio
    (spread of run means; with quadrature, counting bias too); the ablation without independence
    sweeps (ArviZ ratio, and cross-seed ESS per run without vs with the sweeps).
    """
    lines = [
        "| world | measured (load average at start → end) | MH / forward pass, per CPU-s (goal ≥ 0.8) "
        "| ESS/s vs NUTS, ArviZ: one NUTS run (pooled over seeds) | ESS/s vs NUTS, cross-seed "
        "| without the independence sweeps (same run): ArviZ / cross-seed ESS per run |",
        "|---" * 6 + "|",
    ]
    for world, record in records.items():
        g, rep, abl = record["ratios"], record.get("replicates") or {}, record.get("ablation")
        load = record["load_average"]
        pooled = rep.get("arviz_ess_over_nuts_cpu_pooled")
        arviz = f"**{_fmt(g['ess_over_nuts_cpu'], '.0f')}×**" + (f" ({pooled:.0f}×)" if pooled is not None else "")
        cross = "—"
        if rep.get("ess_over_nuts_cpu") is not None:
            value = rep["ess_over_nuts_cpu"]
            cross = f"**{value:.0f}×**" if value >= 10 else f"{value:.1f}×"
            if rep.get("ess_exact_over_nuts_cpu") is not None:
                cross += f" ({rep['ess_exact_over_nuts_cpu']:.0f}× counting bias vs quadrature)"
        ablation = "not run"
        if abl:
            ablation = f"{_fmt(abl['ess_over_nuts_cpu'], '.0f')}×"
            if abl.get("replicates") and rep.get("mh"):
                ablation += f" / {abl['replicates']['ess_per_run']:.1f} vs {rep['mh']['ess_per_run']:,.0f}"
        lines.append(
            f"| {world}, {record['target']['spec']} | {record['provenance']['created'][:10]} "
            f"({load['start'][0]:.1f} → {load['end'][0]:.1f}) | **{_fmt(g['mh_over_forward_cpu'], '.2f')}** "
            f"| {arviz} | {cross} | {ablation} |"
        )
    return "\n".join(lines) + "\n"


def _percent(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.0f} %"


def level_set_quality_summary(record: dict[str, Any], dirichlet: dict[str, Any], tolerance: float = 0.05) -> str:
    """The README's table: band vs prior rejection at ±``tolerance`` per prior × target, and the Dirichlet.

    ``record`` is ``level_set_quality.json`` (means over its seeds), ``dirichlet`` a run with the
    Dirichlet method (``level_set_quality_dirichlet_seed0.json``). Each cell: visual families of n ·
    Δ · share within ±τ · intensity relative to real digits of the target's classes.
    """
    def cell(row: dict[str, Any] | None, method: str, bold: bool = False) -> str:
        if row is None or row.get(f"{method}_families") is None:
            return "—"
        families = f"{row[f'{method}_families']:.1f}"
        delta = "—" if row[f"{method}_delta"] is None else f"{100 * row[f'{method}_delta']:.2f} %"
        return (f"{f'**{families}**' if bold else families} of {row[f'{method}_n']:.0f} · {delta} · "
                f"{_percent(row[f'{method}_within_tolerance'])} · {_percent(row[f'{method}_intensity_ratio'])}")

    old = {(r["prior"], r["target"]): r for r in dirichlet["rows"] if r["tolerance"] == tolerance}
    old_seeds = ", ".join(str(s) for s in sorted({s for r in dirichlet["rows"] for s in r["seeds"]}))
    lines = [
        f"| prior × target | band (default): families of n · Δ · within ±{tolerance:g} · intensity "
        f"| prior rejection, same budget | Dirichlet (old default; seed {old_seeds}, "
        f"run of {dirichlet['created'][:10]}) |",
        "|---" * 4 + "|",
    ]
    rows = sorted((r for r in record["rows"] if r["tolerance"] == tolerance),
                  key=lambda r: (r["prior"] != "vae", r["prior"], r["target"]))
    for r in rows:
        lines.append(f"| {r['prior'].upper()} {r['target']} | {cell(r, 'band', bold=True)} | {cell(r, 'rejection')} "
                     f"| {cell(old.get((r['prior'], r['target'])), 'dirichlet')} |")
    return "\n".join(lines) + "\n"


def _json(name: str) -> dict[str, Any]:
    return json.loads((RESULTS / name).read_text())


def _level_set_quality(name: str) -> Callable[[], str]:
    def render() -> str:
        record, lq = _json(f"{name}.json"), script("level_set_quality")
        rows = record["rows"]
        return (lq.markdown(rows, record["settings"]["methods"]) if rows else "") + lq.rare_markdown(record.get("rare") or [])

    return render


def _by_writer(stem: str, source: str, unpack: Callable[[dict], tuple] = lambda r: (r,)) -> Callable[[], str]:
    def render() -> str:
        return script(stem).markdown(*unpack(_json(source)))

    return render


#: Each rendered file: (the JSON files it is made from, the function that makes its text).
RENDERERS: dict[str, tuple[tuple[str, ...], Callable[[], str]]] = {
    **{f"sampler_throughput_{w}.md": ((f"sampler_throughput_{w}.json",),
                                      _by_writer("sampler_throughput", f"sampler_throughput_{w}.json"))
       for w in THROUGHPUT_WORLDS},
    "sampler_throughput_summary.md": (
        tuple(f"sampler_throughput_{w}.json" for w in THROUGHPUT_WORLDS),
        lambda: throughput_summary({w: _json(f"sampler_throughput_{w}.json") for w in THROUGHPUT_WORLDS}),
    ),
    "level_set_quality_summary.md": (
        ("level_set_quality.json", "level_set_quality_dirichlet_seed0.json"),
        lambda: level_set_quality_summary(_json("level_set_quality.json"), _json("level_set_quality_dirichlet_seed0.json")),
    ),
    **{f"{n}.md": ((f"{n}.json",), _level_set_quality(n))
       for n in ("level_set_quality", "level_set_quality_dirichlet_seed0", "level_set_quality_rare")},
    "dirichlet_cause.md": (("dirichlet_cause.json",),
                           _by_writer("dirichlet_cause", "dirichlet_cause.json", lambda r: (r["rows"],))),
    "table1.md": (("table1.json",), _by_writer("table1", "table1.json")),
    **{f"{n}.md": ((f"{n}.json",), _by_writer("delta_floor", f"{n}.json")) for n in ("delta_floor", "delta_floor_seeds")},
    "softlabel_loop.md": (("softlabel_loop.json",), _by_writer("softlabel_loop", "softlabel_loop.json")),
    "shard_scaling_mnist.md": (("shard_scaling_mnist.json",), _by_writer("shard_scaling", "shard_scaling_mnist.json")),
    "elicitation_load.md": (("elicitation_load.json",), _by_writer("elicitation_load", "elicitation_load.json")),
}


def render(name: str) -> str:
    """The text ``benchmarks/results/<name>`` should hold, made from its JSON now."""
    return RENDERERS[name][1]()


def stale() -> list[str]:
    """The rendered files whose text differs from what their JSON renders to now (or that are missing)."""
    out = []
    for name in RENDERERS:
        path = RESULTS / name
        if not path.exists() or path.read_text() != render(name):
            out.append(name)
    return out


def write(name: str) -> Path:
    """Rewrite ``results/<name>`` from its JSON, with a sidecar naming the JSON and this script."""
    sys.path.insert(0, str(HERE.parent / "src"))
    from levelsets.artifacts import provenance, write_sidecar

    sources = RENDERERS[name][0]
    path = RESULTS / name
    path.write_text(render(name))
    measured = {source: _json(source).get("provenance") or {k: _json(source).get(k) for k in ("created", "command")}
                for source in sources}
    write_sidecar(path, {"made_from": sources[0] if len(sources) == 1 else list(sources),
                         "rendered_by": "benchmarks/render_results.py", **provenance(),
                         "measured": measured})
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only list the stale files; exit 1 if any")
    args = parser.parse_args(argv)
    names = stale()
    if args.check:
        for name in names:
            print(f"stale: benchmarks/results/{name} (run python benchmarks/render_results.py)")
        return 1 if names else 0
    for name in names:
        print(f"wrote {write(name)}")
    if not names:
        print("every rendered file is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
